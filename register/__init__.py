"""Cross-border transfer and sub-processor register: the application factory."""

import os
from pathlib import Path
from typing import Any, Optional

from flask import Flask, make_response, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from . import countries, vocabulary
from .config import PROJECT_ROOT, settings
from .errors import error_response, is_storage_fault, keep_retry_after, retry_after, storage_fault_response, wants_json  # noqa: F401 - importable from the package, as before
from .extensions import configure_sqlite, csrf, db, login_manager, migrate

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: Optional[dict[str, Any]] = None) -> Flask:
    instance_path = Path(os.environ.get("REGISTER_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings(instance_path))
    if test_config:
        app.config.from_mapping(test_config)
        if test_config.get("TESTING") and "JOBS_IMMEDIATE" not in test_config:
            app.config["JOBS_IMMEDIATE"] = True  # a test's jobs run in its requests unless it starts a worker
    from . import request_log

    request_log.configure_logging(app)  # before anything logs

    countries.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["BUSY_TIMEOUT_MS"])

    from . import api, auth, cli, coverage, exports, history, home, records, requests, throttle, tokens, users

    # Registered before the limiter, so it runs after the limiter's headers (after_request runs in reverse).
    app.after_request(keep_retry_after)
    api.limit_requests(throttle.init_app(app))

    app.register_blueprint(api.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(tokens.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(coverage.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(requests.bp)
    from .imports.views import bp as imports_bp

    app.register_blueprint(imports_bp)
    from . import client_notices, jobs, outbox, reminders, subscriptions

    jobs.init_app(app)
    app.register_blueprint(outbox.bp)
    app.register_blueprint(client_notices.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(reminders.bp)
    cli.init_app(app)
    # Every write unit brings the rules' stored verdicts up to date in its own transaction; the write
    # path does not import the assessments (they store verdicts with the bulk engine, below both).
    from . import assessments, services

    services.before_commit(assessments.refresh_touched)

    from .timeline import sweep_scratch_copies

    swept = sweep_scratch_copies()  # as-of copies a killed process left behind
    if swept:
        app.logger.info("removed %d as-of scratch copies left in the temp folder", swept)

    _register_security_headers(app)
    _register_error_handlers(app)
    _register_template_helpers(app)
    # Outermost: every request gets its id (X-Request-ID, on error pages) and one line in the log.
    request_log.init_app(app)
    app.jinja_env.globals["request_id"] = request_log.request_id
    app.jinja_env.globals["unread_reminders"] = _unread_reminders
    return app


def _unread_reminders() -> int:
    """The logged-in user's unread reminders (the menu's count); 0 when it cannot be read."""
    from flask_login import current_user

    from .reminders import unread_count

    if not getattr(current_user, "is_authenticated", False):
        return 0
    try:
        return unread_count(current_user)
    except DBAPIError:
        db.session.rollback()
        return 0


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def set_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning("CSRF refused: %s", error.description)
        return error_response(400, "Form expired or invalid", "The form's security token was missing or "
                              "out of date. Go back, reload the page and try again; nothing was saved.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, error.name, error.description or "")

    @app.errorhandler(DBAPIError)
    def database_refused(error: DBAPIError):
        if is_storage_fault(error):
            db.session.rollback()
            return storage_fault_response(error)
        if not is_busy(error):
            return unexpected_error(error)
        db.session.rollback()
        app.logger.warning("register busy: %s %s answered 503 (%s)", request.method, request.path, error.orig)
        response = make_response(error_response(
            503, "The register is busy", "Another change is being written (a large import holds the register for up "
            "to a minute). Nothing was saved: go back and send it again in a moment."))
        return retry_after(response, BUSY_RETRY_SECONDS)

    @app.errorhandler(OSError)
    def file_refused(error: OSError):
        if is_storage_fault(error):
            db.session.rollback()
            return storage_fault_response(error)
        return unexpected_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, "Something went wrong", "The change was not saved. The error has been logged.")


BUSY_RETRY_SECONDS = 30
# PostgreSQL's "try again" errors: lock not available (a lock timeout), serialization failure, deadlock.
BUSY_SQLSTATES = frozenset({"55P03", "40001", "40P01"})


def is_busy(error: DBAPIError) -> bool:
    """Whether the database refused a write only because another one holds what it needs (SQLite's
    write lock past its busy timeout; a PostgreSQL lock timeout or deadlock): worth sending again."""
    original = error.orig
    return "database is locked" in str(original) or getattr(original, "sqlstate", None) in BUSY_SQLSTATES


def _register_template_helpers(app: Flask) -> None:
    from . import regions
    from .records.crud import details, record_url

    def place_name(code):
        """A country's, an organisation's or a region's name ("Worldwide", "Asia-Pacific")."""
        return regions.place_name(code, sess=db.session())

    app.jinja_env.globals.update(country_name=place_name, record_details=details, record_url=record_url,
                                mechanism_label=vocabulary.mechanism_label, status_label=vocabulary.status_label)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
