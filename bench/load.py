"""Under load: the production server (gunicorn, as `make run` starts it) with 20 logged-in readers on the
routes list and the dashboard while 2 clients write, against the same 20 readers on a trivial logged-in
page (issue #19: p95 <= 2x, 0 errors, 0 lost writes). Real HTTP over loopback, one keep-alive
connection per client thread; the server runs in processes of its own on the bench's database.
"""

import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from register import services
from register.audit import Actor
from register.extensions import db
from register.models import AuditEvent, AuditSource, Role, ThirdParty, TransferRoute

from .harness import CSRF_FIELD, Bench
from .measures import Outcome, measure

READERS = 20
WRITERS = 2
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "12"))
LOAD_P95_TARGET_RATIO = 2.0
PAGES = ["/routes/?regime=EU&status=active&sort=destination", "/dashboard"]
TRIVIAL_PAGE = "/account/password"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with the project's gunicorn.conf.py, on a free port, on the bench's database."""

    def __init__(self, bench: Bench):
        self.port = _free_port()
        self.log = bench.workdir / "gunicorn.log"
        env = {**os.environ, "PORT": str(self.port), "DATABASE_URL": bench.url, "LOG_FORMAT": "json",
               "REGISTER_INSTANCE_PATH": bench.app.instance_path, "SECRET_KEY": bench.app.config["SECRET_KEY"],
               # The writers' token would meet the API's rate limit, which is what it is for, not what this
               # measures; the readers log in once and share a session, so the login limits stay as they are.
               "API_RATE_LIMIT": "1000000 per minute"}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")],
                                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Worker:
    """The job worker (`flask worker`) on the bench's database, its queue and files in the bench's
    instance folder (the app's defaults, so the bench's app and the worker share them)."""

    def __init__(self, bench: Bench):
        self.log = bench.workdir / "worker.log"
        env = {**os.environ, "DATABASE_URL": bench.url, "REGISTER_INSTANCE_PATH": bench.app.instance_path,
               "SECRET_KEY": bench.app.config["SECRET_KEY"], "FLASK_APP": "app"}
        for name in ("REDIS_URL", "JOBS_REDIS_URL", "JOBS_IMMEDIATE"):
            env.pop(name, None)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def idle(self, bench: Bench, seconds: float = 300) -> None:
        """Wait until the worker has started and has no job queued or running (its first minute submits
        the day's check and purge)."""
        from register.models import Job

        deadline = time.monotonic() + seconds
        time.sleep(2)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited: {self.log.read_text()[-2000:]}")
            with bench.app.app_context():
                busy = db.session.scalar(select(func.count()).select_from(Job).where(Job.state.in_(("queued", "running"))))
                checked = db.session.scalar(select(func.count()).select_from(Job).where(
                    Job.kind == "check", Job.state.in_(("done", "failed"))))
                db.session.remove()
            if not busy and checked:
                return
            time.sleep(0.5)
        raise RuntimeError("the worker did not become idle")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Client:
    """One keep-alive connection with a session cookie."""

    def __init__(self, port: int, cookie: str = ""):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = cookie

    def request(self, method: str, path: str, body: str = "", headers: dict = None) -> tuple[int, str, http.client.HTTPResponse]:
        headers = {**(headers or {}), **({"Cookie": self.cookie} if self.cookie else {})}
        self.connection.request(method, path, body=body or None, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, text, response

    def log_in(self, email: str, password: str) -> None:
        _status, page, response = self.request("GET", "/login")
        self.cookie = _cookie(response) or self.cookie
        token = CSRF_FIELD.search(page).group(1)
        status, _text, response = self.request("POST", "/login", urlencode({"csrf_token": token, "email": email, "password": password}),
                                               {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"log in answered {status}")
        self.cookie = _cookie(response) or self.cookie


def _cookie(response: http.client.HTTPResponse) -> str:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def _users(bench: Bench) -> tuple[tuple[str, str], str, list[int]]:
    """A reader's login, a writer's API token and the vendors the writers edit (one each, no route)."""
    import secrets

    from register.api import make_token
    from register.users import create_user

    password = secrets.token_urlsafe(18)
    with bench.app.app_context():
        with services.write_unit(Actor(AuditSource.CLI, label="bench")):
            create_user("bench-load-reader@example.com", "Bench load reader", Role.AUDITOR, password)
            writer = create_user("bench-load-writer@example.com", "Bench load writer", Role.EDITOR, secrets.token_urlsafe(18))
            secret, _token = make_token(writer, "bench load")
        routed = select(TransferRoute.importer_id)
        vendors = db.session.scalars(select(ThirdParty.id).where(ThirdParty.id.not_in(routed)).order_by(ThirdParty.id)
                                     .limit(WRITERS)).all()
        db.session.remove()
    return ("bench-load-reader@example.com", password), secret, list(vendors)


def _read(port: int, cookie: str, paths: list[str], until: float, samples: list, errors: list) -> None:
    client = Client(port, cookie)
    number = 0
    while time.monotonic() < until:
        path = paths[number % len(paths)]
        number += 1
        started = time.perf_counter()
        try:
            status, _text, _response = client.request("GET", path)
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{path}: {error}")
            client = Client(port, cookie)
            continue
        samples.append(time.perf_counter() - started)
        if status != 200:
            errors.append(f"{path}: {status}")


def _write(port: int, secret: str, vendor_id: int, until: float, done: list, errors: list) -> None:
    import json

    client = Client(port)
    auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    number = 0
    while time.monotonic() < until:
        status, text, _response = client.request("GET", f"/api/v1/third-parties/{vendor_id}", headers=auth)
        if status != 200:
            errors.append(f"read vendor {vendor_id}: {status}")
            continue
        version = json.loads(text)["data"]["version"]
        number += 1
        status, text, _response = client.request("PATCH", f"/api/v1/third-parties/{vendor_id}",
                                                 json.dumps({"notes": f"load write {number}"}), {**auth, "If-Match": str(version)})
        if status == 200:
            done.append(vendor_id)
        else:
            errors.append(f"write vendor {vendor_id}: {status} {text[:200]}")


def _phase(port: int, cookie: str, paths: list[str], secret: str = "", vendors: tuple = ()) -> dict:
    samples, errors, writes = [], [], []
    until = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_read, args=(port, cookie, paths, until, samples, errors)) for _ in range(READERS)]
    threads += [threading.Thread(target=_write, args=(port, secret, vendor, until, writes, errors)) for vendor in vendors]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(samples)
    return {"requests": len(samples), "per_second": len(samples) / elapsed, "errors": errors, "writes": writes,
            "median_ms": statistics.median(ordered) * 1000 if ordered else 0,
            "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000 if ordered else 0}


@measure(f"under load: {READERS} readers (routes list, dashboard) + {WRITERS} writers on gunicorn vs {READERS} readers "
         "of a trivial logged-in page", f"p95 <= {LOAD_P95_TARGET_RATIO:.0f}x; 0 errors; 0 lost writes")
def under_load(bench: Bench) -> Outcome:
    bench.register()
    bench.assessed_today()  # as the job worker leaves the register just after midnight
    (email, password), secret, vendors = _users(bench)
    with bench.app.app_context():
        audited_before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                           .where(AuditEvent.record_type == "parties", AuditEvent.record_id.in_(vendors)))
        db.session.remove()
    server = Server(bench)
    try:
        reader = Client(server.port)
        reader.log_in(email, password)
        for path in [*PAGES, TRIVIAL_PAGE]:  # the first visit of each page warms its worker's caches
            reader.request("GET", path)
        trivial = _phase(server.port, reader.cookie, [TRIVIAL_PAGE])
        loaded = _phase(server.port, reader.cookie, PAGES, secret, tuple(vendors))
    finally:
        server.stop()
    with bench.app.app_context():
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.record_type == "parties", AuditEvent.record_id.in_(vendors)))
        db.session.remove()
    lost = len(loaded["writes"]) - (audited - audited_before)
    errors = trivial["errors"] + loaded["errors"]
    ratio = loaded["p95_ms"] / trivial["p95_ms"] if trivial["p95_ms"] else float("inf")
    passed = ratio <= LOAD_P95_TARGET_RATIO and not errors and lost == 0
    lines = [
        f"loaded: {loaded['requests']:,} reads in {SECONDS:.0f} s ({loaded['per_second']:.0f}/s), median {loaded['median_ms']:.0f} ms, "
        f"p95 {loaded['p95_ms']:.0f} ms; {len(loaded['writes'])} writes saved, {lost} lost",
        f"trivial: {trivial['requests']:,} reads ({trivial['per_second']:.0f}/s), median {trivial['median_ms']:.0f} ms, "
        f"p95 {trivial['p95_ms']:.0f} ms; throughput ratio {trivial['per_second'] / max(loaded['per_second'], 1e-9):.1f}x",
        f"gunicorn {os.environ.get('WEB_WORKERS', '2')} workers x {os.environ.get('WEB_THREADS', '4')} threads; "
        f"{len(errors)} errors{': ' + '; '.join(errors[:5]) if errors else ''}",
    ]
    return Outcome(ratio, "x", passed, "\n".join(lines))
