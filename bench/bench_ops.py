"""Benchmark (ops): the operator's commands on the benchmark inbox (50,000 conversations, 1,000,000
messages in SQLite; `--quick`: a tenth).

- backup: `python -m keloa_web backup` of the SQLite file (online backup API, then gzip), beside
  gzipping a plain copy of the same file into a tar at the same level in the same run (the floor:
  what any compressed backup costs, without the consistency of the online backup).
- move to PostgreSQL: `python -m keloa_web move-to-postgres` into an empty database, copy and
  verification (counts and checksums of every table on both sides), beside reading every row of
  those tables once from SQLite in the same run (the least any copy must do).
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time

from bench import common, inbox_data


def _timed(args: list[str], env: dict) -> float:
    t0 = time.monotonic()
    done = subprocess.run(args, cwd=common.ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[2:4])} failed: {done.stderr[-500:]}")
    return time.monotonic() - t0


def _read_everything(path) -> float:
    t0 = time.monotonic()
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                         "'%fts%' AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
    for table in tables:
        for _row in conn.execute(f"SELECT * FROM {table}"):
            pass
    conn.close()
    return time.monotonic() - t0


def run(ctx: common.Context) -> list[common.Row]:
    source, conversations, messages = inbox_data.cached(ctx.quick)
    db_path = ctx.work / "keloa.db"
    shutil.copy(source, db_path)
    media = ctx.work / "media"
    media.mkdir()
    env = common.keloa_env(ctx, f"sqlite:///{db_path}", "redis://127.0.0.1:9/0", MEDIA_DIR=str(media),
                           KELOA_INSTANCE_DIR=str(ctx.work / "instance"))
    py = sys.executable
    rows = [common.Row("ops", "data", messages, "messages", note=f"{conversations:,} conversations")]

    t0 = time.monotonic()
    shutil.copy(db_path, ctx.work / "copy.db")
    with tarfile.open(ctx.work / "plain.tar.gz", "w:gz", compresslevel=3) as tar:
        tar.add(ctx.work / "copy.db", arcname="keloa.db")
    copy_s = time.monotonic() - t0
    backup_s = _timed([py, "-m", "keloa_web", "backup", "--out", str(ctx.work / "b.tar.gz")], env)
    rows.append(common.Row("ops", "backup (SQLite online backup + gzip)", round(backup_s, 1), "s", baseline=round(copy_s, 2),
                           baseline_label="cp + tar.gz of the file", higher_is_better=False,
                           note=f"{(ctx.work / 'b.tar.gz').stat().st_size / 1e6:.0f} MB written"))
    if ctx.postgres_url:
        read_s = _read_everything(db_path)
        target = common.fresh_postgres(ctx.postgres_url, "keloa_bench_move")
        try:
            move_s = _timed([py, "-m", "keloa_web", "move-to-postgres", "--to", target], env)
        finally:
            common.drop_postgres(ctx.postgres_url, "keloa_bench_move")
        rows.append(common.Row("ops", "move to PostgreSQL (copy + verify)", round(move_s, 1), "s",
                               baseline=round(read_s, 1), baseline_label="reading every row once",
                               higher_is_better=False, note="counts and checksums of every table compared"))
    else:
        rows.append(common.Row("ops", "move to PostgreSQL", None, "", note="set BENCH_POSTGRES_URL"))
    return rows
