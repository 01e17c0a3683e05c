"""Scheduled work, as periodic tasks of the job queue (run by `flask worker`; no cron):

- just after midnight: the whole-register reassessment, then the check (its findings kept for the
  dashboard) and the purge;
- every minute: the sweep of running jobs whose worker stopped, today's daily jobs if they have not
  run (the worker was down at midnight, or the law file changed), and the mail that is due (retries).

Each is an ordinary job (a row, a dedup key per day), so it shows on the jobs page, and two workers
(or a worker started twice) still run it once a day.
"""

from datetime import date

from flask import Flask, current_app
from huey import Huey, crontab
from sqlalchemy import select

from ..extensions import db
from ..models import Job


def daily_jobs(today: date | None = None) -> list[Job]:
    """Today's assessment (under today's law file), check and purge: each submitted once a day. One
    that failed is not submitted again by the schedule (its page and the log say why; the next day's
    runs); the dashboard asks for the assessment again when it finds it missing."""
    from ..assessments import assessment_key, is_fresh
    from .queue import submit

    today = today or date.today()
    wanted = [("check", "Daily check", f"check:{today}"), ("purge", "Daily purge", f"purge:{today}"),
              ("remind", "Daily reminders", f"remind:{today}")]
    if not is_fresh(today):
        wanted.insert(0, ("assess", "Daily assessment", assessment_key(today)))
    submitted = []
    for name, label, key in wanted:
        asked = db.session.scalar(select(Job.id).where(Job.dedup_key == key, Job.state.in_(("done", "failed"))).limit(1))
        if asked is None:
            submitted.append(submit(name, f"{label}, {today}", {"on": today.isoformat()}, dedup_key=key))
    return submitted


def add_periodic_tasks(app: Flask, queue: Huey) -> None:
    if app.config.get("JOBS_IMMEDIATE"):
        return  # nobody runs a schedule: the pages submit today's assessment when they need it

    @queue.periodic_task(crontab(minute="*"), name="every_minute")
    def every_minute() -> None:
        with app.app_context():
            from .queue import sweep

            try:
                sweep()
                daily_jobs()
                from ..subscriptions import send_updates

                send_updates()  # the list's subscribers: each change, or the day's digest
                app.extensions["mail.send"]()  # retries that are due
            except Exception:
                current_app.logger.exception("the scheduled jobs could not be submitted")
            finally:
                db.session.remove()
