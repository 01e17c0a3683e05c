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
        # The largest JSON body the API reads (a record is a few KB; larger bodies get 413).
        "API_MAX_BODY_KB": int(os.environ.get("API_MAX_BODY_KB", "256")),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Login throttling (register/throttle.py): an account gets LOGIN_MAX_FAILURES attempts per
        # window of LOGIN_WINDOW_MINUTES (a success starts again), a client address gets
        # LOGIN_ADDRESS_MAX_ATTEMPTS per window whatever the accounts; the rest are refused with 429.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_MINUTES": int(os.environ.get("LOGIN_WINDOW_MINUTES", "15")),
        "LOGIN_ADDRESS_MAX_ATTEMPTS": int(os.environ.get("LOGIN_ADDRESS_MAX_ATTEMPTS", "50")),
        # How many reverse proxies in front of the app append to X-Forwarded-For (0: none, the
        # socket's address is the client's). Set it to exactly the proxies you run: one more lets
        # clients choose their own address.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # API requests per token (per address without one), in the `limits` notation.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        # Flask-Limiter's counters: Redis when REDIS_URL is set (shared by all workers), else memory
        # (each worker process counts on its own).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "register"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
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
        # The request log and the app's log lines on stderr: json (gunicorn.conf.py's default) or text;
        # unset, Flask's default (warnings only, no request lines).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", ""),
        # Redis, when the register uses one (rate-limit counters, the job queue): /readyz checks it.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # The job queue (register/jobs, Huey): Redis at JOBS_REDIS_URL, else REDIS_URL; without either,
        # a SQLite file in the instance folder (one machine). JOB_FILES is the folder every web and
        # worker process shares: uploads, progress, results (kept JOB_KEEP_HOURS).
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL") or os.environ.get("REDIS_URL", ""),
        "JOBS_SQLITE_FILE": os.environ.get("JOBS_SQLITE_FILE", str(instance_path / "jobs.sqlite")),
        "JOBS_QUEUE_NAME": os.environ.get("JOBS_QUEUE_NAME", "register"),  # one per register sharing a Redis
        "JOB_FILES": os.environ.get("JOB_FILES", str(instance_path / "jobs")),
        "JOB_KEEP_HOURS": int(os.environ.get("JOB_KEEP_HOURS", "24")),
        # The worker's threads (jobs at once), and after how many seconds without a heartbeat a
        # running job's worker is taken for gone (the job is then queued again once, or failed).
        "JOB_WORKER_THREADS": int(os.environ.get("JOB_WORKER_THREADS", "2")),
        "JOB_STALE_SECONDS": int(os.environ.get("JOB_STALE_SECONDS", "30")),
        # How long a stopping worker (SIGTERM) lets its running jobs finish before it exits.
        "JOB_SHUTDOWN_SECONDS": int(os.environ.get("JOB_SHUTDOWN_SECONDS", "240")),
        # Jobs run inside the request that asks for them (tests; a one-process install without a
        # worker). Never with more than one web process.
        "JOBS_IMMEDIATE": _env_flag("JOBS_IMMEDIATE", False),
        # Downloads of a register with more routes (or a log with more events) than this are built
        # by the worker: the page shows progress, then the file.
        "DIRECT_DOWNLOAD_MAX_ROWS": int(os.environ.get("DIRECT_DOWNLOAD_MAX_ROWS", "2000")),
        # Mail (register/mail.py): SMTP at MAIL_HOST (MAIL_SECURITY starttls, ssl or none; a login when
        # MAIL_USERNAME is set); without MAIL_HOST, each message is a .eml file in MAILBOX_FOLDER. Links
        # in messages start with BASE_URL (the address people reach the register at).
        "MAIL_HOST": os.environ.get("MAIL_HOST", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_SECURITY": os.environ.get("MAIL_SECURITY", "starttls").strip().lower(),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Transfer register <register@localhost>"),
        "MAIL_TIMEOUT_SECONDS": int(os.environ.get("MAIL_TIMEOUT_SECONDS", "30")),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "8")),
        "MAILBOX_FOLDER": os.environ.get("MAILBOX_FOLDER", str(instance_path / "mailbox")),
        "BASE_URL": os.environ.get("BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/"),
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
