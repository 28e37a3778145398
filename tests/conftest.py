"""Shared fixtures: a real Redis, a migrated database per test, the app, signed-in clients,
real worker processes, Keloa served over HTTP, and the Meta sandbox as a real HTTP peer."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_lib
from jinja2 import BytecodeCache

from keloa_web.redis_server import EmbeddedRedis
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent

APP_SECRET = "test-app-secret"
APP_ID = "test-app-id"
IG_APP_ID = "test-ig-app-id"  # the app's Instagram product (Instagram Login)
IG_APP_SECRET = "test-ig-app-secret"
VERIFY_TOKEN = "test-verify-token"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server):
    redis_lib.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "keloa.db"
    helpers.migrate(f"sqlite:///{path}")
    return path


@pytest.fixture()
def settings(tmp_path, migrated_template, redis_url) -> dict:
    """Environment of one test's Keloa: used for the app and for every child process."""
    db_path = tmp_path / "keloa.db"
    shutil.copy(migrated_template, db_path)
    return {
        "KELOA_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{db_path}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "META_APP_ID": APP_ID,
        "META_APP_SECRET": APP_SECRET,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "GRAPH_API_BASE": "http://127.0.0.1:9",  # nothing listens: tests that need Graph use `sandbox`
        "META_AUTHORIZE_URL": "http://127.0.0.1:9/v25.0/dialog/oauth",
        "INSTAGRAM_APP_ID": IG_APP_ID,
        "INSTAGRAM_APP_SECRET": IG_APP_SECRET,
        "INSTAGRAM_AUTHORIZE_URL": "http://127.0.0.1:9/instagram/oauth/authorize",
        "INSTAGRAM_OAUTH_TOKEN_URL": "http://127.0.0.1:9/instagram/oauth/access_token",
        "INSTAGRAM_GRAPH_BASE": "http://127.0.0.1:9/instagram/graph",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "MEDIA_DIR": str(tmp_path / "media"),
        "LOGIN_RATE_LIMIT": "5",
        "KELOA_TESTING": "1",
        # A closed tab's stream notices within a heartbeat; the suite opens many tabs in one process.
        "LIVE_HEARTBEAT_SECONDS": "1",
        "LIVE_STREAMS_PER_PROCESS": "200",
    }


class _TemplateCodeCache(BytecodeCache):
    """Compiled templates kept in memory for every app this test process creates. Each test has an
    app (and so a Jinja environment) of its own, which would otherwise parse and compile every
    template it renders again; a template's source is checked on each load (its checksum), so an
    edited template is compiled afresh."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _TemplateCodeCache()


@pytest.fixture()
def app(settings, monkeypatch):
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    from keloa_web import create_app

    app = create_app({"TESTING": True})
    app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    with app.app_context():
        yield app
    from keloa_web.db import db

    db.engine.dispose()


@pytest.fixture()
def client(app):
    return helpers.Client(app)


@pytest.fixture()
def mailbox(app):
    """A real SMTP server on loopback that Keloa's mail goes to (keloa_web/mailbox.py)."""
    from keloa_web.mailbox import Mailbox

    with Mailbox() as box:
        app.config.update(MAIL_HOST=box.host, MAIL_PORT=box.port)
        yield box


@pytest.fixture()
def admin(app):
    return helpers.make_user(app, email="owner@example.com", name="Olivia Owner", role="admin")


@pytest.fixture()
def agent_user(app):
    return helpers.make_user(app, email="agent@example.com", name="Aaron Agent", role="agent")


@pytest.fixture()
def admin_client(app, admin):
    c = helpers.Client(app)
    c.login("owner@example.com")
    return c


@pytest.fixture()
def agent_client(app, agent_user):
    c = helpers.Client(app)
    c.login("agent@example.com")
    return c


@pytest.fixture()
def worker(settings):
    """A real worker process (worker.py) for the test's database and Redis."""
    proc = helpers.start_worker(settings)
    yield proc
    helpers.stop_process(proc)


