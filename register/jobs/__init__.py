"""Jobs (see queue.py): the queue and a job's life in queue.py, what each kind does in kinds.py, the
pages in views.py, the daily work in schedule.py."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import kinds  # noqa: F401  (registers the job kinds)
    from .queue import make_queue
    from .schedule import add_periodic_tasks
    from .views import bp

    add_periodic_tasks(app, make_queue(app))
    app.register_blueprint(bp)
