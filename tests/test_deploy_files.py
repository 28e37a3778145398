"""The deployment files say what the README says (Docker cannot run here, so they are read)."""
from __future__ import annotations

import re
import runpy
import shutil
import subprocess

import yaml

from tests import helpers

ROOT = helpers.ROOT


def test_compose_runs_web_two_workers_redis_with_aof_and_postgres_15():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "redis", "postgres"}
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["postgres"]["image"] == "postgres:15"
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert services["web"]["healthcheck"]["test"][-1] == "web"
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["KELOA_ENV"] == "production"
        assert env["REDIS_URL"] == "redis://redis:6379/0" and "@postgres:5432/" in env["DATABASE_URL"]
        assert "media:/data/media" in services[name]["volumes"]
    assert set(compose["volumes"]) == {"media", "redis", "postgres"}
    assert services["web"]["environment"]["LIVE_STREAMS_PER_PROCESS"] == "25"  # the live streams' threads
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]


def test_dockerfile_runs_as_a_non_root_user_and_migrates_on_start():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER keloa$", dockerfile, re.M)
    assert "pip install -r requirements.txt" in dockerfile and "requirements-dev" not in dockerfile
    entry = (ROOT / "deploy" / "docker-entrypoint.sh").read_text()
    assert entry.index("alembic upgrade head") < entry.index("exec gunicorn -c gunicorn.conf.py wsgi:app")
    assert subprocess.run(["sh", "-n", str(ROOT / "deploy" / "docker-entrypoint.sh")]).returncode == 0


def test_the_image_installs_no_test_tools_and_make_test_adds_them():
    def lines(path):
        return [line.split("#")[0].strip() for line in (ROOT / path).read_text().splitlines() if line.split("#")[0].strip()]

    def names(path):
        return {re.split(r"[=<>\[]", line)[0].lower() for line in lines(path) if not line.startswith("-")}

    assert {"flask", "gunicorn", "sqlalchemy", "rq"} <= names("requirements.txt")
    assert not {"pytest", "pytest-timeout", "playwright", "pyyaml", "psutil"} & names("requirements.txt")
    assert lines("requirements-dev.txt")[0] == "-r requirements.txt"
    assert {"pytest", "pytest-timeout", "playwright"} <= names("requirements-dev.txt")
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements-dev.txt" in makefile and "--no-deps -e ." in makefile
    assert re.search(r"^test: \$\(VENV\)/\.installed-dev$", makefile, re.M)


def test_gunicorn_settings_never_log_query_strings(monkeypatch):
    monkeypatch.setenv("KELOA_BIND", "127.0.0.1:8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == ["127.0.0.1:8123"] and conf["workers"] == 3 and conf["threads"] >= 2
    # %(r)s is the request line with its query, %(q)s the query, %(f)s the referer.
    for leaky in ("%(r)s", "%(q)s", "%(f)s"):
        assert leaky not in conf["access_log_format"]
    assert "%(U)s" in conf["access_log_format"]
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["logger_class"] == "keloa_web.access_log.AccessLogger"


def test_gunicorns_access_log_redacts_invitation_and_media_tokens(tmp_path):
    """The logger gunicorn.conf.py names writes the line, from a request as gunicorn hands it over."""
    import datetime
    from types import SimpleNamespace

    from gunicorn.config import Config as GunicornConfig

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = GunicornConfig()
    for name in ("logger_class", "access_log_format"):
        cfg.set(name, conf[name])
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = cfg.logger_class(cfg)
    lines = {
        "/invite/Zq8pK3v_secret-invite-token": "/invite/[redacted]",
        "/m/eyJwIjoiYXR0YWNobWVudHMvYS5qcGcifQ.secret-media-token": "/m/[redacted]",
        "//invite/another-secret-token": "//invite/[redacted]",
        "/reset/a-secret-password-reset-token": "/reset/[redacted]",
        "/team/invites/3/revoke": "/team/invites/3/revoke",
        "/inbox/c/12": "/inbox/c/12",
    }
    for path in lines:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "RAW_URI": f"{path}?next=%2F",
                   "QUERY_STRING": "next=%2F", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
                   "HTTP_USER_AGENT": "Firefox", "HTTP_REFERER": f"https://inbox.example.com{path}"}
        headers = [("USER-AGENT", "Firefox"), ("REFERER", environ["HTTP_REFERER"])]
        logger.access(SimpleNamespace(status="200 OK", sent=512, headers=[]), SimpleNamespace(headers=headers),
                      environ, datetime.timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    for path, shown in lines.items():
        assert f'"GET {shown} HTTP/1.1" 200' in written
    assert "secret" not in written and "next=" not in written
    assert logger.atoms(SimpleNamespace(status="200 OK", sent=1, headers=[]), SimpleNamespace(headers=[]),
                        {"REQUEST_METHOD": "GET", "PATH_INFO": "/invite/tok", "RAW_URI": "/invite/tok?x=1",
                         "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": "https://h/invite/tok"},
                        datetime.timedelta(0))["r"] == "GET /invite/[redacted] HTTP/1.1"
    # Keloa's own log lines (Flask's "Exception on <path>", a sent media URL) are redacted the same way.
    from keloa_web.logs import redact

    assert redact("Exception on /invite/tok-123 [POST]") == "Exception on /invite/[redacted] [POST]"
    assert redact("sent https://inbox.example.com/m/abc.def-ghi") == "sent https://inbox.example.com/m/[redacted]"


def test_nginx_example_logs_no_query_strings_and_is_valid_when_nginx_is_installed(tmp_path):
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$request " not in site and "$request_uri\"" not in site and "$args" not in site
    # Its log line shows the path through a map that redacts invitation and signed media tokens.
    log_format = site[site.index("log_format keloa"):site.index(";", site.index("log_format keloa"))]
    assert "$keloa_log_uri" in log_format and "$uri" not in log_format
    assert re.search(r"~\*\^/\+invite/\s+/invite/\[redacted\];", site)
    assert re.search(r"~\*\^/\+m/\s+/m/\[redacted\];", site)
    assert re.search(r"~\*\^/\+reset/\s+/reset/\[redacted\];", site)
    assert "client_max_body_size" in site and "X-Forwarded-Proto $scheme" in site
    if not shutil.which("nginx"):
        return  # the static checks above still ran; `nginx -t` needs the binary
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=keloa"], check=True, capture_output=True)
    site = (site.replace("/etc/letsencrypt/live/inbox.example.com/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/inbox.example.com/privkey.pem", str(key))
            .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}} http {{ include {tmp_path}/site.conf; }}"
    )
    done = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_systemd_units_migrate_before_serving_and_read_one_env_file():
    web = (ROOT / "deploy" / "systemd" / "keloa-web.service").read_text()
    worker = (ROOT / "deploy" / "systemd" / "keloa-worker@.service").read_text()
    assert "ExecStartPre=/opt/keloa/.venv/bin/python -m alembic upgrade head" in web
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in web and "worker.py" in worker
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/keloa/keloa.env" in unit and "User=keloa" in unit
    example = (ROOT / "deploy" / "systemd" / "keloa.env.example").read_text()
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "META_APP_ID", "META_APP_SECRET",
                 "META_VERIFY_TOKEN", "PUBLIC_BASE_URL", "MEDIA_DIR"):
        assert re.search(rf"^{name}=", example, re.M), name
