"""Jobs: work that does not belong in a web request, done by the job worker (`flask worker`).

This module is the queue and a job's life; it imports no part of the register but its models, so any
layer may submit a job. What each kind does is register/jobs/kinds.py; the pages, views.py; the
schedule, schedule.py; register/jobs/__init__.py puts them together for the app.

The queue is Huey's: a SQLite file in the instance folder by default (one machine, nothing to run),
Redis when JOBS_REDIS_URL or REDIS_URL is set (several web and worker machines). The queue only
carries a job's id; what the job is, its state and its result are a `Job` row in the register's
database, and its files (an upload, its progress, the finished download) live in JOB_FILES, the one
folder every web and worker process shares. So any web process can show any job, and no job state
lives in one process's memory.

A job's life:

- `submit()` adds the row (state queued) and puts its id on the queue. While a job with the same
  `dedup_key` is queued or running, submitting again gives that job (a unique index says so, so two
  web processes cannot both add one).
- The worker claims it (queued → running, one UPDATE: a job queued twice runs once), then runs its
  kind's function with a heartbeat: while it runs, a thread rewrites its progress file every few
  seconds, without a database write (an import holds SQLite's write lock for its whole transaction).
- It ends done (its result: a file to download, an import's outcome, a summary) or failed (with a
  message for its user). Every kind either writes in one transaction or writes its file under a
  temporary name renamed when complete: a job cut off leaves nothing half-written.
- A running job whose heartbeat stopped (the worker was killed, the machine restarted) is found by
  `sweep()` (run by the worker every minute and on its start, and whenever a job's page is shown):
  it is queued again once, then failed with a message saying so.

Huey takes a task off the queue when a worker starts it; the claim, the heartbeat and the sweep are
what make a job "acknowledged only when it has finished".
"""

import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from flask import Flask, current_app, g, has_request_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db, short_write, write_now
from ..models import Job, utcnow

ACTIVE = ("queued", "running")
IN_JOB = "register.job"  # the WSGI environ key a download view is re-run with in the worker (no client can set it)
HEARTBEAT_SECONDS = 2.0
ATTEMPTS = 2  # a job whose worker vanished is run once more, then failed

Progress = Callable[[str, int, Optional[int]], None]
# A kind: (the job, a progress callback, the job's own folder) -> its result (JSON), or raise JobFailed.
KINDS: dict[str, Callable[[Job, Progress, Path], dict]] = {}


class JobFailed(Exception):
    """A job that cannot finish, with the message its user reads (nothing was written)."""


def kind(name: str):
    def register(function):
        KINDS[name] = function
        return function
    return register


# --- the queue ----------------------------------------------------------------------------------


def make_queue(app: Flask) -> Huey:
    """The app's Huey, with the one task that runs a job (the periodic tasks: register/jobs/schedule.py)."""
    config = app.config
    if config.get("JOBS_IMMEDIATE"):
        queue = MemoryHuey("register", immediate=True, results=False)
    elif config.get("JOBS_REDIS_URL"):
        queue = RedisHuey(config["JOBS_QUEUE_NAME"], url=config["JOBS_REDIS_URL"], results=False)
    else:
        Path(config["JOBS_SQLITE_FILE"]).parent.mkdir(parents=True, exist_ok=True)
        queue = SqliteHuey(config["JOBS_QUEUE_NAME"], filename=config["JOBS_SQLITE_FILE"], results=False)

    @queue.task(name="run_job", retries=3, retry_delay=10)  # retried only if the job could not be claimed
    def run_job_task(job_id: str) -> None:
        run(app, job_id)

    app.extensions["jobs"] = queue
    app.extensions["jobs.run"] = run_job_task
    return queue


def queue_of(app: Optional[Flask] = None) -> Huey:
    return (app or current_app).extensions["jobs"]


def queue_reachable(app: Flask) -> None:
    """Raise if the queue's storage cannot be reached (/readyz)."""
    queue = queue_of(app)
    queue.pending_count()


# --- files ---------------------------------------------------------------------------------------


