"""Dump the demo register as JSON, to prove that a change to the demo's loader changed nothing.

Loads the demo into a fresh, migrated SQLite register and writes every table's rows: timestamps,
uids, password hashes and session nonces dropped (they differ on every load); references resolved to the referenced
row's natural values (a party by its legal name), so the dump does not depend on ids. With `--strict`
the ids are kept too: identical strict dumps mean the same records were written in the same order.

Run it from the checkout to compare, on the same day (dates relative to the load day move):
    python tests/demo_snapshot.py before.json [--strict]
"""

import argparse
import json
import os
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from register import create_app  # noqa: E402
from register.extensions import db  # noqa: E402

DROPPED = {"uid", "record_uid", "password_hash", "session_nonce"}
# Natural names of the rows other rows point at.
NATURAL = {"parties": "legal_name", "users": "email"}


def plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def dropped(name: str) -> bool:
    return name in DROPPED or name.endswith("_at")


def snapshot(strict: bool) -> dict:
    tables = {table.name: table for table in db.metadata.sorted_tables}
    rows = {
        name: [dict(row._mapping) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
        for name, table in tables.items()
    }
    by_id = {name: {row["id"]: row for row in rows[name]} for name, table in tables.items() if "id" in table.c}
    labels: dict[tuple[str, str, object], object] = {}

    def label(name: str, column: str, value):
        """The natural values of the row of table `name` whose `column` is `value`."""
        if value is None:
            return None
        key = (name, column, value)
        if key not in labels:
            labels[key] = None  # a cycle resolves to null rather than recursing
            row = by_id[name][value] if column == "id" else next(r for r in rows[name] if r[column] == value)
            labels[key] = row[NATURAL[name]] if name in NATURAL else natural(name, row)
        return labels[key]

    def natural(name: str, row: dict) -> dict:
        table = tables[name]
        out = {}
        for column in table.c:
            if dropped(column.name) or (column.name == "id" and not strict):
                continue
            value = row[column.name]
            foreign = next(iter(column.foreign_keys), None)
            if foreign is not None and not strict:
                value = label(foreign.column.table.name, foreign.column.name, value)
            elif name == "audit_events" and column.name == "record_id" and not strict:
                target = row["record_type"]  # a table name
                value = label(target, "id", value) if value in by_id.get(target, {}) else value
            elif name == "audit_events" and column.name == "changes":
                value = {field: change for field, change in (value or {}).items() if not dropped(field)}
            out[column.name] = plain(value)
        return out

    dump = {}
    for name in tables:
        entries = [natural(name, row) for row in rows[name]]
        if not strict and name != "audit_events":  # the trail's order is part of what it says
            entries.sort(key=lambda entry: json.dumps(entry, sort_keys=True, default=str))
        dump[name] = entries
    return dump


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--strict", action="store_true", help="keep ids: the same records in the same order")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["REGISTER_INSTANCE_PATH"] = str(Path(directory) / "instance")
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/demo.sqlite", "TESTING": True,
                          "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024})
        with app.app_context():
            upgrade()
            from register.seed import load_demo

            load_demo()
            dump = snapshot(args.strict)
            db.session.remove()
            db.engine.dispose()
    Path(args.output).write_text(json.dumps(dump, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{args.output}: " + ", ".join(f"{name} {len(entries)}" for name, entries in dump.items() if entries))


if __name__ == "__main__":
    main()
