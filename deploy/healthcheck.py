"""Container health checks.

    python deploy/healthcheck.py web      # GET /healthz on this container (database + Redis)
    python deploy/healthcheck.py worker   # this container's worker.py is registered in Redis

Exit status 0 means healthy. Uses only the standard library and the project's own modules.
"""
from __future__ import annotations

import os
import socket
import sys
import urllib.request


def web() -> int:
    port = os.environ.get("KELOA_BIND", "0.0.0.0:8000").split(",")[0].rsplit(":", 1)[-1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except OSError as exc:  # HTTPError (503 degraded) is an OSError too
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


def worker() -> int:
    import redis
    from rq import Worker

    conn = redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3, socket_timeout=3)
    mine = [w for w in Worker.all(connection=conn) if w.hostname == socket.gethostname()]
    if not mine:
        print("unhealthy: no worker of this host is registered in Redis", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    checks = {"web": web, "worker": worker}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        raise SystemExit("usage: healthcheck.py web|worker")
    raise SystemExit(checks[sys.argv[1]]())
