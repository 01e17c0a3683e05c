"""An import kept server-side between upload, preview and confirm, checked or applied by the job worker.

Each upload gets a folder in the shared job folder (JOB_FILES/imports) named by a random token, bound
to the user who uploaded it: the file, its owner, the job now checking or applying it (whose progress
the preview page polls), then the outcome. Any web process can show it; the worker does the work
(register/jobs/kinds.py), so a large file shows its progress instead of a page that hangs, and a
worker that stops mid-import leaves nothing written (the apply is one transaction).
"""

import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Optional

from ..extensions import db
from ..jobs.queue import write_json
from .plan import Outcome

TOKEN_BYTES = 24
KEEP_SECONDS = 24 * 3600


def root() -> Path:
    """Uploads live in the job folder every web and worker process shares (JOB_FILES)."""
    from ..jobs.queue import files_root

    folder = files_root() / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def folder_of(token: str) -> Optional[Path]:
    if not token or not all(char.isalnum() or char in "-_" for char in token):
        return None
    folder = root() / token
    return folder if folder.is_dir() else None


def read_json(folder: Path, name: str) -> Optional[dict]:
    from ..jobs.queue import read_json as read

    return read(folder / name)


def new_upload(stream: Any, filename: str, user_id: int) -> str:
    """Keep the uploaded file; returns its token."""
    purge_old()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    folder = root() / token
    folder.mkdir(mode=0o700)
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    stream.save(folder / f"upload{suffix}")
    write_json(folder / "meta.json", {"user_id": user_id, "filename": filename[:200], "file": f"upload{suffix}",
                                       "created": time.time()})
    return token


def purge_old() -> None:
    """Uploads older than a day, unless their check or apply is still queued or running."""
    from ..jobs.queue import ACTIVE
    from ..models import Job

    now = time.time()
    for folder in root().iterdir():
        meta = read_json(folder, "meta.json")
        if folder.is_dir() and (meta is None or now - meta.get("created", 0) > KEEP_SECONDS):
            job = db.session.get(Job, meta["job"]) if meta and meta.get("job") else None
            if job is not None and job.state in ACTIVE:
                continue
            shutil.rmtree(folder, ignore_errors=True)


# --- the check or apply, as a job of the job worker (register/jobs) ------------------------------


def state_of(folder: Path) -> dict:
    """The import's status as the pages show it, from its current job (queued or running: "running")."""
    from ..jobs.queue import ACTIVE, progress_of
    from ..models import Job

    meta = read_json(folder, "meta.json") or {}
    job = db.session.get(Job, meta["job"]) if meta.get("job") else None
    if job is None:
        return {"state": "failed", "apply": False, "crashed": True, "message": CRASHED}
    apply = bool(job.params.get("apply"))
    if job.state in ACTIVE:
        progress = progress_of(job) if job.state == "running" else {}
        return {"state": "running", "apply": apply, "stage": progress.get("stage") or "Waiting for the job worker",
                "done": progress.get("done") or 0, "total": progress.get("total"), "job": job.id}
    if job.state == "done" and (folder / "outcome.json").exists():
        return {"state": "done", "apply": apply, "job": job.id}
    return {"state": "failed", "apply": apply, "crashed": True, "job": job.id,
            "message": f"{job.message or 'The import failed.'} Nothing was written by it: upload the file again to check it again."}


CRASHED = "The import stopped before it finished; nothing was written by it. Upload the file again to check it again."


def start(token: str, user_id: int, *, apply: bool, expected_digest: Optional[str] = None) -> None:
    """Check (preview) or apply the upload as a job; its folder names the job the pages follow."""
    from ..jobs.queue import submit

    folder = root() / token
    meta = read_json(folder, "meta.json") or {}
    (folder / "outcome.json").unlink(missing_ok=True)
    label = f"{'Import' if apply else 'Check'} of {meta.get('filename', 'a file')}"
    job = submit("import", label, {"token": token, "apply": apply, "expected_digest": expected_digest},
                       user_id=user_id, dedup_key=f"import:{token}")
    meta = read_json(folder, "meta.json") or meta
    write_json(folder / "meta.json", {**meta, "job": job.id})


def outcome_of(folder: Path) -> Optional[Outcome]:
    data = read_json(folder, "outcome.json")
    return Outcome.from_json(data) if data else None


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
