"""`make run`'s script starts every part, prints the URL, and Ctrl-C stops every child."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import psutil
import requests

from tests import helpers


def test_run_script_starts_everything_and_ctrl_c_stops_it(tmp_path):
    port, sandbox_port = helpers.free_port(), helpers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("META_", "SANDBOX_", "KELOA_", "REDIS_", "DATABASE_"))}
    env.update({"KELOA_INSTANCE_DIR": str(tmp_path / "instance"), "KELOA_PORT": str(port),
                "SANDBOX_PORT": str(sandbox_port), "MAIL_PORT_LOCAL": str(helpers.free_port()), "PYTHONUNBUFFERED": "1"})
    env.pop("MAIL_HOST", None)
    proc = subprocess.Popen([sys.executable, str(helpers.ROOT / "scripts" / "run.py")], cwd=helpers.ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        printed = ""
        deadline = time.monotonic() + 60
        while "Keloa is running" not in printed and time.monotonic() < deadline:
            printed += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in printed
        printed += proc.stdout.readline()  # the next line: where to play the customer (README, "Trying Keloa")
        assert f"http://127.0.0.1:{sandbox_port}/customer" in printed
        printed += proc.stdout.readline()  # and where the mail Keloa sends is caught
        assert f"Mail Keloa sent:    http://127.0.0.1:{sandbox_port}/mail" in printed
        helpers.wait_until(lambda: _ok(f"http://127.0.0.1:{port}/healthz"), 30, message="Keloa health")
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["checks"] == {
            "database": "ok", "redis": "ok"}
        helpers.wait_until(lambda: _ok(f"http://127.0.0.1:{sandbox_port}/_sandbox/state"), 30, message="sandbox")
        assert requests.get(f"http://127.0.0.1:{sandbox_port}/customer", timeout=5).status_code == 200
        assert "No mail yet." in requests.get(f"http://127.0.0.1:{sandbox_port}/mail/", timeout=5).text
        resp = requests.get(f"http://127.0.0.1:{port}/login", allow_redirects=False, timeout=5)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4  # redis, sandbox, gunicorn (+ its workers), worker
        # The database, media and everything the children write are this user's only.
        instance = tmp_path / "instance"
        assert _mode(instance) == 0o700 and _mode(instance / "media") == 0o700
        assert _mode(instance / "keloa.db") == 0o600
        assert {_umask(c.pid) for c in children} == {"0077"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Keloa stopped." in out
    gone = helpers.wait_until(lambda: all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children),
                              15, message="children to exit")
    assert gone


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask(pid: int) -> str:
    status = open(f"/proc/{pid}/status").read()
    return next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:"))


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
