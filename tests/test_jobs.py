"""Jobs (register/jobs): a large download is built by the worker and its file is the one the web would
have sent; a job queued twice runs once; a job whose worker stopped is queued again once, then failed,
and its import says so; the daily work is submitted once a day; and, with the real server and a real
worker as separate processes, an import survives its worker being killed mid-apply and an export
comes back through the queue (SQLite with its file queue; PostgreSQL with Redis when CI has them)."""

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select, text

from helpers import PG_SCHEMA, free_port, generated_register, login, post_form
from bench.generate import Scale
from register import create_app
from register.jobs import queue as jobs
from register.exports.auditor import write_auditor_workbook
from register.extensions import db
from register.jobs.schedule import daily_jobs
from register.models import AssessmentRun, Job, Party, Role, TransferRoute

PROJECT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def _sheet_values(content: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    # The summary says who asked and when: the rest must be the same.
    return {sheet.title: [row for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets
            if sheet.title != "Summary"}


@pytest.mark.parametrize("app_config", [{"DIRECT_DOWNLOAD_MAX_ROWS": 0}])
def test_a_large_download_is_built_by_the_worker_and_is_the_file_the_web_sends(app, demo_register, logged_in, make_user,
                                                                               app_config):
    auditor = logged_in(Role.AUDITOR)
    asked = auditor.get("/exports/register.xlsx?regime=EU")
    assert asked.status_code == 302 and "/jobs/" in asked.headers["Location"]
    page = auditor.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Ready: transfer-register-" in page
    job = db.session.scalar(select(Job).where(Job.kind == "download"))
    built = auditor.get(f"/jobs/{job.id}/download")
    assert built.status_code == 200 and built.headers["Content-Disposition"].startswith("attachment")
    app.config["DIRECT_DOWNLOAD_MAX_ROWS"] = 10_000
    direct = auditor.get("/exports/register.xlsx?regime=EU")
    assert direct.status_code == 200
    assert _sheet_values(built.data) == _sheet_values(direct.data)
    # Someone else's job is not there for another user; an admin sees every job.
    for role, seen in ((Role.EDITOR, 404), (Role.ADMIN, 200)):
        other = app.test_client()
        user, password = make_user(role)
        login(other, user.email, password)
        assert other.get(f"/jobs/{job.id}/download").status_code == seen


@pytest.fixture
def queued(tmp_path):
    """A real queue (SQLite file, or Redis in CI) that no worker reads: the test runs its tasks."""
    config = {"JOBS_IMMEDIATE": False, "JOBS_SQLITE_FILE": str(tmp_path / "queue.sqlite"),
              "JOBS_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}", "JOBS_REDIS_URL": REDIS_URL}
    return config


def _run_queued(app) -> int:
    """Run what is on the queue, as a worker thread would; returns how many tasks it took."""
    queue = jobs.queue_of(app)
    ran = 0
    while (task := queue.dequeue()) is not None:
        queue.execute(task)
        ran += 1
    return ran


RAN: list[str] = []


@jobs.kind("test_count")
def _counted(job, _progress, _folder) -> dict:
    """A kind that only counts its runs (a test's)."""
    RAN.append(job.id)
    return {"runs": RAN.count(job.id)}


def test_a_job_queued_twice_runs_once(app, queued):
    app.config.update(queued)
    jobs.make_queue(app)
    first = jobs.submit("test_count", "Counted", {}, dedup_key="count:test")
    again = jobs.submit("test_count", "Counted", {}, dedup_key="count:test")
    assert again.id == first.id  # asked twice while queued: one job
    jobs._enqueue(first.id)  # and its id on the queue twice
    assert _run_queued(app) == 2
    db.session.rollback()
    assert RAN.count(first.id) == 1
    assert db.session.get(Job, first.id).state == "done" and db.session.get(Job, first.id).result == {"runs": 1}
    jobs.queue_of(app).flush()


def test_a_job_whose_worker_stopped_is_queued_again_once_then_failed_and_its_import_says_so(
        app, logged_in, queued, tmp_path):

    app.config.update({**queued, "JOB_STALE_SECONDS": 5})
    jobs.make_queue(app)
    client = logged_in(Role.EDITOR)
    book = tmp_path / "register.xlsx"
    with open(book, "wb") as target:
        write_auditor_workbook(target, date.today(), None, "test", {})
    uploaded = post_form(client, "/imports", {"spreadsheet": (open(book, "rb"), "register.xlsx")}, form_path="/imports",
                         content_type="multipart/form-data")
    token = uploaded.headers["Location"].rsplit("/", 1)[1]
    job = db.session.scalar(select(Job).where(Job.kind == "import"))
    assert client.get(f"/imports/{token}/status").get_json()["stage"] == "Waiting for the job worker"

    def stopped_mid_job(attempts: int) -> None:
        """As a worker killed mid-job leaves it: claimed, its heartbeat a minute old."""
        jobs.queue_of(app).flush()
        db.session.execute(text("UPDATE jobs SET state = 'running', attempts = :n WHERE id = :id"), {"n": attempts, "id": job.id})
        db.session.commit()
        jobs.write_json(jobs.folder_of(job) / "progress.json",
                        {"stage": "Checking Transfer routes", "done": 10, "total": 100, "beat": time.time() - 60})

    stopped_mid_job(1)
    assert client.get(f"/imports/{token}/status").get_json()["state"] == "running"  # queued again by the sweep
    db.session.rollback()
    assert db.session.get(Job, job.id).state == "queued" and jobs.queue_of(app).pending_count() == 1
    stopped_mid_job(2)
    status = client.get(f"/imports/{token}/status").get_json()
    assert status["state"] == "failed" and "job worker stopped while this job ran" in status["message"]
    page = client.get(f"/imports/{token}").get_data(as_text=True)
    assert "job worker stopped while this job ran" in page and "upload the file again" in page
    # Nothing ran twice and nothing was written: the register is as it was.
    assert db.session.scalar(select(func.count()).select_from(Party)) == 0


def test_a_queued_job_whose_id_the_queue_lost_is_put_back_and_runs_once(app, queued):
    app.config.update(queued)
    jobs.make_queue(app)
    job = jobs.submit("test_count", "Counted", {}, dedup_key="count:lost")
    queue = jobs.queue_of(app)
    queue.flush()  # as a Redis restarted without its data leaves it
    jobs.sweep()
    assert queue.pending_count() == 0  # queued a moment ago: not yet taken for lost
    db.session.execute(text("UPDATE jobs SET created_at = :then WHERE id = :id"),
                       {"then": datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5), "id": job.id})
    db.session.commit()
    jobs.sweep()
    assert queue.pending_count() == 1
    jobs.sweep()
    assert queue.pending_count() == 1  # the queue holds it: not put back twice
    assert _run_queued(app) == 1
    db.session.rollback()
    assert db.session.get(Job, job.id).state == "done" and RAN.count(job.id) == 1


def test_the_daily_work_is_submitted_once_a_day(app, queued):
    app.config.update(queued)
    jobs.make_queue(app)
    first = daily_jobs()
    assert sorted(job.kind for job in first) == ["assess", "check", "purge", "remind"]
    assert {job.id for job in daily_jobs()} == {job.id for job in first}  # asked again while queued: the same jobs
    _run_queued(app)
    db.session.rollback()
    assert daily_jobs() == []  # done today: nothing more until tomorrow
    check = db.session.scalar(select(Job).where(Job.kind == "check"))
    assert check.state == "done" and check.result["on"] == date.today().isoformat()
    jobs.queue_of(app).flush()


def test_the_dashboard_says_whose_verdicts_it_shows_while_the_worker_reassesses(app, logged_in, queued):
    from register.assessments import refresh_all

    app.config.update(queued)
    jobs.make_queue(app)
    yesterday = date.today() - timedelta(days=1)
    refresh_all(db.session(), yesterday)
    db.session.commit()
    auditor = logged_in(Role.AUDITOR)
    page = auditor.get("/dashboard").get_data(as_text=True)
    assert f"These figures are the verdicts stored on {yesterday}" in page
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AssessmentRun)) == 1  # the request did not reassess
    assert db.session.scalar(select(Job.state).where(Job.kind == "assess")) == "queued"
    _run_queued(app)
    page = auditor.get("/dashboard").get_data(as_text=True)
    assert "These figures are the verdicts stored" not in page and "Register health today" in page


