"""Gunicorn settings for Keloa in production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (names below), so the Dockerfile, the systemd
unit and a bare `gunicorn` command line all start the same server.
"""
from __future__ import annotations

import multiprocessing
import os
import sys


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


# Behind nginx, listen on loopback only; in a container, KELOA_BIND=0.0.0.0:8000.
bind = os.environ.get("KELOA_BIND", "127.0.0.1:8000").split(",")

# Requests are short (pages, htmx partials, a webhook that stores its body): CPU-bound work is
# small and waits are on SQLite/PostgreSQL and Redis, so a few threads per process go further
# than many processes. Slow work (Graph calls, media, AI) runs in worker.py, never here.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))
# Plus one thread per live stream a process may hold (LIVE_STREAMS_PER_PROCESS, keloa_web/live/):
# a stream waits on a condition, and beyond that many the stream answers 503 and the tab polls, so
# open tabs never take the KELOA_THREADS that pages and Meta's webhooks need.
threads = _int("KELOA_THREADS", 4) + _int("LIVE_STREAMS_PER_PROCESS", 25)
worker_class = "gthread"

# Meta wants the webhook answered within 5 s; nothing in the web process should come close to 30.
timeout = _int("KELOA_TIMEOUT", 30)
graceful_timeout = _int("KELOA_GRACEFUL_TIMEOUT", 30)
keepalive = _int("KELOA_KEEPALIVE", 5)
# Recycle processes now and then so that a slow leak never becomes an outage.
max_requests = _int("KELOA_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10

# Build the app once in the master: a bad setting (KELOA_ENV=production refuses unsafe ones) stops
# the start with one clear message instead of workers crash-looping. post_fork drops connections
# inherited from the master.
preload_app = True

# The heartbeat file lives in memory: /tmp on a container's overlay filesystem can stall workers.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Only a proxy on these addresses may set X-Forwarded-Proto (and so mark requests as https).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr (journald or `docker logs` keep them). The access log has the path
# WITHOUT its query string and no Referer: query strings carry OAuth codes, `state` and Meta's
# hub.verify_token, and a referer can repeat them. Its logger also writes invitation and signed
# media links as /invite/[redacted] and /m/[redacted] (keloa_web/access_log.py).
logger_class = "keloa_web.access_log.AccessLogger"
accesslog = os.environ.get("KELOA_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("KELOA_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'


def post_fork(server, worker):
    """Each worker process opens its own database and Redis connections."""
    from keloa_web.db import db

    if db.engine is not None:
        db.engine.dispose(close=False)
    wsgi = sys.modules.get("wsgi")  # imported by the master under preload_app
    for flask_app in getattr(wsgi, "apps", ()):
        flask_app.extensions.pop("keloa_redis", None)


def when_ready(server):
    """After the app is loaded in the master and before workers fork: move everything loaded so far
    out of the garbage collector's sight. Workers share those pages copy-on-write (a collection
    would touch and copy them) and no collection walks Keloa's ~100,000 start-up objects again
    (measured: a full collection of them takes ~50 ms)."""
    import gc

    gc.freeze()
