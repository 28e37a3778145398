"""`make run`: embedded Redis, migrations, the Meta sandbox, the web server and a worker.

Prints the URL to open; Ctrl-C stops every child. Without META_APP_ID in the environment or
.env, Keloa talks to the bundled Meta sandbox; with it, to the Graph API configured there.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent

load_dotenv(ROOT / ".env")

from keloa_web.redis_server import EmbeddedRedis  # noqa: E402

HOST = os.environ.get("KELOA_HOST", "127.0.0.1")
PORT = int(os.environ.get("KELOA_PORT", "5000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8081"))


def _dev_secret(instance: Path) -> str:
    path = instance / "dev_secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def make_private(instance: Path, env: dict) -> None:
    """instance/ and the media directory 0700, the SQLite database (and its WAL files) 0600: they
    hold customers' messages and the encrypted Page tokens. Also fixes a set-up made before."""
    media = Path(env.get("MEDIA_DIR") or instance / "media")
    for directory in (instance, media):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'keloa.db'}"
    if url.startswith("sqlite:///"):
        database = Path(url[len("sqlite:///"):])
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                path.chmod(0o600)


def main() -> int:
    # Everything this script and its children create (database, media, Redis files, logs) is
    # readable by this user only.
    os.umask(0o077)
    instance = Path(os.environ.get("KELOA_INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    instance.chmod(0o700)
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", _dev_secret(instance))
    env.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")
    children: list[subprocess.Popen] = []
    redis_server = None
    if not env.get("REDIS_URL"):
        redis_server = EmbeddedRedis(instance / "redis").start()
        env["REDIS_URL"] = redis_server.url
        print(f"Redis (embedded):   {redis_server.url}")

    mailbox = None
    if not env.get("MAIL_HOST"):  # email goes to a local SMTP server that keeps each message as a file
        from keloa_web.mailbox import Mailbox

        mailbox = Mailbox(port=int(os.environ.get("MAIL_PORT_LOCAL", "8025")), folder=instance / "mail").start()
        env.update({"MAIL_HOST": mailbox.host, "MAIL_PORT": str(mailbox.port)})
        print(f"Email (local SMTP): {mailbox.host}:{mailbox.port}, kept in {instance / 'mail'}/")

    use_sandbox = not env.get("META_APP_ID") and (ROOT / "meta_sandbox").is_dir()
    if use_sandbox:
        sandbox_url = f"http://127.0.0.1:{SANDBOX_PORT}"
        env.update({
            "META_APP_ID": "sandbox-app-id", "META_APP_SECRET": "sandbox-app-secret",
            "META_VERIFY_TOKEN": "sandbox-verify-token", "GRAPH_API_BASE": sandbox_url,
            "META_AUTHORIZE_URL": f"{sandbox_url}/v25.0/dialog/oauth",
            "META_CDN_HOSTS": f"127.0.0.1:{SANDBOX_PORT}",
            "INSTAGRAM_APP_ID": "sandbox-ig-app-id", "INSTAGRAM_APP_SECRET": "sandbox-ig-app-secret",
            "INSTAGRAM_AUTHORIZE_URL": f"{sandbox_url}/instagram/oauth/authorize",
            "INSTAGRAM_OAUTH_TOKEN_URL": f"{sandbox_url}/instagram/oauth/access_token",
            "INSTAGRAM_GRAPH_BASE": f"{sandbox_url}/instagram/graph",
            "SANDBOX_APP_ID": "sandbox-app-id", "SANDBOX_APP_SECRET": "sandbox-app-secret",
            "SANDBOX_IG_APP_ID": "sandbox-ig-app-id", "SANDBOX_IG_APP_SECRET": "sandbox-ig-app-secret",
            "SANDBOX_VERIFY_TOKEN": "sandbox-verify-token", "SANDBOX_PUBLIC_URL": sandbox_url,
            "SANDBOX_WEBHOOK_URL": f"{env['PUBLIC_BASE_URL']}/webhooks/instagram",
            "SANDBOX_DEAUTH_URL": f"{env['PUBLIC_BASE_URL']}/webhooks/meta/deauthorize",
            "KELOA_SANDBOX_URL": sandbox_url,
        })
        if mailbox:
            env["SANDBOX_MAIL_DIR"] = str(instance / "mail")

    # What this run gave its processes, for `python -m keloa_web check` and the other commands in
    # another terminal (read only outside production; removed when the run stops).
    run_env = instance / "run.env"
    shared = ("PUBLIC_BASE_URL", "REDIS_URL", "MAIL_HOST", "MAIL_PORT", "GRAPH_API_BASE", "META_APP_ID",
              "META_APP_SECRET", "META_VERIFY_TOKEN", "META_AUTHORIZE_URL", "META_CDN_HOSTS", "INSTAGRAM_APP_ID",
              "INSTAGRAM_APP_SECRET", "INSTAGRAM_AUTHORIZE_URL", "INSTAGRAM_OAUTH_TOKEN_URL", "INSTAGRAM_GRAPH_BASE")
    run_env.write_text("".join(f"{k}={env[k]}\n" for k in shared if env.get(k) and env.get(k) != os.environ.get(k)))
    run_env.chmod(0o600)

    py = sys.executable
    subprocess.run([py, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
    make_private(instance, env)

    def spawn(args: list[str]) -> None:
        children.append(subprocess.Popen(args, cwd=ROOT, env=env))

    if use_sandbox:
        spawn([py, "-m", "meta_sandbox", "--host", "127.0.0.1", "--port", str(SANDBOX_PORT)])
    # 4 threads for pages and calls, plus one per live stream the process may hold (keloa_web/live/).
    threads = 4 + int(env.get("LIVE_STREAMS_PER_PROCESS", "25"))
    spawn([py, "-m", "gunicorn", "--bind", f"{HOST}:{PORT}", "--workers", "2", "--threads", str(threads),
           "--access-logfile", "-", "--logger-class", "keloa_web.access_log.AccessLogger",  # tokens in paths redacted
           "--log-level", "warning", "wsgi:app"])
    spawn([py, "worker.py"])

    time.sleep(1.5)
    print("\n  Keloa is running:   " + env["PUBLIC_BASE_URL"])
    if use_sandbox:
        print(f"  Meta sandbox:       http://127.0.0.1:{SANDBOX_PORT}/customer  (play the customer here)")
        if mailbox:
            print(f"  Mail Keloa sent:    http://127.0.0.1:{SANDBOX_PORT}/mail")
    print("  Stop with Ctrl-C.\n", flush=True)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"A Keloa process exited ({child.args[1:3]}), stopping everything.", file=sys.stderr)
                    stopping = True
            time.sleep(0.3)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        run_env.unlink(missing_ok=True)
        if redis_server:
            redis_server.stop()
        if mailbox:
            mailbox.stop()
        print("Keloa stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
