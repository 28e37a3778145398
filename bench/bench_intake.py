"""(1) Webhook intake under gunicorn with the production settings, against a bare Flask route."""
from __future__ import annotations

from sqlalchemy import text

from bench import common, payloads
from bench.load import post_load

PATH = "/webhooks/instagram"


def run(ctx: common.Context) -> list[common.Row]:
    seconds = 3 if ctx.quick else 10
    connections = 16
    db_url = common.sqlite_url(ctx, "intake.db")
    common.migrate(db_url)
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx))
    bodies = payloads.text_bodies(common.APP_SECRET, 2000)

    proc, base = common.serve_keloa(ctx, env, "bench.bare_app:app")
    post_load(base, PATH, bodies[:50], 1, connections, ctx.work)  # warm up
    bare = post_load(base, PATH, bodies, seconds, connections, ctx.work)
    common.stop(proc)

    rows = [common.Row("intake", f"bare route req/s ({bare.tool})", bare.rps, "req/s")]
    if not common.has_route(PATH):
        rows.append(common.Row("intake", "POST /webhooks/instagram", None, "", note="not on this checkout yet"))
        return rows

    keloa_dbs = [("SQLite", db_url, env)]
    if ctx.postgres_url:
        pg_url = common.fresh_postgres(ctx.postgres_url, "keloa_bench_intake")
        common.migrate(pg_url)
        keloa_dbs.append(("PostgreSQL", pg_url, dict(env, DATABASE_URL=pg_url)))
    try:
        for name, url, keloa_env in keloa_dbs:
            rows += _keloa(ctx, name, url, keloa_env, bodies, bare, seconds, connections)
    finally:
        if ctx.postgres_url:
            common.drop_postgres(ctx.postgres_url, "keloa_bench_intake")
    return rows


def _keloa(ctx, name, db_url, env, bodies, bare, seconds, connections) -> list[common.Row]:
    proc, base = common.serve_keloa(ctx, env)
    post_load(base, PATH, bodies[:50], 1, connections, ctx.work)
    keloa = post_load(base, PATH, bodies, seconds, connections, ctx.work)
    common.stop(proc)
    from keloa_web.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()
    engine.dispose()
    note = f"{stored} bodies stored, {keloa.errors} errors"
    ratio_goal = keloa.rps / bare.rps >= 0.5 if bare.rps else None
    return [
        common.Row("intake", f"{name}: signed webhook req/s", keloa.rps, "req/s", bare.rps, "bare route",
                   "≥ 0.5× bare", ratio_goal and keloa.errors == 0, note),
        common.Row("intake", f"{name}: p50 latency", keloa.p50_ms, "ms", bare.p50_ms, "bare p50", higher_is_better=False),
        common.Row("intake", f"{name}: p99 latency", keloa.p99_ms, "ms", bare.p99_ms, "bare p99", higher_is_better=False),
    ]
