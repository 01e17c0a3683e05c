"""Logging in and out, password hashing and role checks (login throttling: register/throttle.py)."""

import secrets
import string
import uuid
from functools import wraps
from typing import Any, Callable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_url, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from . import services, throttle
from .audit import Actor
from .errors import is_storage_fault, problem
from .extensions import db, login_manager
from .forms import email_address
from .models import AuditSource, Role, User

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "Email or password is incorrect."


# --- passwords --------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["PASSWORD_HASH_TIME_COST"], memory_cost=config["PASSWORD_HASH_MEMORY_KIB"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: Optional[str], password: str) -> bool:
    """Constant-work check: an unknown account costs as much as a wrong password."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    cached = current_app.extensions.get("register_dummy_hash")
    if cached is None:
        cached = current_app.extensions["register_dummy_hash"] = _hasher().hash(secrets.token_hex(16))
    return cached


def password_problems(password: str, email: str = "") -> list[str]:
    """What is wrong with a new password (NIST SP 800-63B: length, not composition rules)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(f"Use at least {minimum} characters.")
    if len(password) > 256:
        problems.append("Use at most 256 characters.")
    if email and email.split("@")[0].lower() in password.lower():
        problems.append("Do not use your email address in your password.")
    if len(set(password)) < 4:
        problems.append("Use more different characters.")
    return problems


def generate_password(length: int = 20) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def set_password(user_id: int, password: str, *, actor_user: User | None, source: AuditSource = AuditSource.WEB) -> User:
    """Replace a user's password and end their other sessions (a new session nonce); one audit event."""
    with services.write_unit(Actor(source, user=actor_user, label="cli")):
        user = db.session.get(User, user_id)
        services.update(
            user,
            {"password_hash": hash_password(password), "session_nonce": uuid.uuid4().hex},
            expected_version=user.version,
        )
    return db.session.get(User, user_id)


# --- sessions ---------------------------------------------------------------------------------


@login_manager.user_loader
def load_user(user_id: str) -> Optional[User]:
    """Sessions name the user and a nonce that a password change or deactivation replaces."""
    id_part, _, nonce = user_id.partition(":")
    if not id_part.isdigit():
        return None
    user = db.session.get(User, int(id_part))
    if user is None or not user.is_active or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """API clients get a JSON 401; people are sent to the login page."""
    if request.path.startswith("/api/"):
        return problem(401, "Unauthorized", "Authenticate with 'Authorization: Bearer <token>'.")
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see the register."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def role_required(*roles: Role) -> Callable:
    """Allow only logged-in users with one of the roles; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, description="Your role does not allow this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = role_required(Role.ADMIN, Role.EDITOR)
admin_required = role_required(Role.ADMIN)


def _bookkeeping(write: Callable[[str], Any], email: str) -> Any:
    """The throttle's write for a login attempt. When the storage refuses it (full or read-only) the
    attempt goes on uncounted: a right password still logs in, so people can read the register while it
    cannot save (the failure is not counted then, and that is logged)."""
    try:
        return write(email)
    except DBAPIError as error:
        db.session.rollback()
        if not is_storage_fault(error):
            raise
        current_app.logger.error("login throttle not updated, the storage refused the write (%s)", error.orig)
        return None


# --- views ------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), email_address, Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField("Repeat the new password", validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])


def _safe_next(target: Optional[str]) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        refusal = _bookkeeping(throttle.login_attempt, email)  # counted before the check: parallel attempts cannot pass it
        if refusal:
            form.form_errors.append(refusal.text())
            status, headers = 429, {"Retry-After": str(refusal.retry_after)}
        else:
            user = db.session.scalar(select(User).where(User.email == email))
            valid = verify_password(user.password_hash if user else None, form.password.data)
            if valid and user is not None and user.is_active:
                _bookkeeping(throttle.login_succeeded, email)
                session.clear()
                session.permanent = True
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
            form.form_errors.append(LOGIN_FAILED)
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append("This is not your current password.")
        else:
            problems = password_problems(form.new_password.data, current_user.email)
            if problems:
                form.new_password.errors.extend(problems)
            else:
                user = set_password(current_user.id, form.new_password.data, actor_user=current_user)
                login_user(user)  # the nonce changed: keep this session, end the others
                flash("Your password has been changed. Other sessions have been logged out.", "success")
                return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form)
