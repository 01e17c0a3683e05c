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
