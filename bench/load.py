"""HTTP load on loopback: wrk (Debian's `wrk`) with a Lua script, or a Python fallback."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.common import percentile

LUA = r"""
local bodies = dofile("%(bodies)s")
local i = 0
function init(args)
  i = math.random(#bodies)
end
function request()
  i = i %% #bodies + 1
  local b = bodies[i]
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = b[2], ["User-Agent"] = "facebookexternalua"}, b[1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, "p50_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_bodies(bodies: list[tuple[bytes, str]], path: Path) -> None:
    lines = ["return {"]
    for body, sig in bodies:
        text = body.decode()
        assert "]==]" not in text
        lines.append(f'{{[==[{text}]==], "{sig}"}},')
    lines.append("}")
    path.write_text("\n".join(lines))


def wrk(url: str, path: str, bodies: list[tuple[bytes, str]], seconds: float, connections: int, work: Path) -> LoadResult:
    bodies_file = work / "bodies.lua"
    _lua_bodies(bodies, bodies_file)
    script = work / "post.lua"
    script.write_text(LUA % {"bodies": bodies_file, "path": path})
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line[len("BENCHJSON "):])
    return LoadResult("wrk", data["requests"], data["duration_us"] / 1e6, data["non2xx"] + data["socket_errors"],
                      data["p50_us"] / 1000, data["p99_us"] / 1000)


def python_load(url: str, path: str, bodies: list[tuple[bytes, str]], seconds: float, connections: int) -> LoadResult:
    """Threads with keep-alive sessions: slower than wrk, so ratios, not absolutes, matter."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(offset: int) -> None:
        session = requests.Session()
        mine, bad, i = [], 0, offset
        while time.monotonic() < deadline:
            body, sig = bodies[i % len(bodies)]
            i += 1
            start = time.perf_counter()
            try:
                resp = session.post(url + path, data=body, timeout=10, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": sig})
                ok = resp.status_code < 300
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - start)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(n * 97,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return LoadResult("python", len(latencies), elapsed, errors[0],
                      percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)


def post_load(url: str, path: str, bodies: list[tuple[bytes, str]], seconds: float, connections: int,
              work: Path) -> LoadResult:
    if shutil.which("wrk"):
        return wrk(url, path, bodies, seconds, connections, work)
    return python_load(url, path, bodies, seconds, min(connections, 8))
