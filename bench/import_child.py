"""Import the auditor workbook into an empty register in a process of its own, so that its peak memory
is its own: python -m bench.import_child INSTANCE_PATH TARGET_DATABASE_URL WORKBOOK import|read.

`import` migrates the empty target and times the import of the workbook, which carries the whole
register. `read` is the baseline: the same workbook's cells read with openpyxl in read-only mode,
nothing else.
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


def _import(target: str, workbook: str) -> dict:
    import flask_migrate

    from register import create_app
    from register.audit import Actor
    from register.imports.plan import run_import
    from register.models import AuditSource

    app = create_app({"SQLALCHEMY_DATABASE_URI": target})
    with app.app_context():
        flask_migrate.upgrade()
        started = time.perf_counter()
        with ChildPeaks() as children:  # the process that reads a large sheet's cells (register/imports/reader.py)
            outcome = run_import(Path(workbook), Path(workbook).name, Actor(AuditSource.IMPORT, label="bench"), dry_run=False)
        seconds = time.perf_counter() - started
        errors = [f"{row.sheet} row {row.row}: {row.errors}" for row in outcome.errors[:5]]
        return {"seconds": seconds, "reader_peak_mib": children.peak, "ok": outcome.ok, "counts": outcome.counts(), "file_error": outcome.file_error,
                "errors": errors}


def main() -> None:
    instance, target, workbook, mode = sys.argv[1:5]
    os.environ["REGISTER_INSTANCE_PATH"] = instance
    result = _read_only(workbook) if mode == "read" else _import(target, workbook)
    result["peak_mib"] = peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
