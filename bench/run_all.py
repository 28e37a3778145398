"""Run Keloa's benchmarks and print one table: each figure next to a baseline measured in the
same run on the same machine, and the goal it is held to.

    make bench                      # everything (about 5-8 minutes on 2 cores; the inbox DB is cached)
    python -m bench.run_all --quick # shorter runs and smaller data, for a first look
    python -m bench.run_all --only intake,ingest

PostgreSQL figures are added when BENCH_POSTGRES_URL (or KELOA_TEST_POSTGRES_URL) names a server
where databases may be created. Everything runs on loopback. Results also go to bench/out/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from importlib import import_module

from bench import common

BENCHES = ("intake", "ingest", "inbox", "live", "push", "sends")
# The knowledge-base agent's answer quality: run with `--only eval` (or `python -m bench.eval.run`)
# until the agent meets its goals; then it joins the default run.
# The operator's commands on the million-message inbox (backup, move to PostgreSQL): `--only ops`.
OPTIONAL = ("eval", "ops")


def _ensure_wrk() -> None:
    """wrk from Debian when we may install it (root); else the Python load generator is used."""
    if shutil.which("wrk") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=180)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def table(rows: list[common.Row]) -> str:
    head = ("bench", "measure", "value", "baseline", "ratio", "goal", "ok", "note")
    lines = []
    for r in rows:
        ratio = r.ratio
        lines.append((
            r.bench, r.measure, f"{_fmt(r.value)} {r.unit}".strip(),
            f"{_fmt(r.baseline)} ({r.baseline_label})" if r.baseline is not None else "",
            f"{ratio:.2f}×" if ratio is not None else "", r.goal,
            {True: "yes", False: "NO", None: ""}[r.ok], r.note,
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(head)]
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, smaller data")
    parser.add_argument("--only", default="", help=f"comma list of: {', '.join(BENCHES + OPTIONAL)}")
    args = parser.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHES)
    unknown = set(chosen) - set(BENCHES + OPTIONAL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    _ensure_wrk()
    common.OUT.mkdir(parents=True, exist_ok=True)
    postgres = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("KELOA_TEST_POSTGRES_URL")
    rows: list[common.Row] = []
    started = time.monotonic()
    for name in chosen:
        ctx = common.Context(quick=args.quick, postgres_url=postgres)
        t0 = time.monotonic()
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            rows += import_module("bench.eval.run" if name == "eval" else f"bench.bench_{name}").run(ctx)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            rows.append(common.Row(name, "failed", None, "", ok=False, note=f"{type(exc).__name__}: {exc}"[:120]))
        finally:
            ctx.cleanup()
        print(f"  {name} took {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)

    print()
    print(table(rows))
    print(f"\n{'quick' if args.quick else 'full'} run, {os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s")
    (common.OUT / "results.json").write_text(json.dumps([vars(r) | {"ratio": r.ratio} for r in rows], indent=1))
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