def files_root(app: Optional[Flask] = None) -> Path:
    folder = Path((app or current_app).config["JOB_FILES"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def folder_of(job: Job) -> Path:
    folder = files_root() / job.id
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def write_json(path: Path, value: Any) -> None:
    """Written whole or not at all (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(value, default=str), encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def report(stage: str, done: int, total: Optional[int] = None) -> None:
    """Progress from inside a download view while the worker builds it (anywhere else, nothing)."""
    callback = g.get("job_progress") if has_request_context() else None
    if callback is not None:
        callback(stage, done, total)


def progress_of(job: Job) -> dict:
    """What the worker last said: stage, rows done, of how many, and when (its heartbeat)."""
    return read_json(files_root() / job.id / "progress.json") or {}


def _heartbeat_unreadable(job: Job) -> bool:
    """The progress file is there but cannot be read now (a shared folder's hiccup, a write in
    progress): not a reason to take its worker for gone."""
    path = files_root() / job.id / "progress.json"
    return path.exists() and read_json(path) is None


# --- submitting and reading ----------------------------------------------------------------------


def submit(kind_name: str, label: str, params: dict, *, user_id: Optional[int] = None,
           dedup_key: Optional[str] = None) -> Job:
    """Queue a job (or give the queued or running one with the same key). Commits the session."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown job kind {kind_name!r}")
    sess = db.session()
    if sess.in_transaction():
        sess.commit()
    if dedup_key:
        active = sess.scalar(select(Job).where(Job.dedup_key == dedup_key[:250], Job.state.in_(ACTIVE)))
        if active is not None:
            return active  # asked again while it is queued or running (no write: a page may ask on every view)
    job_id = secrets.token_urlsafe(32)
    try:
        with short_write(sess):
            sess.add(Job(id=job_id, kind=kind_name, label=label[:200], params=params, user_id=user_id,
                         dedup_key=dedup_key[:250] if dedup_key else None, state="queued", result={}, attempts=0))
            sess.commit()
    except IntegrityError:
        sess.rollback()
        existing = sess.scalar(select(Job).where(Job.dedup_key == dedup_key, Job.state.in_(ACTIVE)))
        if existing is not None:
            return existing
        raise
    # Nothing read between the commit and the queue: a job run at once (JOBS_IMMEDIATE) commits on
    # its own connection, and a read begun before it would not see what it wrote (SQLite's snapshot).
    try:
        _enqueue(job_id)
    except Exception:  # the queue cannot be reached now: the job stays queued, the sweep puts it back
        current_app.logger.exception("job %s could not be put on the queue; the sweep will", job_id)
    return sess.get(Job, job_id)


def _enqueue(job_id: str) -> None:
    if not current_app.config.get("JOBS_IMMEDIATE"):
        folder = files_root() / job_id
        folder.mkdir(mode=0o700, exist_ok=True)
        write_json(folder / "queued.json", {"at": time.time()})  # when it was last put on the queue
    current_app.extensions["jobs.run"](job_id)


def retry(job: Job) -> Job:
    """A failed job, submitted again with the same parameters (a new job)."""
    return submit(job.kind, job.label, dict(job.params), user_id=job.user_id, dedup_key=job.dedup_key)


def latest(kind_name: str) -> Optional[Job]:
    return db.session.scalar(select(Job).where(Job.kind == kind_name).order_by(Job.created_at.desc()).limit(1))


def download_path(job: Job) -> Optional[Path]:
    """The finished file of a download job, if it is still kept."""
    name = (job.result or {}).get("file")
    if job.state != "done" or not name:
        return None
    keep = timedelta(hours=current_app.config.get("JOB_KEEP_HOURS", 24))
    if job.finished_at is not None and utcnow() - job.finished_at > keep:
        return None  # past its keeping time (the daily purge removes the file)
    path = files_root() / job.id / name
    return path if path.is_file() else None


# --- running (in the worker) -----------------------------------------------------------------------


def run(app: Flask, job_id: str) -> None:
    """Claim the job, run it with a heartbeat, and record how it ended."""
    with app.app_context():
        try:
            _run(job_id)
        finally:
            db.session.remove()


def _run(job_id: str) -> None:
    sess = db.session()
    claimed = write_now(sess, update(Job).where(Job.id == job_id, Job.state == "queued")
                        .values(state="running", started_at=utcnow(), attempts=Job.attempts + 1))
    if claimed.rowcount != 1:
        return  # already run, running or gone: a job queued twice runs once
    job = sess.get(Job, job_id)
    attempt = job.attempts  # this run's number: only it may end the job (a run taken for gone and
    # started again elsewhere does not have its outcome written by the first one finishing late)
    folder = folder_of(job)
    beat = _Heartbeat(folder / "progress.json")
    beat.start()
    try:
        result = KINDS[job.kind](job, beat.progress, folder)
    except JobFailed as failure:
        sess.rollback()
        _finish(job_id, attempt, "failed", message=str(failure))
    except Exception:
        sess.rollback()
        current_app.logger.exception("job %s (%s) failed", job_id, job.kind)
        _finish(job_id, attempt, "failed", message="The job failed on an unexpected error. The error is in the worker's log.")
    else:
        _finish(job_id, attempt, "done", result=result)
    finally:
        beat.stop()


def _finish(job_id: str, attempt: int, state: str, *, result: Optional[dict] = None, message: Optional[str] = None) -> None:
    """Record how the run ended; tried again for a while if the database is busy (an import's lock),
    as a job left "running" would be run again by the sweep."""
    values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "message": message}
    if result is not None:
        values["result"] = result
    for wait in (0, 1, 2, 5, 10, 30):
        time.sleep(wait)
        sess = db.session()
        try:
            write_now(sess, update(Job).where(Job.id == job_id, Job.state == "running", Job.attempts == attempt).values(**values))
            return
        except Exception:  # noqa: BLE001 - the database refused for now: try again, then let the sweep decide
            sess.rollback()
            current_app.logger.warning("job %s: its outcome could not be recorded yet", job_id, exc_info=True)


