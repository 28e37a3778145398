"""What every benchmark needs: a result row, throwaway Keloa settings, processes on loopback."""
from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_lib
import requests

from keloa_web.processes import stop_process, wait_http

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

APP_ID, APP_SECRET, VERIFY_TOKEN = "bench-app-id", "bench-app-secret", "bench-verify-token"


@dataclass
class Row:
    """One line of the table: a figure, the baseline it is divided by, and the goal."""

    bench: str
    measure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    goal: str = ""
    ok: bool | None = None
    note: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


@dataclass
class Context:
    quick: bool
    postgres_url: str | None
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="keloa-bench-")))
    processes: list[subprocess.Popen] = field(default_factory=list)

    def cleanup(self) -> None:
        for proc in reversed(self.processes):
            stop(proc)
        self.processes.clear()
        shutil.rmtree(self.work, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(ctx: Context, args: list[str], env: dict, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                            start_new_session=True)
    ctx.processes.append(proc)
    return proc


stop = stop_process


def start_redis(ctx: Context) -> str:
    """A redis-server on a loopback TCP port, as in production (AOF on)."""
    from keloa_web.redis_server import find_redis_server

    port = free_port()
    data = ctx.work / f"redis-{port}"
    data.mkdir()
    spawn(ctx, [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                "--appendonly", "yes", "--save", "", "--daemonize", "no"], dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis_lib.Redis.from_url(url).ping():
                return url
        except redis_lib.RedisError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def migrate(url: str) -> None:
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, check=True,
                   env=dict(os.environ, DATABASE_URL=url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def keloa_env(ctx: Context, database_url: str, redis_url: str, **extra: str) -> dict:
    """Production settings (KELOA_ENV=production) for processes started by a benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KELOA_", "META_", "SANDBOX_"))}
    env.update({
        "KELOA_ENV": "production",
        "SECRET_KEY": "Q1tNISBGNijAdDsgDFDMQjssvYcQX8qOJS9K5e85GwAA1A5P",
        "KELOA_INSECURE_TEST_SETUP": "1",  # the benchmarks talk plain http to gunicorn and the sandbox
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "META_APP_ID": APP_ID, "META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "GRAPH_API_BASE": "http://127.0.0.1:9",
        "KELOA_INSTANCE_DIR": str(ctx.work / "instance"),
        "MEDIA_DIR": str(ctx.work / "media"),
        "KELOA_ACCESS_LOG": "",
        "KELOA_LOG_LEVEL": "warning",
    })
    env.update(extra)
    return env


def sqlite_url(ctx: Context, name: str) -> str:
    return f"sqlite:///{ctx.work / name}"


def fresh_postgres(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def has_route(rule: str) -> bool:
    """Whether Keloa on this checkout serves `rule` (areas land one by one)."""
    from keloa_web import create_app

    env_backup = dict(os.environ)
    os.environ.update({"KELOA_INSTANCE_DIR": tempfile.mkdtemp(prefix="keloa-bench-probe-"), "KELOA_ENV": "development",
                       "REDIS_URL": "redis://127.0.0.1:9/0"})
    try:
        app = create_app()
        return any(r.rule == rule for r in app.url_map.iter_rules())
    finally:
        os.environ.clear()
        os.environ.update(env_backup)


def has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


class Sandbox:
    """The Meta sandbox as its own process (rate limits as configured there)."""

    def __init__(self, ctx: Context, **settings: str) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, SANDBOX_APP_ID=APP_ID, SANDBOX_APP_SECRET=APP_SECRET, SANDBOX_VERIFY_TOKEN=VERIFY_TOKEN,
                   SANDBOX_PUBLIC_URL=self.base, **settings)
        proc = spawn(ctx, [sys.executable, "-m", "meta_sandbox", "--host", "127.0.0.1", "--port", str(port)], env,
                     ctx.work / "sandbox.log")
        wait_http(f"{self.base}/_sandbox/state", proc)

    def control(self, method: str, path: str, **kw):
        resp = requests.request(method, f"{self.base}/_sandbox/{path}", timeout=60, **kw)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def keloa_settings(self) -> dict:
        return {"GRAPH_API_BASE": self.base, "META_AUTHORIZE_URL": f"{self.base}/v25.0/dialog/oauth",
                "META_CDN_HOSTS": self.base.split("://", 1)[1]}


class InProcessApp:
    """Keloa's app object in this process with `env` as its settings (for setup and timing)."""

    def __init__(self, env: dict) -> None:
        self.env = env
        self._saved: dict | None = None

    def __enter__(self):
        self._saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        from keloa_web import create_app

        self.app = create_app()
        self._ctx = self.app.app_context()
        self._ctx.push()
        # As gunicorn.conf.py's when_ready does in production: what is loaded so far is kept out of
        # the collector's full passes, so a request is not timed with a walk over every module this
        # process imported for earlier benchmarks (measured: one full collection, ~65 ms, fell in the
        # thread's p95 or not depending on what ran before it).
        gc.collect()
        gc.freeze()
        return self.app

    def __exit__(self, *exc) -> None:
        from keloa_web.db import db

        gc.unfreeze()
        self._ctx.pop()
        db.engine.dispose()
        os.environ.clear()
        os.environ.update(self._saved or {})


def start_workers(ctx: Context, env: dict, count: int, queues: str = "webhooks,sends,ai,default",
                  sweeper: bool = False) -> list:
    extra = [] if sweeper else ["--no-periodic"]
    return [spawn(ctx, [sys.executable, "worker.py", "--queues", queues, *extra], env,
                  ctx.work / f"worker-{n}.log") for n in range(count)]


def serve_keloa(ctx: Context, env: dict, module: str = "wsgi:app") -> tuple[subprocess.Popen, str]:
    """gunicorn with gunicorn.conf.py (the production settings) on a free loopback port."""
    port = free_port()
    proc = spawn(ctx, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", module],
                 dict(env, KELOA_BIND=f"127.0.0.1:{port}"), ctx.work / f"gunicorn-{port}.log")
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", proc)
    return proc, base
