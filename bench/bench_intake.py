"""(1) Webhook intake under gunicorn with the production settings, against a bare Flask route."""
from __future__ import annotations

import sys

from sqlalchemy import create_engine, text

from bench import common, payloads
from bench.load import post_load

PATH = "/webhooks/instagram"


def _serve(ctx: common.Context, module: str, env: dict):
    port = common.free_port()
    proc = common.spawn(ctx, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", module],
                        dict(env, KELOA_BIND=f"127.0.0.1:{port}"), ctx.work / f"gunicorn-{port}.log")
    base = f"http://127.0.0.1:{port}"
    common.wait_http(base + "/", proc)
    return proc, base


def run(ctx: common.Context) -> list[common.Row]:
    seconds = 3 if ctx.quick else 10
    connections = 16
    db_url = common.sqlite_url(ctx, "intake.db")
    common.migrate(db_url)
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx))
    bodies = payloads.text_bodies(common.APP_SECRET, 2000)

    proc, base = _serve(ctx, "bench.bare_app:app", env)
    post_load(base, PATH, bodies[:50], 1, connections, ctx.work)  # warm up
    bare = post_load(base, PATH, bodies, seconds, connections, ctx.work)
    common.stop(proc)

    rows = [common.Row("intake", f"bare route req/s ({bare.tool})", bare.rps, "req/s")]
    if not common.has_route(PATH):
        rows.append(common.Row("intake", "POST /webhooks/instagram", None, "", note="not on this checkout yet"))
        return rows

    proc, base = _serve(ctx, "wsgi:app", env)
    post_load(base, PATH, bodies[:50], 1, connections, ctx.work)
    keloa = post_load(base, PATH, bodies, seconds, connections, ctx.work)
    common.stop(proc)

    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()
    engine.dispose()
    note = f"{stored} bodies stored, {keloa.errors} errors"
    ratio_goal = keloa.rps / bare.rps >= 0.5 if bare.rps else None
    rows += [
        common.Row("intake", "signed webhook req/s", keloa.rps, "req/s", bare.rps, "bare route", "≥ 0.5× bare",
                   ratio_goal and keloa.errors == 0, note),
        common.Row("intake", "p50 latency", keloa.p50_ms, "ms", bare.p50_ms, "bare p50", higher_is_better=False),
        common.Row("intake", "p99 latency", keloa.p99_ms, "ms", bare.p99_ms, "bare p99", higher_is_better=False),
    ]
    return rows