class _Heartbeat:
    """The progress file of a running job: what it reports, rewritten every HEARTBEAT_SECONDS even
    when it reports nothing (a workbook being saved), with the moment: the worker is alive."""

    def __init__(self, path: Path):
        self.path = path
        self.state: dict[str, Any] = {"stage": "Starting", "done": 0, "total": None}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{path.parent.name[:8]}", daemon=True)
        self._last_write = 0.0

    def start(self) -> None:
        self._write()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def progress(self, stage: str, done: int, total: Optional[int]) -> None:
        with self._lock:
            self.state = {"stage": stage, "done": done, "total": total}
        if time.monotonic() - self._last_write >= 0.3:
            self._write()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._write()

    def _write(self) -> None:
        with self._lock:
            state = dict(self.state)
            self._last_write = time.monotonic()
            write_json(self.path, {**state, "beat": time.time(), "pid": os.getpid(), "host": socket.gethostname(),
                                   "process_started": _process_started(os.getpid())})


# --- a worker that vanished ------------------------------------------------------------------------

VANISHED = ("The job worker stopped while this job ran (a restart, a crash or a deploy); nothing was written "
            "by it.")


def sweep() -> int:
    """Running jobs whose heartbeat stopped: queued again (once), else failed. Returns how many."""
    sess = db.session()
    stale_after = current_app.config.get("JOB_STALE_SECONDS", 30)
    now = time.time()
    found = 0
    running = sess.scalars(select(Job).where(Job.state == "running")).all()
    sess.commit()  # the writes below each take the write lock afresh (write_now)
    for job in running:
        progress = progress_of(job)
        started = job.started_at.timestamp() if job.started_at else 0
        if (now - (progress.get("beat") or started) < stale_after or _worker_alive_here(progress)
                or (not progress and _heartbeat_unreadable(job))):
            continue
        found += 1
        if job.attempts < ATTEMPTS:
            moved = write_now(sess, update(Job).where(Job.id == job.id, Job.state == "running").values(state="queued"))
            if moved.rowcount:
                current_app.logger.warning("job %s (%s): its worker stopped; queued again", job.id, job.kind)
                _enqueue(job.id)
        else:
            write_now(sess, update(Job).where(Job.id == job.id, Job.state == "running")
                      .values(state="failed", finished_at=utcnow(), message=VANISHED + " Start it again."))
    _enqueue_lost()
    return found


