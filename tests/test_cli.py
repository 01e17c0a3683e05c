"""The command line writes through the same audited services."""

from sqlalchemy import select

from register.extensions import db
from register.models import AuditEvent, AuditSource, Role, User


def test_create_user_with_a_password(runner):
    result = runner.invoke(args=["create-user", "Dana@Example.org", "--role", "auditor", "--password", "a long enough passphrase"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "dana@example.org"))
    assert user.role == Role.AUDITOR and user.password_hash.startswith("$argon2id$")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "users"))
    assert event.source == AuditSource.CLI and event.action.value == "create"


def test_create_user_prompts_for_the_password(runner):
    result = runner.invoke(args=["create-user", "eve@example.org", "--role", "editor"], input="a long enough passphrase\na long enough passphrase\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "eve@example.org")) is not None


def test_create_user_refuses_a_weak_password_a_bad_role_and_a_duplicate(runner):
    weak = runner.invoke(args=["create-user", "x@example.org", "--role", "editor", "--password", "short"])
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    bad_role = runner.invoke(args=["create-user", "x@example.org", "--role", "owner", "--password", "a long enough passphrase"])
    assert bad_role.exit_code != 0
    runner.invoke(args=["create-user", "x@example.org", "--role", "editor", "--password", "a long enough passphrase"])
    duplicate = runner.invoke(args=["create-user", "X@example.org", "--role", "editor", "--password", "a long enough passphrase"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    assert db.session.query(User).count() == 1
