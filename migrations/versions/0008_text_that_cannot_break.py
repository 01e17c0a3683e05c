"""stored text made valid: control characters and non-characters shown escaped, each change audited

The register now refuses control characters (tab and line breaks only in multi-line fields), Unicode
non-characters, lone surrogates and values made only of invisible characters. Text stored before that
is made valid here, so that every record can be saved again and every export writes it:
- a line break or tab in a one-line field becomes a space;
- any other such character becomes its escaped form, as visible text ("\\u0007");
- a value made only of invisible characters becomes the escaped form of those characters.
Nothing is dropped. Each record changed gets its version raised and an audit event ("update" by the
system actor "text check (migration 0008)") with the values before and after, so that the trail still
rebuilds the register; the trail itself is append-only and is never edited (its labels are escaped
when written out). Personal data of requests is fixed without being copied into the trail. A summary
is printed.

The characters are listed here, not imported from the register: a migration must keep doing what it
did when it was written.

Revision ID: 0008
Revises: 0007
"""
import json
import re
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ACTOR = "text check (migration 0008)"
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
UNSTORABLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
LINE_BREAKS = re.compile(r"[\t\n\r]+")
INVISIBLE = re.compile(r"[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                       r"\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0]+")

# The audited records' tables, and the column that names a record in the trail.
AUDITED = {
    "users": "email", "api_tokens": "name", "settings": "key", "parties": "legal_name",
    "certificates": "certificate_number", "dpf_certifications": "certified_entity_name",
    "scope_facts": "fact_key", "engagements": "service", "bcr_approvals": "name",
    "transfer_instruments": "title", "transfer_routes": None, "transfer_impact_assessments": None,
    "change_notices": None, "subject_requests": None,
}
PERSONAL = "request_personal_data"  # the requester's name and contact: fixed, never copied to the trail
SECRETS = {("users", "password_hash"), ("api_tokens", "token_hash")}


def _escape(found: "re.Match[str]") -> str:
    number = ord(found.group())
    return f"\\u{number:04X}" if number <= 0xFFFF else f"\\U{number:08X}"


def valid(text: str, multiline: bool) -> str:
    """The stored text as the register would now accept it, nothing dropped."""
    if not multiline:
        text = LINE_BREAKS.sub(" ", text)
    text = UNSTORABLE.sub(_escape, text)
    if text.strip() and INVISIBLE.fullmatch(text):
        text = "".join(f"\\u{ord(character):04X}" for character in text.strip())
    return text


def _text_columns(table: sa.Table) -> list[sa.Column]:
    return [column for column in table.columns if isinstance(column.type, sa.String)
            and not isinstance(column.type, sa.Enum) and (table.name, column.name) not in SECRETS]


def upgrade():
    bind = op.get_bind()
    metadata = sa.MetaData()
    names = set(sa.inspect(bind).get_table_names())
    audit = sa.Table("audit_events", metadata, autoload_with=bind)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    summary: dict[str, int] = {}
    for name in [*AUDITED, PERSONAL]:
        if name not in names:
            continue
        table = sa.Table(name, metadata, autoload_with=bind)
        columns = _text_columns(table)
        key = table.c.request_id if name == PERSONAL else table.c.id
        fixes = []
        for row in bind.execute(sa.select(key, *columns)).mappings():
            changed = {}
            for column in columns:
                before = row[column.name]
                if isinstance(before, str):
                    after = valid(before, isinstance(column.type, sa.Text))
                    if after != before:
                        changed[column.name] = (before, after)
            if changed:
                fixes.append((row[key.name], changed))
        for record_id, changed in fixes:
            values = {column: after for column, (_before, after) in changed.items()}
            if name == "parties" and "legal_name" in values:
                values["name_key"] = " ".join(values["legal_name"].split()).casefold()[:300]
            if "version" in table.c:
                values["version"] = table.c.version + 1
            bind.execute(table.update().where(key == record_id).values(**values))
            if name != PERSONAL:
                _audit(bind, audit, table, record_id, {column: [before, after] for column, (before, after)
                                                       in changed.items() if column != "name_key"}, now)
        if fixes:
            summary[name] = len(fixes)
    if summary:
        print("0008: text made valid (escaped) in " + ", ".join(f"{count} {name}" for name, count in summary.items()))


def _audit(bind, audit: sa.Table, table: sa.Table, record_id: int, changes: dict, now: datetime) -> None:
    columns = [column for column in ("uid", "version", AUDITED[table.name]) if column and column in table.c]
    row = bind.execute(sa.select(*(table.c[column] for column in columns)).where(table.c.id == record_id)).mappings().one()
    label = row.get(AUDITED[table.name]) if AUDITED[table.name] else None
    bind.execute(audit.insert().values(
        occurred_at=now, user_id=None, actor_label=ACTOR, source="system", record_type=table.name,
        record_id=record_id, record_uid=row.get("uid"), record_label=(label or f"{table.name} #{record_id}")[:300],
        record_version=row.get("version"), action="update", changes=json.loads(json.dumps(changes)),
    ))


def downgrade():
    """Nothing to undo: the escaped text is valid text, and the trail keeps what it was before."""
