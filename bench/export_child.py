"""Write the auditor workbook (or its CSV baseline) in a process of its own, so that its peak memory
is its own: python -m bench.export_child INSTANCE_PATH DATABASE_URL xlsx|csv OUTPUT."""

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from bench.harness import peak_rss_mib


def main() -> None:
    instance, database, mode, output = sys.argv[1:5]
    os.environ["REGISTER_INSTANCE_PATH"] = instance
    from register import create_app
    from register.exports.auditor import write_auditor_workbook
    from register.exports.workbook import CsvBook, XlsxBook

    app = create_app({"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        started = time.perf_counter()
        if mode == "xlsx":
            with open(output, "wb") as target:
                tally = write_auditor_workbook(target, date.today(), None, "bench", {}, XlsxBook())
        else:
            folder = Path(output)
            folder.mkdir(parents=True, exist_ok=True)
            tally = write_auditor_workbook(None, date.today(), None, "bench", {}, CsvBook(folder))
        seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "routes": tally.routes}))


if __name__ == "__main__":
    main()
