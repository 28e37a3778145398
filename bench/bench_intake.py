"""(1) Webhook intake under gunicorn with the production settings, against a bare Flask route.

The servers run side by side and are measured in alternating rounds (bare, Keloa SQLite, Keloa
PostgreSQL, then again): a burst of load from elsewhere on the machine then weighs on both sides of
the ratio instead of on one. Each figure is the median of its rounds.
"""
from __future__ import annotations

import statistics

from sqlalchemy import text

from bench import common, payloads
from bench.load import LoadResult, post_load

PATH = "/webhooks/instagram"


def run(ctx: common.Context) -> list[common.Row]:
    rounds, seconds = (2, 3) if ctx.quick else (3, 5)
    connections = 16
    db_url = common.sqlite_url(ctx, "intake.db")
    common.migrate(db_url)
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx))
    bodies = payloads.text_bodies(common.APP_SECRET, 2000)

    servers = [("bare", None, *common.serve_keloa(ctx, env, "bench.bare_app:app"))]
    if not common.has_route(PATH):
        bare = _measure(servers, bodies, rounds, seconds, connections, ctx)["bare"]
        return [common.Row("intake", f"bare route req/s ({bare.tool})", bare.rps, "req/s"),
                common.Row("intake", "POST /webhooks/instagram", None, "", note="not on this checkout yet")]
    servers.append(("SQLite", db_url, *common.serve_keloa(ctx, env)))
    if ctx.postgres_url:
        pg_url = common.fresh_postgres(ctx.postgres_url, "keloa_bench_intake")
        common.migrate(pg_url)
        servers.append(("PostgreSQL", pg_url, *common.serve_keloa(ctx, dict(env, DATABASE_URL=pg_url))))
    try:
        results = _measure(servers, bodies, rounds, seconds, connections, ctx)
        for _name, _url, proc, _base in servers:
            common.stop(proc)
        bare = results["bare"]
        rows = [common.Row("intake", f"bare route req/s ({bare.tool}, median of {rounds} rounds)", bare.rps, "req/s")]
        for name, url, _proc, _base in servers[1:]:
            rows += _rows(name, url, results[name], bare)
        return rows
    finally:
        if ctx.postgres_url:
            common.drop_postgres(ctx.postgres_url, "keloa_bench_intake")


def _measure(servers, bodies, rounds, seconds, connections, ctx) -> dict[str, LoadResult]:
    for _name, _url, _proc, base in servers:
        post_load(base, PATH, bodies[:50], 1, connections, ctx.work)  # warm up
    runs: dict[str, list[LoadResult]] = {name: [] for name, *_ in servers}
    for _ in range(rounds):
        for name, _url, _proc, base in servers:
            runs[name].append(post_load(base, PATH, bodies, seconds, connections, ctx.work))
    return {name: _median(found) for name, found in runs.items()}


def _median(found: list[LoadResult]) -> LoadResult:
    return LoadResult(
        found[0].tool,
        int(statistics.median(r.rps for r in found) * 1000), 1000.0,  # requests over seconds = median req/s
        sum(r.errors for r in found),
        statistics.median(r.p50_ms for r in found), statistics.median(r.p99_ms for r in found),
    )


def _rows(name: str, db_url: str, keloa: LoadResult, bare: LoadResult) -> list[common.Row]:
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
