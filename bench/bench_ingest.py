"""(2) Ingest: stored webhook events applied per second by one worker, against a raw SQLAlchemy
insert loop of the same rows, on SQLite (and PostgreSQL when a server is given)."""
from __future__ import annotations

import time

from sqlalchemy import create_engine, func, insert, select

from bench import common, payloads

BATCH = 200  # rows per transaction in the baseline, as the drain job commits per batch


def _seed(events: int) -> None:
    """One channel, and `events` signed bodies stored as intake stores them (pending)."""
    from keloa_web.db import db
    from keloa_web.models import Channel, WebhookEvent

    bodies = payloads.text_bodies(common.APP_SECRET, events, customers=max(1, events // 10), prefix="ingest")
    with db.session_scope() as s:
        s.add(Channel(ig_account_id=payloads.IG_ACCOUNT, ig_username="keloa.coffee", page_id="104000000000101",
                      page_name="Keloa Coffee"))
        s.execute(insert(WebhookEvent), [{"body": b, "status": "pending", "attempts": 0, "object_type": "instagram"}
                                         for b, _sig in bodies])


def _pending() -> int:
    from keloa_web.db import db
    from keloa_web.models import WebhookEvent

    with db.session_scope(write=False) as s:
        return s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "pending"))


def _worker_rate(ctx: common.Context, db_url: str, events: int) -> tuple[float, dict]:
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx))
    with common.InProcessApp(env):
        from rq import Worker

        from keloa_web.jobs import get_redis
        from keloa_web.webhooks.ingest import request_drain

        _seed(events)
        common.start_workers(ctx, env, 1, "webhooks")
        deadline = time.monotonic() + 30
        while not Worker.all(connection=get_redis()) and time.monotonic() < deadline:
            time.sleep(0.05)
        start = time.monotonic()
        request_drain()
        while _pending() and time.monotonic() - start < 300:
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        from keloa_web.db import db
        from keloa_web.models import Channel, Contact, Conversation, Message, WebhookEvent

        with db.session_scope(write=False) as s:
            counts = {"messages": s.scalar(select(func.count()).select_from(Message)),
                      "done": s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "done"))}
            rows = {t.__table__: [dict(r._mapping) for r in s.execute(select(t.__table__))]
                    for t in (Channel, Contact, Conversation, Message)}
        for proc in ctx.processes[-1:]:
            common.stop(proc)
    return events / elapsed, {"counts": counts, "rows": rows}


def _raw_rate(db_url: str, rows: dict, events: int) -> float:
    """The same contacts, conversations and messages, one INSERT per row, a commit per BATCH rows."""
    from keloa_web.db import make_engine

    engine = make_engine(db_url)
    rows = dict(rows)
    channels = rows.pop(next(t for t in rows if t.name == "channels"))
    with engine.begin() as conn:
        conn.execute(insert(next(iter(rows)).metadata.tables["channels"]), channels)
    start = time.monotonic()
    conn = engine.connect()
    n = 0
    trans = conn.begin()
    for table, table_rows in rows.items():
        for row in table_rows:
            conn.execute(insert(table), row)
            n += 1
            if n % BATCH == 0:
                trans.commit()
                trans = conn.begin()
    trans.commit()
    conn.close()
    elapsed = time.monotonic() - start
    engine.dispose()
    return events / elapsed


def run(ctx: common.Context) -> list[common.Row]:
    if not common.has_module("keloa_web.webhooks.ingest"):
        return [common.Row("ingest", "drain job (keloa_web.webhooks.ingest)", None, "", note="not on this checkout yet")]
    events = 1000 if ctx.quick else 5000
    backends = [("SQLite", common.sqlite_url(ctx, "ingest.db"), common.sqlite_url(ctx, "raw.db"))]
    if ctx.postgres_url:
        backends.append(("PostgreSQL", common.fresh_postgres(ctx.postgres_url, "keloa_bench_ingest"),
                         common.fresh_postgres(ctx.postgres_url, "keloa_bench_raw")))
    rows = []
    try:
        for name, url, raw_url in backends:
            common.migrate(url)
            common.migrate(raw_url)
            rate, result = _worker_rate(ctx, url, events)
            raw = _raw_rate(raw_url, result["rows"], events)
            counts = result["counts"]
            complete = counts["messages"] == events and counts["done"] == events
            goal = "≥ 1,000 events/s" if name == "SQLite" else ""
            rows.append(common.Row("ingest", f"{name}: events/s, one worker", rate, "events/s", raw,
                                   "raw insert loop", goal, (rate >= 1000 if name == "SQLite" else None) and complete,
                                   f"{events} events → {counts['messages']} messages, {counts['done']} done"))
    finally:
        if ctx.postgres_url:
            common.drop_postgres(ctx.postgres_url, "keloa_bench_ingest")
            common.drop_postgres(ctx.postgres_url, "keloa_bench_raw")
    return rows