def test_readiness_checks_the_job_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))

    def readiness(**config):
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'register.sqlite'}", "TESTING": True,
                          "JOBS_IMMEDIATE": False, "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://", **config})
        with app.app_context():
            answer = app.test_client().get("/readyz")
            db.engine.dispose()
        return answer

    on_file = readiness(JOBS_SQLITE_FILE=str(tmp_path / "queue.sqlite"), JOBS_REDIS_URL="")
    assert on_file.status_code == 200 and on_file.get_json()["checks"]["job_queue"] == {"status": "ok"}
    gone = readiness(JOBS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert gone.status_code == 503
    assert gone.get_json()["checks"]["job_queue"] == {"status": "failed", "problems": ["Redis does not answer: ConnectionError"]}


# --- the real server and a real worker -------------------------------------------------------------


BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql-redis", marks=pytest.mark.skipif(
                not (os.environ.get("TEST_DATABASE_URL") and REDIS_URL), reason="needs TEST_DATABASE_URL and TEST_REDIS_URL"))]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_import_survives_its_worker_killed_mid_apply_and_an_export_comes_back(tmp_path, backend):
    requests = pytest.importorskip("requests")
    with generated_register(tmp_path / "source", Scale("jobs", group_entities=10, third_parties=120, routes=1_500),
                            date.today()) as (source, _report):
        book = tmp_path / "register.xlsx"
        with open(book, "wb") as target:
            write_auditor_workbook(target, date.today(), None, "test", {})
        expected_routes = db.session.scalar(select(func.count()).select_from(TransferRoute))

    bin_dir = Path(sys.executable).parent
    port = free_port()
    env = {**os.environ, "PORT": str(port), "REGISTER_INSTANCE_PATH": str(tmp_path / "instance"), "FLASK_APP": "app",
           "WEB_WORKERS": "2", "WEB_THREADS": "2", "JOB_STALE_SECONDS": "4", "DIRECT_DOWNLOAD_MAX_ROWS": "100",
           "JOBS_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}"}
    for name in ("LOG_FORMAT", "REDIS_URL", "JOBS_REDIS_URL", "JOBS_IMMEDIATE"):
        env.pop(name, None)
    schema = f"{PG_SCHEMA}_jobs"
    if backend == "postgresql":
        admin = create_engine(os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        env["DATABASE_URL"] = f"{os.environ['TEST_DATABASE_URL']}?options=-csearch_path%3D{schema}"
        env["REDIS_URL"] = REDIS_URL
        database = create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'register.sqlite'}"
        database = create_engine(env["DATABASE_URL"])
    for command in (["db", "upgrade"], ["create-user", "ops@example.org", "--role", "editor", "--password", "correct horse battery staple"]):
        subprocess.run([str(bin_dir / "flask"), *command], cwd=PROJECT, env=env, check=True, capture_output=True, timeout=120)
    logs = tmp_path / "logs"
    logs.mkdir()
    started: list[subprocess.Popen] = []

    def start(name: str, command: list[str]) -> subprocess.Popen:
        with open(logs / f"{name}-{len(started)}.log", "wb") as stderr:
            process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=stderr, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    def log_text() -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in sorted(logs.iterdir()))

    def wait_for(what, seconds: float = 120):
        deadline = time.monotonic() + seconds
        while True:
            found = what()
            if found:
                return found
            assert time.monotonic() < deadline, log_text()
            time.sleep(0.2)

    def routes_in_register() -> int:
        with database.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM transfer_routes")).scalar()

    base = f"http://127.0.0.1:{port}"
    server = start("web", [str(bin_dir / "gunicorn"), "--config", "gunicorn.conf.py"])
    worker = start("worker", [str(bin_dir / "flask"), "worker"])
    try:
        def up():
            try:
                return requests.get(f"{base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up)
        browser = requests.Session()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(f"{base}/login", timeout=30).text).group(1)
        assert browser.post(f"{base}/login", data={"csrf_token": token, "email": "ops@example.org",
                                                   "password": "correct horse battery staple"}, timeout=30).ok
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(f"{base}/imports", timeout=30).text).group(1)
        with open(book, "rb") as handle:
            uploaded = browser.post(f"{base}/imports", data={"csrf_token": token}, files={"spreadsheet": ("register.xlsx", handle)},
                                    allow_redirects=False, timeout=60)
        assert uploaded.status_code == 302, uploaded.text[:500]
        preview = urlparse(uploaded.headers["Location"]).path
        status = lambda: browser.get(f"{base}{preview}/status", timeout=30).json()  # noqa: E731
        wait_for(lambda: status()["state"] == "done", 300)
        page = browser.get(f"{base}{preview}", timeout=60).text
        digest = re.search(r'name="digest"[^>]*value="([^"]+)"', page).group(1)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        assert browser.post(f"{base}{preview}/confirm", data={"csrf_token": token, "digest": digest},
                            allow_redirects=False, timeout=30).status_code == 302
        # Killed while it writes: nothing of the import is in the register, and the job is not "done".
        wait_for(lambda: (lambda now: now["state"] == "running" and now.get("done", 0) > 0)(status()), 300)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        assert routes_in_register() == 0
        assert status()["state"] == "running"
        worker = start("worker", [str(bin_dir / "flask"), "worker"])  # its sweep finds the job and runs it again
        wait_for(lambda: status()["state"] != "running", 300)
        assert status()["state"] == "done", log_text()
        assert routes_in_register() == expected_routes
        with database.connect() as connection:  # the apply ran twice: cut off, then whole
            assert connection.execute(text("SELECT max(attempts) FROM jobs WHERE kind = 'import'")).scalar() == 2

        # An export of more than DIRECT_DOWNLOAD_MAX_ROWS routes: its page at once, then the file.
        asked = browser.get(f"{base}/exports/register.xlsx", allow_redirects=False, timeout=10)
        assert asked.status_code == 302 and "/jobs/" in asked.headers["Location"]
        job_path = urlparse(asked.headers["Location"]).path
        ready = wait_for(lambda: browser.get(f"{base}{job_path}/status", timeout=30).json().get("download_url"), 300)
        built = browser.get(f"{base}{ready}", timeout=60)
        assert built.status_code == 200
        routes_sheet = next(sheet for sheet in load_workbook(io.BytesIO(built.content), read_only=True).worksheets
                            if sheet.title == "Transfer routes")
        assert sum(1 for row in routes_sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None) == expected_routes
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        database.dispose()
        if backend == "postgresql":
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
