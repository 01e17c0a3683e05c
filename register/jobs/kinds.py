"""What the worker can do: each kind takes the job, a progress callback and the job's folder, and
returns its result (JSON) or raises JobFailed with the message its user reads."""

import os
from datetime import date
from pathlib import Path

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header

from ..audit import Actor
from ..extensions import db
from ..models import AuditSource, Job, User
from .queue import IN_JOB, JobFailed, Progress, kind, write_json



@kind("import")
def run_import_job(job: Job, progress: Progress, _folder: Path) -> dict:
    """An upload checked (the preview) or applied (one transaction: all of it or nothing)."""
    from ..imports import jobs as uploads
    from ..imports.plan import run_import

    upload = uploads.folder_of(job.params["token"])
    meta = uploads.read_json(upload, "meta.json") if upload else None
    if meta is None:
        raise JobFailed("The uploaded file is no longer kept (uploads are kept 24 hours); upload it again.")
    user = db.session.get(User, job.user_id)
    actor = Actor(AuditSource.IMPORT, user=user, label=f"import {meta.get('filename', '')}"[:254])
    apply = bool(job.params.get("apply"))
    outcome = run_import(upload / meta["file"], meta["filename"], actor, dry_run=not apply, progress=progress,
                         expected_digest=job.params.get("expected_digest"))
    write_json(upload / "outcome.json", outcome.to_json())
    return {"applied": outcome.applied, "rows": len(outcome.rows)}


@kind("download")
def run_download_job(job: Job, progress: Progress, folder: Path) -> dict:
    """A download page asked for by a user, built here as the web would have built it (the same view,
    the same filters, as that user with the roles they have now), kept as a file in the job folder."""
    app = current_app._get_current_object()
    user = db.session.get(User, job.user_id) if job.user_id else None
    if user is None or not user.is_active:
        raise JobFailed("The account that asked for this download is no longer active.")
    progress("Building the file", 0, None)
    with app.test_request_context(job.params["path"], query_string=job.params.get("query", ""),
                                  environ_overrides={IN_JOB: job.id}, base_url=job.params.get("base_url")):
        g._login_user = user  # Flask-Login's current user for this request
        g.job_progress = progress
        adapter_rule = request.url_rule
        if adapter_rule is None:
            raise JobFailed("This download no longer exists.")
        try:
            response = app.make_response(app.view_functions[adapter_rule.endpoint](**(request.view_args or {})))
        except HTTPException as refused:
            raise JobFailed(refused.description or refused.name) from None
        if response.status_code != 200:
            raise JobFailed(f"The download was refused ({response.status_code}).")
        _options = parse_options_header(response.headers.get("Content-Disposition", ""))[1]
        name = _options.get("filename") or "download"
        temporary = folder / ".download.tmp"
        size = 0
        with open(temporary, "wb") as target:
            for chunk in response.iter_encoded():
                target.write(chunk)
                size += len(chunk)
        response.close()
        os.replace(temporary, folder / "download")  # whole, or not there
    return {"file": "download", "name": name, "mimetype": response.mimetype, "bytes": size}


@kind("assess")
def run_assessment(job: Job, progress: Progress, _folder: Path) -> dict:
    """The whole-register reassessment (daily, just after midnight; and after the law file changes)."""
    from ..assessments import refresh_fresh

    today = date.today()
    if job.params.get("on") and date.fromisoformat(job.params["on"]) != today:
        # A day's job run later (started again, or queued again after midnight): the stored verdicts are
        # today's, never a past day's.
        raise JobFailed(f"This assessment was for {job.params['on']}; the stored verdicts are always today's, and "
                        "today's assessment is a job of its own.")
    progress("Assessing every route", 0, None)
    run = refresh_fresh(db.session(), today)  # skipped if a page made it meanwhile
    return {"assessed_on": run.assessed_on.isoformat(), "routes": run.route_count, "seconds": run.seconds}


@kind("purge")
def run_purge(job: Job, progress: Progress, _folder: Path) -> dict:
    """Requesters' personal data past its date, and old job files."""
    from ..requests.operations import purge_due
    from .queue import purge_files

    progress("Erasing requesters' personal data past its date", 0, None)
    today = date.fromisoformat(job.params["on"]) if job.params.get("on") else date.today()
    from ..subscriptions import purge_unconfirmed

    purged = purge_due(today, Actor(AuditSource.CLI, label="scheduled purge"))
    return {"requests": list(purged), "job_folders": purge_files(), "unconfirmed_subscribers": purge_unconfirmed(today)}


@kind("remind")
def run_reminders(job: Job, progress: Progress, _folder: Path) -> dict:
    """Each user's reminders of the day (register/reminders.py), kept and mailed as they chose."""
    from ..reminders import run

    progress("Looking for what is due", 0, None)
    on = date.fromisoformat(job.params["on"]) if job.params.get("on") else date.today()
    return run(on)


@kind("check")
def run_check(job: Job, progress: Progress, _folder: Path) -> dict:
    """The daily check: how many live routes have a gap or need attention, kept for the dashboard."""
    from ..checks import findings

    progress("Checking every live route", 0, None)
    on = date.fromisoformat(job.params["on"]) if job.params.get("on") else date.today()
    return findings(on)
