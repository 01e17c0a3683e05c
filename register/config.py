"""Settings from the environment and the instance folder."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url: str) -> str:
    """Route plain PostgreSQL URLs to psycopg 3 (SQLAlchemy defaults to psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def settings(instance_path: Path) -> dict:
    """The app's configuration; every value can be overridden from the environment."""
    default_db = f"sqlite:///{instance_path / 'register.sqlite'}"
    secure_cookies = _env_flag("SESSION_COOKIE_SECURE", False)
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL", default_db)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_DURATION": timedelta(days=1),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("SESSION_HOURS", "8"))),
        # API tokens expire: after API_TOKEN_DAYS unless their maker chooses fewer days, or more up to
        # API_TOKEN_MAX_DAYS.
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "90")),
        "API_TOKEN_MAX_DAYS": int(os.environ.get("API_TOKEN_MAX_DAYS", "365")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Login throttling: after LOGIN_MAX_FAILURES failures for one email (or 4x that from one
        # address) within LOGIN_WINDOW_MINUTES, refuse further attempts for that long.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_MINUTES": int(os.environ.get("LOGIN_WINDOW_MINUTES", "15")),
        # argon2id parameters (RFC 9106 "second recommended option"; argon2-cffi's defaults).
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_KIB": 65536,
        "PASSWORD_MIN_LENGTH": 12,
        "DEMO_LOGINS_FILE": str(instance_path / "demo-logins.txt"),
        # Public holidays the request clocks skip (register/deadlines.py): PUBLIC_HOLIDAYS, else the
        # instance file public-holidays.txt; ISO dates separated by commas or new lines.
        "PUBLIC_HOLIDAYS": public_holidays(instance_path),
        # How long a write waits for another to finish (an import holds SQLite's write lock, and on
        # PostgreSQL the engagement graph's lock) before the user is told the register is busy.
        "BUSY_TIMEOUT_MS": int(os.environ.get("BUSY_TIMEOUT_MS", "15000")),
    }


def public_holidays(instance_path: Path) -> frozenset:
    """The configured public holidays; a malformed date stops start-up with the offending text."""
    from .deadlines import parse_holidays

    text = os.environ.get("PUBLIC_HOLIDAYS")
    holiday_file = instance_path / "public-holidays.txt"
    if text is None and holiday_file.exists():
        text = holiday_file.read_text(encoding="utf-8")
    try:
        return parse_holidays(text or "")
    except ValueError as error:
        raise RuntimeError(f"PUBLIC_HOLIDAYS / {holiday_file}: {error} (expected YYYY-MM-DD dates)") from None
