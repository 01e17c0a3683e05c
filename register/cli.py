"""Command-line tools; they write through the same audited services as the pages."""

import os

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from . import services
from .audit import Actor
from .auth import password_problems
from .extensions import db
from .models import AuditSource, Party, Role, User


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(check_command)
    app.cli.add_command(assess_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(export_group)
    app.cli.add_command(purge_command)
    app.cli.add_command(worker_command)
    from .imports.cli import import_command

    app.cli.add_command(import_command)
    from .backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--name", default=None, help="Display name (default: the email's local part).")
@click.option("--password", default=None, help="Prompted for (hidden) when omitted.")
def create_user_command(email: str, role: str, name: str | None, password: str | None) -> None:
    """Create a user with a role (admin, editor, auditor)."""
    from .users import create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException(" ".join(problems))
    try:
        with services.write_unit(Actor(AuditSource.CLI, label="cli")):
            user = create_user(email, name or email.split("@")[0], Role(role), password)
    except services.DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the register already holds records.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo register of a fictional medical and travel assistance group."""
    from .seed import load_demo

    if if_empty and db.session.scalar(select(func.count()).select_from(Party)):
        click.echo("The register already holds records: demo data not loaded again.")
        _print_demo_logins()
        return
    logins = load_demo()
    path = current_app.config["DEMO_LOGINS_FILE"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{role:8} {email}  {password}\n" for role, email, password in logins)
    click.echo(f"Demo register loaded. Demo logins (also kept in {path}):")
    for role, email, password in logins:
        click.echo(f"  {role:8} {email}  {password}")


@click.command("demo-logins")
def demo_logins_command() -> None:
    """Print the demo logins if this database was seeded with the demo register."""
    _print_demo_logins()


def _print_demo_logins() -> None:
    path = current_app.config["DEMO_LOGINS_FILE"]
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return
    emails = {user.email for user in db.session.scalars(select(User))}
    shown = [line for line in lines if len(line.split()) == 3 and line.split()[1] in emails]
    if shown:
        click.echo("Demo logins:")
        for line in shown:
            click.echo(f"  {line}")


@click.command("assess")
def assess_command() -> None:
    """Recompute today's stored verdict of every route (run daily from cron)."""
    from .assessments import refresh_all

    run = refresh_all(db.session())
    db.session.commit()
    click.echo(f"Assessed {run.route_count:,} routes on {run.assessed_on} in {run.seconds} s.")


@click.command("check")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Assess on this date (default today).")
def check_command(on) -> None:
    """Print gaps and attention items; exit 1 when any live route has a gap (for cron or CI)."""
    from datetime import date

    from .checks import live_findings

    day = on.date() if on else date.today()
    counts, found = live_findings(day)
    for finding in found:
        click.echo(f"{finding['status'].upper():9} route #{finding['route_id']} {finding['exporter']} -> {finding['importer']} "
                   f"({finding['destination']})")
        for reason in finding["reasons"]:
            click.echo(f"          {reason['regime']}: {reason['text']} [{reason['reference']}]")
    summary = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
    click.echo(f"Assessed {sum(counts.values())} live routes on {day}: {summary or 'none'}.")
    if counts.get("gap"):
        raise SystemExit(1)


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="command line", help="What the token is for (shown in its user's token list).")
@click.option("--scope", type=click.Choice(["read", "read_write"]), default=None,
              help="read, or read_write (default: the most the user's role allows; an auditor's token only reads).")
@click.option("--expires-in-days", type=int, default=None, help="Days until it expires (default API_TOKEN_DAYS, at most API_TOKEN_MAX_DAYS).")
def create_token_command(email: str, name: str, scope: str | None, expires_in_days: int | None) -> None:
    """Create an API token for a user; it is printed once and acts with the user's role, within its scope."""
    from .api import make_token

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        raise click.ClickException(f"No active user {email}.")
    try:
        with services.write_unit(Actor(AuditSource.CLI, label="cli")):
            secret, record = make_token(user, name, scope, expires_in_days)
    except services.DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Token for {user.email} ({user.role.value}; {record.scope.label.lower()}; expires "
               f"{record.expires_at:%Y-%m-%d %H:%M} UTC), shown only now:")
    click.echo(secret)


@click.group("export")
def export_group() -> None:
    """Write the auditor workbook or the processor list to a file."""


@export_group.command("register")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Assess on this date (default today).")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD[THH:MM]",
              help="The register as it stood then (end of that day, UTC, for a date), assessed on that day.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="The routes list's filters, e.g. --filter coverage=gap --filter regime=EU.")
def export_register_command(path: str, on, as_of, filters: tuple[str, ...]) -> None:
    """The auditor workbook (XLSX) of the register, or of the routes matching the filters."""
    from datetime import date

    from .exports import route_ids_for
    from .exports.auditor import write_auditor_workbook
    from .record_types.transfers import ROUTE_PAGES
    from .timeline import as_of_session

    if not path.endswith(".xlsx"):
        raise click.ClickException("The auditor workbook is an .xlsx file.")
    args = {}
    known = {list_filter.name: {value for value, _label in list_filter.choices()} for list_filter in ROUTE_PAGES.filters}
    for item in filters:
        key, _, value = item.partition("=")
        if key not in known or value not in known[key]:
            raise click.ClickException(f"Unknown filter {item!r}; filters: {', '.join(sorted(known))}.")
        args[key] = value
    if as_of is not None:
        if args or on:
            raise click.ClickException("--as-of exports the whole register as it stood, assessed on that day: no --filter or --on.")
        moment = _end_of(as_of)
        with as_of_session(moment) as sess, open(path, "wb") as target:
            tally = write_auditor_workbook(target, moment.date(), None, "command line", {"as of": str(moment)}, sess=sess)
        click.echo(f"Wrote {path}: {tally.routes:,} routes as of {moment:%Y-%m-%d %H:%M} UTC.")
        return
    ids, used = route_ids_for(args)
    day = on.date() if on else date.today()
    with open(path, "wb") as target:
        tally = write_auditor_workbook(target, day, ids, "command line", used)
    click.echo(f"Wrote {path}: {tally.routes:,} routes assessed on {day}.")


@export_group.command("processors")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--entity", default=None, help="A group entity's exact legal name or id (default: the whole group).")
@click.option("--purpose", default=None, help="Only processors whose purpose or service contains this.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD[THH:MM]",
              help="The list as it stood then (end of that day, UTC, for a date).")
def export_processors_command(path: str, entity: str | None, purpose: str | None, as_of) -> None:
    """The processor list people may ask for, as .xlsx or .csv."""
    from .exports import processors
    from .models import GroupEntity
    from .timeline import as_of_session

    scope = None
    if entity:
        chosen = db.session.scalar(select(GroupEntity).where(
            (GroupEntity.id == int(entity)) if entity.isdigit() else (func.lower(GroupEntity.legal_name) == entity.strip().lower())))
        if chosen is None:
            raise click.ClickException(f"No group entity {entity!r}.")
        scope = [chosen.id]
    purposes = [purpose] if purpose else None
    if not path.endswith((".csv", ".xlsx")):
        raise click.ClickException("Give a .xlsx or .csv file name.")
    if as_of is not None:
        with as_of_session(_end_of(as_of)) as sess:
            found = processors.processor_list(scope, purposes, sess=sess, on=_end_of(as_of).date())
    else:
        from .assessments import ensure_fresh

        ensure_fresh()
        found = processors.processor_list(scope, purposes)
    if path.endswith(".csv"):
        with open(path, "w", encoding="utf-8", newline="") as target:
            target.write(processors.csv_text(found))
    else:
        with open(path, "wb") as target:
            processors.write_xlsx(target, found, "Our processors" + (f", as of {_end_of(as_of):%Y-%m-%d %H:%M} UTC" if as_of else ""))
    click.echo(f"Wrote {path}: {len(found.current)} processors, {len(found.upcoming)} upcoming changes.")
    for concern in found.concerns:
        click.echo(f"NOTE {concern.text}", err=True)


def _end_of(text: str):
    """A moment given on the command line, in UTC: a date means the end of that day; a date and time, that time."""
    from .timeline import parse_moment

    try:
        return parse_moment(text)
    except ValueError:
        raise click.BadParameter("give YYYY-MM-DD or YYYY-MM-DDTHH:MM", param_hint="--as-of") from None


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Jobs run at once (default JOB_WORKER_THREADS, 2).")
def worker_command(threads: int | None) -> None:
    """Run the job worker: imports, large downloads, and the daily assessment, check and purge."""
    from .jobs.queue import work

    app = current_app._get_current_object()
    if app.config.get("JOBS_IMMEDIATE"):
        raise click.UsageError("JOBS_IMMEDIATE is set: jobs run in the web process, there is nothing for a worker to do.")
    threads = threads or app.config["JOB_WORKER_THREADS"]
    queue = app.config.get("JOBS_REDIS_URL") and "Redis" or app.config["JOBS_SQLITE_FILE"]
    click.echo(f"Job worker: {threads} thread(s), queue {queue}, files in {app.config['JOB_FILES']}")
    work(app, threads)


@click.command("purge")
@click.option("--on", "on", default=None, help="Purge as of this date (YYYY-MM-DD; default today).")
def purge_command(on: str | None) -> None:
    """Erase requesters' personal data kept past its date (30 days after the answer); for daily cron."""
    from datetime import date

    from .requests.operations import purge_due

    try:
        today = date.fromisoformat(on) if on else date.today()
    except ValueError:
        raise click.BadParameter("must be YYYY-MM-DD", param_hint="--on") from None
    purged = purge_due(today, Actor(AuditSource.CLI, label="cli purge"))
    for label in purged:
        click.echo(f"Erased the requester's personal data of {label}.")
    click.echo(f"{len(purged)} request(s) purged.")