LOST_AFTER = timedelta(minutes=1)


REQUEUE_BEHIND_OTHERS = 15 * 60  # seconds: how often a job still waiting behind others is put back anyway


def _enqueue_lost() -> None:
    """Jobs queued a while ago and still not started: their ids may have been lost (putting one on
    the queue failed, a Redis restarted without its data, Huey gave up retrying a claim). Put back:
    at once when the queue holds nothing (they cannot be waiting behind anything), otherwise every
    REQUEUE_BEHIND_OTHERS. An id on the queue twice still runs once (the claim)."""
    if current_app.config.get("JOBS_IMMEDIATE"):
        return
    sess = db.session()
    waiting = list(sess.scalars(select(Job.id).where(Job.state == "queued", Job.created_at < utcnow() - LOST_AFTER)
                                .order_by(Job.created_at).limit(100)))
    sess.commit()
    if not waiting:
        return
    try:
        empty = queue_of().pending_count() == 0
    except Exception:  # the queue cannot be reached: /readyz says so; nothing to put back now
        return
    now = time.time()
    for job_id in waiting:
        marker = read_json(files_root() / job_id / "queued.json") or {}
        if not empty and now - marker.get("at", 0) < REQUEUE_BEHIND_OTHERS:
            continue
        current_app.logger.warning("job %s: queued a while ago and not started; put on the queue again", job_id)
        _enqueue(job_id)


def _worker_alive_here(progress: dict) -> bool:
    """Whether the process that ran the job is on this machine and still there (a worker that is only
    slow to beat, its machine overloaded, is not taken for gone). On another machine: the heartbeat
    alone tells."""
    pid = progress.get("pid")
    if not pid or progress.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # there, another user's
    # The same pid may be a later process (a restarted container's worker is pid 1 again).
    started = progress.get("process_started")
    return started is None or _process_started(pid) in (None, started)


def _process_started(pid: int) -> Optional[str]:
    """When a process started, in clock ticks since boot (Linux /proc/<pid>/stat field 22), with the
    boot's id; None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"


def purge_files(now: Optional[datetime] = None) -> int:
    """Remove the files of jobs that ended more than JOB_KEEP_HOURS ago (and of jobs that are gone)."""
    now = now or datetime.now(timezone.utc)
    keep = timedelta(hours=current_app.config.get("JOB_KEEP_HOURS", 24))
    sess = db.session()
    removed = 0
    ended = {job_id for (job_id,) in sess.execute(
        select(Job.id).where(Job.state.in_(("done", "failed")), Job.finished_at < now - keep))}
    known = set(sess.scalars(select(Job.id)))
    for folder in files_root().iterdir():
        if not folder.is_dir() or folder.name == "imports":
            continue
        if folder.name in ended or folder.name not in known:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def work(app: Flask, threads: int) -> None:
    """The job worker: Huey's consumer with `threads` worker threads and the schedule; SIGTERM or
    Ctrl-C stops it after the jobs it runs (a SIGKILL leaves them to the sweep)."""
    with app.app_context():
        try:
            swept = sweep()
            if swept:
                app.logger.warning("%d job(s) left running by a stopped worker: queued again or failed", swept)
        finally:
            db.session.remove()
    huey_log = logging.getLogger("huey")
    huey_log.setLevel(logging.INFO)  # one line per job started and finished, on stderr beside the app's
    if not huey_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        huey_log.addHandler(handler)
    # SIGTERM (systemd, make run's Ctrl-C, a platform's stop) lets the running jobs finish, for up to
    # JOB_SHUTDOWN_SECONDS; then the process exits and the sweep finds what it cut off.
    consumer = queue_of(app).create_consumer(workers=threads, worker_type="thread", periodic=True,
                                             initial_delay=0.1, backoff=1.15, max_delay=1.0, graceful_signal="TERM",
                                             shutdown_timeout=app.config["JOB_SHUTDOWN_SECONDS"])
    consumer.run()
