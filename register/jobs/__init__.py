"""Jobs (see queue.py): the queue and a job's life in queue.py, what each kind does in kinds.py, the
pages in views.py, the daily work in schedule.py."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import kinds  # noqa: F401  (registers the job kinds)
    from .queue import make_queue
    from .schedule import add_periodic_tasks
    from .views import bp

    queue = make_queue(app)
    add_periodic_tasks(app, queue)
    app.register_blueprint(bp)

    from .. import mail
    from ..extensions import db

    if app.config["MAIL_SECURITY"] not in ("starttls", "ssl", "none"):
        raise RuntimeError(f"MAIL_SECURITY must be starttls, ssl or none, not {app.config['MAIL_SECURITY']!r}")

    @queue.task(name="send_mail")
    def send_mail() -> None:
        """Send what the outbox holds that is due (after a commit that added mail; every minute)."""
        with app.app_context():
            try:
                mail.send_due()
            finally:
                db.session.remove()

    app.extensions["mail.send"] = send_mail
