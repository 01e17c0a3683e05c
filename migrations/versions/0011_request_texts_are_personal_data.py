"""a request's free texts live with the requester's details and are erased with them

The refusal reason, the extension reason and the controller's instructions are told to or about the
person and may name them ("Told Quentin ... on +41 79 ..."). They move from `subject_requests` (kept
for ever) to `request_personal_data` (deleted by the purge 30 days after the answer or refusal):

- a request not yet purged keeps its texts, now in its personal-data row (one is added, with empty
  name and contact, in the unlikely case it had none);
- a request already purged was past its keeping date: its texts are dropped, not moved.

The audit trail cannot be rewritten: `audit_events` is append-only (0005's triggers refuse any UPDATE
or DELETE, and the register has no supported way to redact an entry). Entries written before this
migration keep the texts they recorded; from now on the trail records only "(given)" or "(changed)"
(audit.PERSONAL_TEXT_FIELDS).

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = "0010"
branch_labels = None
depends_on = None

TEXTS = ("controller_instructions", "extension_reason", "refusal_reason")


def _drop_columns(table: str, columns: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+), not Alembic's batch copy: the copy drops and recreates the
        # table, and with foreign keys on, dropping subject_requests would cascade to its children.
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        for column in columns:
            op.drop_column(table, column)


def upgrade():
    for column in TEXTS:
        op.add_column('request_personal_data', sa.Column(column, sa.Text(), nullable=True))
    op.execute(f"""
        UPDATE request_personal_data SET {', '.join(
            f"{column} = (SELECT s.{column} FROM subject_requests s WHERE s.id = request_personal_data.request_id)"
            for column in TEXTS)}""")
    op.execute(f"""
        INSERT INTO request_personal_data (request_id, requester_name, requester_contact, {', '.join(TEXTS)})
        SELECT s.id, '', '', {', '.join(f's.{column}' for column in TEXTS)} FROM subject_requests s
        WHERE s.personal_data_purged_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM request_personal_data p WHERE p.request_id = s.id)
          AND ({' OR '.join(f's.{column} IS NOT NULL' for column in TEXTS)})""")
    _drop_columns('subject_requests', TEXTS)


def downgrade():
    for column in TEXTS:
        op.add_column('subject_requests', sa.Column(column, sa.Text(), nullable=True))
    op.execute(f"""
        UPDATE subject_requests SET {', '.join(
            f"{column} = (SELECT p.{column} FROM request_personal_data p WHERE p.request_id = subject_requests.id)"
            for column in TEXTS)}""")
    _drop_columns('request_personal_data', TEXTS)
