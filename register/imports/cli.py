"""flask --app app import FILE [--dry-run]: the same import as the page, progress on stderr."""

import sys
import time
from pathlib import Path

import click

from ..audit import Actor
from ..models import AuditSource
from .plan import Outcome, run_import


def _progress():
    last = {"at": 0.0}

    def report(stage: str, done: int, total) -> None:
        now = time.monotonic()
        if now - last["at"] < 1.0 and done and total is not None and done != total:
            return
        last["at"] = now
        of = f" of ~{total:,}" if total and total != done else ""
        click.echo(f"{stage}: {done:,} rows{of}" if done or total else f"{stage}...", err=True)

    return report


def print_outcome(outcome: Outcome, verbose: bool) -> None:
    if outcome.file_error:
        click.echo(f"Refused: {outcome.file_error}", err=True)
        return
    for row in outcome.rows:
        if row.action == "error":
            for column, message in row.errors:
                where = f", column {column!r}" if column else ""
                click.echo(f"ERROR {row.sheet}, row {row.row}{where}: {message}", err=True)
        elif verbose and row.action == "update":
            fields = "; ".join(f"{column}: {before!r} -> {after!r}" for column, (before, after) in row.changes.items())
            click.echo(f"update {row.sheet}, row {row.row} ({row.label}): {fields}")
        elif verbose and row.action == "create":
            # a new record's fields are the row's, but for those the register filled in (a route's defaults)
            derived = "; ".join(f"{column}: {after}" for column, (_before, after) in row.changes.items())
            click.echo(f"create {row.sheet}, row {row.row} ({row.label})" + (f": {derived}" if derived else ""))


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
@click.option("--verbose", "-v", is_flag=True, help="List every row created or updated (with the fields).")
def import_command(path: str, dry_run: bool, verbose: bool) -> None:
    """Import group entities, third parties, engagements, instruments and routes from an XLSX or CSV file
    in the auditor workbook's columns. All or nothing: any error, and nothing is written (exit 1)."""
    started = time.monotonic()
    outcome = run_import(Path(path), Path(path).name, Actor(AuditSource.IMPORT, label=f"cli import {Path(path).name}"[:254]),
                         dry_run=dry_run, progress=_progress())
    print_outcome(outcome, verbose)
    counts = outcome.counts()
    summary = f"{counts['create']:,} to create, {counts['update']:,} to update, {counts['unchanged']:,} unchanged"
    if not outcome.ok:
        errors = "the file was refused" if outcome.file_error else f"{counts['error']:,} rows with errors"
        click.echo(f"Nothing was written: {errors}. ({summary} once corrected.)", err=True)
        sys.exit(1)
    verb = "Dry run, nothing written" if dry_run else "Imported"
    click.echo(f"{verb}: {summary} ({time.monotonic() - started:.1f} s).".replace("to create", "created" if not dry_run else "to create")
               .replace("to update", "updated" if not dry_run else "to update"))
