"""An import kept server-side between upload, preview and confirm, checked or applied in a thread.

Each upload gets a folder under the instance folder named by a random token, bound to the user who
uploaded it: the file, its owner, and the status the preview page polls (stage, rows done), then the
outcome. The work runs in a background thread with its own app context and database session, so a
large file shows its progress instead of a page that hangs.
"""

import json
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Optional

from flask import Flask, current_app

from ..audit import Actor
from ..extensions import db
from ..models import AuditSource, User
from .plan import Outcome, run_import

TOKEN_BYTES = 24
KEEP_SECONDS = 24 * 3600


def root() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def folder_of(token: str) -> Optional[Path]:
    if not token or not all(char.isalnum() or char in "-_" for char in token):
        return None
    folder = root() / token
    return folder if folder.is_dir() else None


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, default=str), encoding="utf-8")
    os.replace(temporary, path)


def read_json(folder: Path, name: str) -> Optional[dict]:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def new_upload(stream: Any, filename: str, user_id: int) -> str:
    """Keep the uploaded file; returns its token."""
    purge_old()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    folder = root() / token
    folder.mkdir(mode=0o700)
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    stream.save(folder / f"upload{suffix}")
    _write_json(folder / "meta.json", {"user_id": user_id, "filename": filename[:200], "file": f"upload{suffix}",
                                       "created": time.time()})
    return token


def purge_old() -> None:
    now = time.time()
    for folder in root().iterdir():
        meta = read_json(folder, "meta.json")
        if folder.is_dir() and (meta is None or now - meta.get("created", 0) > KEEP_SECONDS):
            shutil.rmtree(folder, ignore_errors=True)


# --- is the work still running? ------------------------------------------------------------------
#
# A "running" status names the process and thread doing the work. If that process has ended (a
# restart, a crash, a deploy) or, in this process, the thread is gone, nothing will ever finish the
# status: it is shown as failed, and the import can be started again.

CRASHED = ("The import stopped before it finished (the server was restarted or the work crashed); "
           "nothing was written by it. Upload the file again to check it again.")


def _process_start(pid: int) -> Optional[str]:
    """When a process started (Linux: /proc/<pid>/stat, field 22), to tell it from a later one with
    the same pid; None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _process_alive(pid: int, started: Optional[str]) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    except OSError:
        return False
    return started is None or _process_start(pid) in (None, started)


def _worker() -> dict:
    return {"pid": os.getpid(), "process_started": _process_start(os.getpid()), "thread": threading.current_thread().name}


def state_of(folder: Path) -> dict:
    """The import's status as the pages show it: a "running" one whose worker is gone is failed."""
    state = read_json(folder, "status.json") or {"state": "failed"}
    if state.get("state") != "running" or "pid" not in state:
        return state
    pid = state["pid"]
    if pid == os.getpid():
        alive = any(thread.name == state.get("thread") and thread.is_alive() for thread in threading.enumerate())
    else:
        alive = _process_alive(pid, state.get("process_started"))
    if alive:
        return state
    return {"state": "failed", "apply": state.get("apply", False), "crashed": True, "message": CRASHED}


def start(app: Flask, token: str, *, apply: bool, expected_digest: Optional[str] = None) -> None:
    """Check (preview) or apply the upload in a background thread; the status file tells how far it got."""
    folder = root() / token
    (folder / "outcome.json").unlink(missing_ok=True)
    if not app.config.get("IMPORT_IN_BACKGROUND", True):
        _write_json(folder / "status.json", {"state": "running", "apply": apply, "stage": "Queued", "done": 0, "total": None,
                                             **_worker()})
        _work(app, folder, apply, expected_digest)
        return
    worker = threading.Thread(target=_work, args=(app, folder, apply, expected_digest),
                              name=f"import-{token[:8]}-{secrets.token_hex(4)}", daemon=True)
    _write_json(folder / "status.json", {"state": "running", "apply": apply, "stage": "Queued", "done": 0, "total": None,
                                         **_worker(), "thread": worker.name})
    worker.start()


def _work(app: Flask, folder: Path, apply: bool, expected_digest: Optional[str]) -> None:
    meta = read_json(folder, "meta.json") or {}
    last = {"at": 0.0}

    def progress(stage: str, done: int, total: Optional[int]) -> None:
        now = time.monotonic()
        if now - last["at"] >= 0.3:
            last["at"] = now
            _write_json(folder / "status.json", {"state": "running", "apply": apply, "stage": stage, "done": done, "total": total,
                                                 **_worker()})

    with app.app_context():
        try:
            user = db.session.get(User, meta.get("user_id"))
            actor = Actor(AuditSource.IMPORT, user=user, label=f"import {meta.get('filename', '')}"[:254])
            outcome = run_import(folder / meta["file"], meta["filename"], actor, dry_run=not apply, progress=progress,
                                 expected_digest=expected_digest)
            _write_json(folder / "outcome.json", outcome.to_json())
            _write_json(folder / "status.json", {"state": "done", "apply": apply})
        except Exception:
            app.logger.exception("import failed")
            _write_json(folder / "status.json", {"state": "failed", "apply": apply})
        finally:
            db.session.remove()


def outcome_of(folder: Path) -> Optional[Outcome]:
    data = read_json(folder, "outcome.json")
    return Outcome.from_json(data) if data else None


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
