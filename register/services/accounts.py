"""Users, their API tokens, and the register's settings."""

from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import ApiToken, Setting, User
from .checks import EMAIL
from .spec import SPECS, Errors, Spec, _add


def _validate_token(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    if values.get("user_id") is not None and sess.get(User, values["user_id"]) is None:
        _add(errors, "user_id", f"No user with id {values['user_id']}.")


def _validate_user(sess: Session, record: Optional[User], values: dict, errors: Errors) -> None:
    email = values.get("email")
    if email:
        if not EMAIL.match(email):
            _add(errors, "email", "Not a valid email address.")
        else:
            query = select(User.id).where(func.lower(User.email) == email.lower())
            if record is not None:
                query = query.where(User.id != record.id)
            if sess.scalar(query) is not None:
                _add(errors, "email", "A user with this email already exists.")


SPECS.update(
    {
        ApiToken: Spec(ApiToken, validate=_validate_token, required=("user_id", "name", "token_hash", "prefix")),
        Setting: Spec(Setting, required=("key",)),
        User: Spec(
            User,
            validate=_validate_user,
            required=("email", "name", "role", "password_hash"),
        ),
    }
)
