"""`python -m keloa_web check`: one report of what a Keloa needs, each line ok, warn or FAIL with
what to do: settings, the database and its migrations, Redis and the workers, the mail server,
Meta's Graph API, and whether this SECRET_KEY can read the stored Page tokens."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass

import requests


@dataclass
class Result:
    name: str
    status: str  # ok | warn | fail
    detail: str


def _settings(config) -> list[Result]:
    problems, warnings = config.problems(), config.warnings()
    if problems:
        return [Result("settings", "fail", p) for p in problems]
    out = [Result("settings", "warn", w) for w in warnings]
    mode = "production" if config.is_production else "development (KELOA_ENV is not production)"
    return out or [Result("settings", "ok", f"{mode}; public address {config.PUBLIC_BASE_URL}")]


def _database(config) -> tuple[list[Result], object]:
    from keloa_web.db import make_engine
    from keloa_web.operations import database

    where = config.DATABASE_URL.split("@")[-1] if "@" in config.DATABASE_URL else config.DATABASE_URL
    try:
        engine = make_engine(config.DATABASE_URL)
        revision = database.revision_of(engine)
    except Exception as exc:  # noqa: BLE001 - any driver error is the report's line
        return [Result("database", "fail", f"{where}: cannot connect ({type(exc).__name__}: {exc})")], None
    head = database.head_revision()
    if revision is None:
        return [Result("database", "fail", f"{where}: no Keloa tables; run: alembic upgrade head")], engine
    if revision != head:
        return [Result("database", "fail", f"{where}: at revision {revision}, the code needs {head}; run: "
                                           "alembic upgrade head")], engine
    counts = database.counts(engine)
    return [Result("database", "ok", f"{where}: revision {revision}; {counts.get('users', 0)} users, "
                                     f"{counts.get('channels', 0)} accounts, {counts.get('messages', 0)} messages")], engine


def _redis(config) -> list[Result]:
    from redis import Redis
    from rq import Worker

    url = config.REDIS_URL or f"unix://{config.INSTANCE_DIR / 'redis' / 'redis.sock'}"
    try:
        conn = Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        conn.ping()
        workers = Worker.all(connection=conn)
    except Exception as exc:  # noqa: BLE001
        return [Result("redis", "fail", f"{url.split('@')[-1]}: cannot connect ({exc}); is Redis running?")]
    out = [Result("redis", "ok", f"{url.split('@')[-1]}: answers")]
    if workers:
        out.append(Result("workers", "ok", f"{len(workers)} running"))
    else:
        out.append(Result("workers", "fail", "no worker is running: messages are stored but not applied, nothing is "
                                             "sent (start: python worker.py)"))
    return out


def _mail(config) -> list[Result]:
    if not config.MAIL_HOST:
        return [Result("mail", "warn", "no MAIL_HOST: invitations and reset links are shown to copy, no email goes out")]
    try:
        cls = smtplib.SMTP_SSL if config.MAIL_TLS else smtplib.SMTP
        with cls(config.MAIL_HOST, config.MAIL_PORT, timeout=5) as smtp:
            if config.MAIL_STARTTLS and not config.MAIL_TLS:
                smtp.starttls()
            if config.MAIL_USERNAME:
                smtp.login(config.MAIL_USERNAME, config.MAIL_PASSWORD)
    except (OSError, smtplib.SMTPException) as exc:
        return [Result("mail", "fail", f"{config.MAIL_HOST}:{config.MAIL_PORT}: {type(exc).__name__}: {exc}")]
    return [Result("mail", "ok", f"{config.MAIL_HOST}:{config.MAIL_PORT} accepts a connection"
                                 f"{' and the login' if config.MAIL_USERNAME else ''}")]


def _meta(config, engine) -> list[Result]:
    out = []
    base = config.GRAPH_API_BASE.rstrip("/")
    try:
        answer = requests.get(f"{base}/{config.GRAPH_API_VERSION}/me", timeout=5)
        out.append(Result("meta", "ok", f"{base} answers (HTTP {answer.status_code} without a token, as expected)"))
    except requests.RequestException as exc:
        out.append(Result("meta", "fail", f"{base}: cannot be reached ({type(exc).__name__}); sends and profile "
                                          "look-ups will fail"))
    if engine is not None:
        from cryptography.fernet import InvalidToken
        from sqlalchemy import select

        from keloa_web.crypto import _fernet
        from keloa_web.models import Channel, ChannelStatus

        fernet, unreadable, active = _fernet(config.SECRET_KEY), 0, 0
        with engine.connect() as conn:
            for token, status in conn.execute(select(Channel.page_token_enc, Channel.status)):
                if status == ChannelStatus.DISCONNECTED or not token:
                    continue
                active += 1
                try:
                    fernet.decrypt(token.encode())
                except InvalidToken:
                    unreadable += 1
        if unreadable:
            out.append(Result("tokens", "fail", f"{unreadable} of {active} accounts' Page tokens cannot be read with "
                                                "this SECRET_KEY: set the key they were stored with, or reconnect"))
        else:
            out.append(Result("tokens", "ok", f"{active} connected accounts, their tokens readable"))
    return out


def run_checks(config) -> list[Result]:
    results = _settings(config)
    db_results, engine = _database(config)
    results += db_results + _redis(config) + _mail(config) + _meta(config, engine)
    if engine is not None:
        engine.dispose()
    return results