@pytest.fixture()
def live_server(app, settings):
    """Keloa served over real HTTP on a free loopback port (for the sandbox and the browser)."""
    from werkzeug.serving import make_server

    port = helpers.free_port()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    # serve_forever checks for shutdown() every poll_interval (0.5 s by default): each test's
    # teardown would wait for that.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture()
def sandbox(settings, tmp_path):
    """The Meta sandbox as a separate process; Keloa's settings are pointed at it."""
    if not (ROOT / "meta_sandbox").is_dir():
        pytest.fail("meta_sandbox/ is missing")
    port = helpers.free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({
        "SANDBOX_APP_ID": APP_ID, "SANDBOX_APP_SECRET": APP_SECRET, "SANDBOX_VERIFY_TOKEN": VERIFY_TOKEN,
        "SANDBOX_IG_APP_ID": IG_APP_ID, "SANDBOX_IG_APP_SECRET": IG_APP_SECRET, "SANDBOX_PUBLIC_URL": base, "SANDBOX_RETRY_BASE_SECONDS": "0.2",
    })
    proc = subprocess.Popen([sys.executable, "-m", "meta_sandbox", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "sandbox.log", "wb"))
    helpers.wait_http(f"{base}/_sandbox/state", proc)
    time.sleep(0.05)
    assert proc.poll() is None, "the sandbox exited at start (its port taken?): see sandbox.log"
    settings.update({
        "GRAPH_API_BASE": base, "META_AUTHORIZE_URL": f"{base}/v25.0/dialog/oauth",
        "META_CDN_HOSTS": f"127.0.0.1:{port}", "INSTAGRAM_AUTHORIZE_URL": f"{base}/instagram/oauth/authorize",
        "INSTAGRAM_OAUTH_TOKEN_URL": f"{base}/instagram/oauth/access_token",
        "INSTAGRAM_GRAPH_BASE": f"{base}/instagram/graph",
    })
    yield helpers.Sandbox(base)
    helpers.stop_process(proc)


@pytest.fixture()
def postgres_url():
    """A database of its own on the test PostgreSQL server, dropped afterwards."""
    admin_url = os.environ.get("KELOA_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("KELOA_TEST_POSTGRES_URL is not set (CI sets it: .ci/run starts PostgreSQL)")
    import psycopg

    name = f"keloa_prod_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each supported kind (PostgreSQL only when KELOA_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres_url")


# The suite runs in two processes (pytest-xdist, `-n 2` in pyproject.toml). A test marked `solo`
# runs while the other process runs nothing: its assertions measure time against a fixed margin
# (Meta's rate limits), which the scheduling delays of a machine busy with two tests can eat.
# Every other test holds a shared lock while it runs (setup to teardown), a solo test the exclusive
# one; a turnstile lets a solo test that is waiting go before the next shared holder.
_SOLO_LOCKS = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist, in the controlling process: a lock directory for this run, handed to each worker."""
    config = node.config
    if _SOLO_LOCKS not in config.stash:
        config.stash[_SOLO_LOCKS] = Path(tempfile.mkdtemp(prefix="keloa-test-locks-"))
    node.workerinput["keloa_solo_locks"] = str(config.stash[_SOLO_LOCKS])


def pytest_unconfigure(config):
    if _SOLO_LOCKS in config.stash:
        shutil.rmtree(config.stash[_SOLO_LOCKS], ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    locks = getattr(item.config, "workerinput", {}).get("keloa_solo_locks")
    if not locks:  # one process (`-n 0`): nothing runs beside any test
        return (yield)
    with _turn(Path(locks), solo=item.get_closest_marker("solo") is not None):
        return (yield)


@contextlib.contextmanager
def _turn(locks: Path, solo: bool):
    with open(locks / "turnstile", "a") as turnstile, open(locks / "running", "a") as running:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(running, fcntl.LOCK_EX if solo else fcntl.LOCK_SH)
        if not solo:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(running, fcntl.LOCK_UN)
            if solo:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.nodeid:
            item.add_marker(pytest.mark.timeout(180))
