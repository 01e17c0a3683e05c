"""The production server: `gunicorn --config gunicorn.conf.py` (what `make run`, the systemd unit and the
Procfile start). Every value can be set from the environment; the defaults suit the embedded SQLite.
"""

import os

wsgi_app = "app:app"

# 127.0.0.1 unless told otherwise: in production nginx (or another proxy with TLS) sits in front.
bind = [f"{os.environ.get('WEB_HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"]

# Processes x threads. SQLite lets one writer in at a time (WAL: readers never wait), so more
# processes buy reads, not writes: 2 x 4 serves 8 requests at once on 2 cores. With PostgreSQL, raise
# WEB_WORKERS to about the number of cores.
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Each worker builds its own app and database connections after the fork (no connection crosses it).
preload_app = False

# With threaded workers this is not a limit on one request: the worker's main loop answers the
# heartbeat while its threads work, so only a worker that is stuck whole (a C extension holding the
# interpreter) is killed and replaced after it. The register's longest pages still run in the request
# today (the auditor workbook of a 100,000-route register took 43-158 s), so the proxy in front must
# wait for them (deploy/nginx.conf: proxy_read_timeout 300s).
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
# A restart (SIGHUP, a deploy) lets requests in flight finish for this long: an import being applied
# holds the register for up to a minute.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "75"))
# Behind nginx the connection is reused between requests; a little longer than gunicorn's 2 s.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# The heartbeat files in memory, not on a disk that may stall (gunicorn's advice for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn's own messages (start, workers, errors) on stderr; no access log of its own: the register
# writes one JSON line per request itself, with the user and the request id (register/request_log.py).
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
accesslog = None
os.environ.setdefault("LOG_FORMAT", "json")
proc_name = "transfer-register"
# gunicorn's control socket (gunicornc) would sit in $HOME, one path for every gunicorn of the user:
# off unless WEB_CONTROL_SOCKET names a path of this register's own.
control_socket_disable = not os.environ.get("WEB_CONTROL_SOCKET")
if os.environ.get("WEB_CONTROL_SOCKET"):
    control_socket = os.environ["WEB_CONTROL_SOCKET"]
