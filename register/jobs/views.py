"""Job pages: a job's progress and, when it is done, its file; the list of recent jobs (admins see
every job, with the scheduled ones; others their own). A download that is built by the worker
(`built_by_worker`) answers at once with its job's page."""

from functools import wraps
from typing import Callable

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from ..extensions import db
from ..models import Job
from .queue import IN_JOB, download_path, progress_of, retry, submit, sweep

bp = Blueprint("jobs", __name__)
NOT_RESTARTED = ("import", "assess", "check", "purge", "remind")  # restarted from their own page, or by the schedule
SHOWN = 100


class RetryForm(FlaskForm):
    pass


def built_by_worker(label: str, rows: Callable[[], int], when: Callable[[], bool] = lambda: True):
    """A download view, built by the job worker when it covers more than DIRECT_DOWNLOAD_MAX_ROWS
    rows (`rows()` says how many, cheaply): the user gets the job's page (progress, then the file)
    instead of a request that runs for minutes. Smaller downloads, and the view re-run in the worker,
    answer directly. Apply it under the view's login and role checks."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if (request.environ.get(IN_JOB) or not when()
                    or rows() <= current_app.config["DIRECT_DOWNLOAD_MAX_ROWS"]):
                return view(*args, **kwargs)
            query = request.query_string.decode("utf-8", "replace")
            job = submit("download", label, {"path": request.path, "query": query, "base_url": request.host_url},
                         user_id=current_user.id, dedup_key=f"download:{current_user.id}:{request.path}?{query}")
            return redirect(url_for("jobs.show", job_id=job.id))
        return wrapper
    return decorate


def routes_in_register() -> int:
    """How many routes a register download covers at most (its size, for `built_by_worker`)."""
    from ..models import TransferRoute

    return db.session.scalar(select(func.count()).select_from(TransferRoute)) or 0


def events_in_trail() -> int:
    """An upper bound of the audit log's rows (the newest event's id: no count over the trail)."""
    from ..models import AuditEvent

    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _visible(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not (current_user.is_admin or job.user_id == current_user.id):
        abort(404, description="No such job: it may have been asked for by someone else, or removed.")
    return job


def status_of(job: Job) -> dict:
    """The job as its page and its poller show it."""
    progress = progress_of(job) if job.state == "running" else {}
    shown = {"state": "running" if job.state in ("queued", "running") else job.state, "job_state": job.state,
             "stage": progress.get("stage") or ("Waiting for the job worker" if job.state == "queued" else None),
             "done": progress.get("done") or 0, "total": progress.get("total"), "message": job.message}
    if job.state == "done" and download_path(job):
        shown["download_url"] = url_for("jobs.download", job_id=job.id)
    return shown


@bp.route("/jobs")
@login_required
def index():
    sweep()
    query = select(Job).order_by(Job.created_at.desc()).limit(SHOWN)
    if not current_user.is_admin:
        query = query.where(Job.user_id == current_user.id)
    jobs = db.session.scalars(query).all()
    counts = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all()) if current_user.is_admin else {}
    return render_template("jobs/index.html", jobs=jobs, counts=counts)


@bp.route("/jobs/<job_id>")
@login_required
def show(job_id: str):
    sweep()
    job = _visible(job_id)
    queued_for = None
    if job.state == "queued":
        from ..models import utcnow

        queued_for = (utcnow() - job.created_at).total_seconds()
    return render_template("jobs/show.html", job=job, status=status_of(job), form=RetryForm(), queued_for=queued_for,
                           download=download_path(job) is not None, restartable=job.kind not in NOT_RESTARTED)


@bp.route("/jobs/<job_id>/status")
@login_required
def status(job_id: str):
    sweep()
    return jsonify(status_of(_visible(job_id)))


@bp.route("/jobs/<job_id>/download")
@login_required
def download(job_id: str):
    job = _visible(job_id)
    path = download_path(job)
    if path is None:
        abort(404, description="This file is not kept any more (finished downloads are kept "
                               f"{current_app.config['JOB_KEEP_HOURS']} hours): ask for it again.")
    return send_file(path, mimetype=job.result.get("mimetype"), as_attachment=True, download_name=job.result.get("name"))


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
@login_required
def again(job_id: str):
    job = _visible(job_id)
    if not RetryForm().validate_on_submit():
        abort(400, description="The form expired: reload the page and try again.")
    if job.state != "failed" or job.kind in NOT_RESTARTED:
        abort(400, description="Only a failed download can be started again (an import: from its preview; the "
                               "daily work: by the schedule).")
    return redirect(url_for("jobs.show", job_id=retry(job).id))
