"""Logging in and out, password hashing and role checks (login throttling: register/throttle.py)."""

import hashlib
import secrets
import string
import unicodedata
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_url, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import DBAPIError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from . import services, throttle
from .audit import Actor
from .errors import bookkeeping_may_wait, is_storage_fault, problem, retry_after
from .extensions import MAX_ID, db, login_manager, short_write
from .forms import email_address
from .models import ApiToken, AuditSource, Role, User, UserSession, utcnow

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


def set_password(user_id: int, password: str, *, actor_user: User | None, source: AuditSource = AuditSource.WEB,
                 keep_session: Optional[int] = None) -> User:
    """Replace a user's password, end their sessions (but `keep_session`) and revoke their API tokens."""
    with services.write_unit(Actor(source, user=actor_user, label="cli")):
        user = db.session.get(User, user_id)
        services.update(user, {"password_hash": hash_password(password)}, expected_version=user.version)
        end_access(user, keep_session=keep_session)
    return db.session.get(User, user_id)


def end_access(user: User, *, keep_session: Optional[int] = None) -> None:
    """Inside a write_unit: end every session of the user (but `keep_session`) and revoke every API
    token (audited), so that neither a copied cookie nor an old token works after a password change,
    a reset or deactivation, nor comes back when the user is reactivated."""
    end_sessions(user.id, keep=keep_session)
    now = utcnow()
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all():
        services.update(token, {"revoked_at": now}, expected_version=token.version)


# --- sessions ---------------------------------------------------------------------------------
#
# Each login is a row of user_sessions; the signed cookie carries the row's random id (the table keeps
# only its SHA-256). A session counts while its row is open and was seen within the session lifetime
# (SESSION_HOURS), so ending the row ends the session wherever the cookie was copied to.

SESSION_KEY = "sid"
# How often a session's last visit is written down (not on every request: see api._note_use).
SEEN_EVERY = timedelta(minutes=1)


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(user: User) -> None:
    """Log a user in with a new server-side session (after they proved who they are)."""
    now = utcnow()
    # Rows of sessions long over are of no use to anyone: drop this user's.
    cutoff = now - current_app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(days=30)
    session_id = secrets.token_urlsafe(32)
    with short_write(db.session()):
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                     or_(UserSession.ended_at < cutoff, UserSession.last_seen_at < cutoff)))
        db.session.add(UserSession(user_id=user.id, id_hash=_session_hash(session_id), created_at=now, last_seen_at=now,
                                   user_agent=(request.user_agent.string or "")[:300], address=(request.remote_addr or "")[:64]))
        db.session.commit()
    session.clear()  # nothing of an earlier visitor's session carries over (no fixation)
    session.permanent = True
    session[SESSION_KEY] = session_id
    login_user(user)


def current_session_id() -> Optional[int]:
    """The id of the user_sessions row of this request's login (None for a token or no login)."""
    current_user._get_current_object()  # make Flask-Login load the user, and so the session
    return g.get("user_session_id")


def end_sessions(user_id: int, *, keep: Optional[int] = None) -> None:
    """End a user's open sessions (but `keep`) in the current transaction; the caller commits."""
    statement = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    db.session.execute(statement.values(ended_at=utcnow()).execution_options(synchronize_session=False))


def open_sessions(user_id: int) -> list[UserSession]:
    """A user's sessions that still count, the latest seen first."""
    since = utcnow() - current_app.config["PERMANENT_SESSION_LIFETIME"]
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None), UserSession.last_seen_at > since,
    ).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


@login_manager.user_loader
def load_user(user_id: str) -> Optional[User]:
    """The user of this request's session, if its row is open, recent, and the user active."""
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, str) or not user_id.isdigit():
        return None
    record = db.session.scalar(select(UserSession).where(UserSession.id_hash == _session_hash(session_id)))
    now = utcnow()
    if record is None or record.ended_at is not None or record.user_id != int(user_id):
        return None
    if now - record.last_seen_at > current_app.config["PERMANENT_SESSION_LIFETIME"]:
        return None
    user = record.user
    if not user.is_active:
        return None
    if now - record.last_seen_at >= SEEN_EVERY:
        try:
            db.session.execute(update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
                               .execution_options(synchronize_session=False))
            db.session.commit()
        except DBAPIError as error:
            db.session.rollback()
            # Busy (an import holds the lock), or storage that cannot save: noted on a later visit; the
            # session still reads the register.
            if not bookkeeping_may_wait(error):
                raise
    g.user_session_id = record.id
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


def safe_next(target: Optional[str]) -> str:
    """Where to go after logging in: a path on this site, else the home page.

    Browsers read `//host`, `/\\host` and `/<tab>/host` as another site, and a line break in a
    Location header is refused: only a single leading slash, no backslash, no control or space
    characters (the query string is already decoded here), and no scheme or host pass.
    """
    home = url_for("home.index")
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(char.isspace() or unicodedata.category(char).startswith("C") for char in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


CANNOT_RECORD_SESSION = ("Your password is right, but you cannot log in right now: the register's storage is full or "
                         "read-only, and a login must be recorded so that logging out can end it. Sessions already "
                         "open keep reading the register. Try again once the administrator has fixed the storage.")


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
                try:
                    start_session(user)
                except DBAPIError as error:
                    db.session.rollback()
                    if not is_storage_fault(error):
                        raise
                    # A session is a row (so that logout can end it): none can be written now.
                    current_app.logger.error("login refused, the storage cannot record a session (%s)", error.orig)
                    form.form_errors.append(CANNOT_RECORD_SESSION)
                    return retry_after(make_response(render_template("auth/login.html", form=form), 503), 300)
                return redirect(safe_next(request.args.get("next")))
            form.form_errors.append(LOGIN_FAILED)
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """End this session on the server too: a copy of the cookie no longer logs anyone in."""
    session_id = current_session_id() if current_user.is_authenticated else None
    if session_id is not None:
        db.session.execute(update(UserSession).where(UserSession.id == session_id).values(ended_at=utcnow()))
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@login_required
def account():
    """Who you are, and where you are logged in."""
    sessions = open_sessions(current_user.id)
    return render_template("auth/account.html", sessions=sessions, this_session=current_session_id())


@bp.route("/account/sessions/end-all", methods=["POST"])
@login_required
def end_all_sessions():
    """Log out everywhere, this browser too (API tokens are not touched: revoke them on their page)."""
    end_sessions(current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out everywhere.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of your other sessions (a browser left logged in elsewhere)."""
    if not 0 < session_id <= MAX_ID:
        abort(404)
    if session_id == current_session_id():
        return logout()
    ended = db.session.execute(update(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == current_user.id, UserSession.ended_at.is_(None),
    ).values(ended_at=utcnow())).rowcount
    db.session.commit()
    if not ended:
        abort(404)
    flash("That session has been logged out.", "success")
    return redirect(url_for("auth.account"))


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
                set_password(current_user.id, form.new_password.data, actor_user=current_user._get_current_object(),
                             keep_session=current_session_id())
                flash("Your password has been changed. Your other sessions have been logged out and your API "
                      "tokens revoked.", "success")
                return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form)


# --- pages that must not be kept in a cache -----------------------------------------------------

# Personal data (data subjects' requests, the account page) and secrets shown once (a new password,
# a new token): a shared or browser cache must not keep them for the next person at the computer.
NO_STORE_BLUEPRINTS = frozenset({"requests", "users", "tokens"})
NO_STORE_ENDPOINTS = frozenset({"auth.account", "auth.change_password"})


@bp.after_app_request
def no_store(response):
    if request.blueprint in NO_STORE_BLUEPRINTS or request.endpoint in NO_STORE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response
