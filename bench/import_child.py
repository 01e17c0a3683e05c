"""Import the auditor workbook into an empty register in a process of its own, so that its peak memory
is its own: python -m bench.import_child INSTANCE_PATH SOURCE_DATABASE_URL TARGET_DATABASE_URL WORKBOOK import|read.

`import` migrates the empty target, records what the workbook does not carry (clients, international
organisations, BCR approvals, copied from the source register with their IDs), then times the import.
`read` is the baseline: the same workbook's cells read with openpyxl in read-only mode, nothing else.
"""

import json
import os
import sys
import time
from pathlib import Path

from bench.harness import ChildPeaks, peak_rss_mib


def _read_only(workbook: str) -> dict:
    from openpyxl import load_workbook

    started = time.perf_counter()
    book = load_workbook(workbook, read_only=True)
    cells = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            cells += len(row)
    book.close()
    return {"seconds": time.perf_counter() - started, "cells": cells}


def _import(source: str, target: str, workbook: str) -> dict:
    import flask_migrate
    from sqlalchemy import create_engine, text

    from register import create_app, services
    from register.audit import Actor
    from register.imports.plan import run_import
    from register.models import AuditSource, BcrApproval, Client, InternationalOrganisation

    app = create_app({"SQLALCHEMY_DATABASE_URI": target})
    with app.app_context():
        flask_migrate.upgrade()
        engine = create_engine(source)
        with engine.connect() as connection:
            parties = connection.execute(text("SELECT uid, kind, legal_name, country_code, organisation_code FROM parties "
                                              "WHERE kind IN ('client', 'international_organisation')")).all()
            approvals = connection.execute(text("SELECT uid, name, regime, bcr_type, authority, approved_on FROM bcr_approvals")).all()
        engine.dispose()
        with services.write_unit(Actor(AuditSource.CLI, label="bench")):
            for row in parties:
                model = Client if row.kind == "client" else InternationalOrganisation
                values = {"legal_name": row.legal_name, "country_code": row.country_code, "organisation_code": row.organisation_code}
                services.create(model, {k: v for k, v in values.items() if v is not None}, uid=row.uid)
            for row in approvals:
                services.create(BcrApproval, {"name": row.name, "regime": row.regime, "bcr_type": row.bcr_type,
                                              "authority": row.authority, "approved_on": str(row.approved_on)[:10]}, uid=row.uid)
        started = time.perf_counter()
        with ChildPeaks() as children:  # the process that reads a large sheet's cells (register/imports/reader.py)
            outcome = run_import(Path(workbook), Path(workbook).name, Actor(AuditSource.IMPORT, label="bench"), dry_run=False)
        seconds = time.perf_counter() - started
        errors = [f"{row.sheet} row {row.row}: {row.errors}" for row in outcome.errors[:5]]
        return {"seconds": seconds, "reader_peak_mib": children.peak, "ok": outcome.ok, "counts": outcome.counts(), "file_error": outcome.file_error,
                "errors": errors}


def main() -> None:
    instance, source, target, workbook, mode = sys.argv[1:6]
    os.environ["REGISTER_INSTANCE_PATH"] = instance
    result = _read_only(workbook) if mode == "read" else _import(source, target, workbook)
    result["peak_mib"] = peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
