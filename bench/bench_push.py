"""(6) Live by push, in Chromium: a signed webhook posted to gunicorn → the message in an open
tab's list, through the live stream, against today's 2 s poll in the same run (a tab without
EventSource polls as before); in a foreground tab and in one hidden for HIDDEN_SECONDS (Chromium
throttles a hidden tab's timers: once a minute after five minutes). Then 50 open streams: the
server's CPU while they idle, and pages and webhooks with them open against none."""
from __future__ import annotations

import threading
import time

import requests

from bench import common, payloads

GOAL_OPEN_MS, GOAL_HIDDEN_MS = 300.0, 1000.0
PASSWORD = "bench password 123"
# The page records when a row with the text appears (a hidden tab paints nothing; the DOM is what changes).
WATCH = """() => { window.__seen = {}; new MutationObserver(() => {
  document.querySelectorAll('#conv-rows .conv-preview').forEach(el => {
    if (!window.__seen[el.textContent]) window.__seen[el.textContent] = Date.now(); });
}).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


# Headless Chromium never hides a background tab, so `window.__hide()` applies what Chromium does
# to a tab hidden for more than five minutes (developer.chrome.com/blog/timer-throttling-in-chrome-88):
# the page is hidden; a timer wakes at most once a second, and a chained one (nesting level 5 or
# more, as a poll that re-arms itself) once a minute, aligned to the minute. Network events and
# what they run directly (the stream's events, an XHR's answer) are not throttled.
HIDE = """(() => {
  let hidden = false, depth = 0;
  const realTimeout = window.setTimeout.bind(window);
  window.setTimeout = function (fn, ms, ...args) {
    const level = depth + 1, now = Date.now();
    let due = now + Math.max(0, ms || 0);
    if (hidden) { const grid = level >= 5 ? 60000 : 1000; due = Math.ceil(due / grid) * grid; }
    return realTimeout(() => { const saved = depth; depth = level;
      try { if (typeof fn === "function") fn(...args); } finally { depth = saved; } }, due - now);
  };
  window.__hide = () => {
    hidden = true;
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
    Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();"""


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = 100.0  # SC_CLK_TCK on Linux
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def _display(ctx: common.Context) -> dict:
    """A real (virtual) screen, so that Chromium runs with windows: headless Chromium never hides a
    background tab, and hiding is what throttles. Xvfb from Debian when we may install it."""
    import os
    import shutil
    import subprocess

    if os.environ.get("DISPLAY"):
        return {}
    if not shutil.which("Xvfb") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "xvfb"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=300)
    if not shutil.which("Xvfb"):
        return {"headless": True}
    display = f":{90 + os.getpid() % 9}"
    common.spawn(ctx, ["Xvfb", display, "-screen", "0", "1400x1000x24", "-nolisten", "tcp"], dict(os.environ))
    time.sleep(1)
    return {"env": {**os.environ, "DISPLAY": display}}


def _signed_in(base: str) -> requests.Session:
    from bench.bench_live import _signed_in as sign_in

    return sign_in(base)


def _post(base: str, n: int, text: str) -> float:
    raw = payloads.body([payloads.text_event(str(920000000000000 + n), f"aWdfZAG1fpush{n:06d}", text,
                                             int(time.time() * 1000))])
    sent = time.time() * 1000
    resp = requests.post(f"{base}/webhooks/instagram", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": payloads.sign(common.APP_SECRET, raw)})
    assert resp.status_code == 200, resp.text
    return sent


def _tab(context, base: str, push: bool):
    page = context.new_page()
    # Without EventSource (…&nopush=1, see the init script) the page polls every 2 s, as before push.
    page.goto(f"{base}/inbox?status=all" + ("" if push else "&nopush=1"))
    page.evaluate(WATCH)
    if push:
        deadline = time.monotonic() + 10
        while not page.evaluate("window.keloaLive") and time.monotonic() < deadline:
            time.sleep(0.05)
    return page


def _latencies(base: str, pages: dict, samples: int, tag: str, start: int) -> dict[str, list[float]]:
    out = {name: [] for name in pages}
    for n in range(samples):
        text = f"push {tag} {n} {time.time_ns()}"
        sent = _post(base, start + n, text)
        deadline = time.monotonic() + 90
        waiting = set(pages)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                seen = pages[name].evaluate("(t) => window.__seen[t] || 0", text)
                if seen:
                    out[name].append(seen - sent)
                    waiting.discard(name)
            time.sleep(0.02)
        time.sleep(0.3)
    return out


def _drain(resp) -> None:
    """Read a stream until it is closed (by this benchmark, at the end)."""
    try:
        for _ in resp.iter_lines():
            pass
    except Exception:  # noqa: BLE001 - closed under the reader
        pass


def _p95_ms(base: str, path: str, runs: int, http: requests.Session) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        http.get(base + path, timeout=10)
        times.append((time.perf_counter() - t0) * 1000)
    return common.percentile(times, 95)


def _webhook_p95_ms(base: str, runs: int, start: int) -> float:
    times = []
    for n in range(runs):
        t0 = time.perf_counter()
        _post(base, start + n, f"load {n}")
        times.append((time.perf_counter() - t0) * 1000)
    return common.percentile(times, 95)


def run(ctx: common.Context) -> list[common.Row]:
    if not (common.has_route("/live") and common.has_module("playwright")):
        return [common.Row("push", "live stream in Chromium", None, "", note="no /live route or no Playwright here")]
    from playwright.sync_api import sync_playwright

    samples = 8 if ctx.quick else 20
    hidden_seconds = 5 if ctx.quick else 65  # a minute's throttled wake-up at least, before the samples
    db_url = common.sqlite_url(ctx, "push.db")
    common.migrate(db_url)
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx), SESSION_COOKIE_SECURE="0", WEB_CONCURRENCY="2",
                           LIVE_STREAMS_PER_PROCESS="40", LIVE_STREAMS_PER_USER="40",
                           AI_REPLY_DELAY_SECONDS="0")
    with common.InProcessApp(env):
        from keloa_web.accounts.passwords import hash_password
        from keloa_web.db import db
        from keloa_web.models import Channel, User

        with db.session_scope() as s:
            s.add(User(email="owner@example.com", name="Owner", role="admin", password_hash=hash_password(PASSWORD)))
            s.add(Channel(ig_account_id=payloads.IG_ACCOUNT, ig_username="keloa.coffee", page_id="104000000000101",
                          page_name="Keloa Coffee"))
    web, base = common.serve_keloa(ctx, env)
    common.start_workers(ctx, env, 2, sweeper=True)
    rows = []
    with sync_playwright() as pw:
        screen = _display(ctx)
        # One window with tabs, as a person has them (a background tab is hidden, and throttled:
        # Playwright turns Chromium's background throttling off by default; a person's Chromium has it on).
        browser = pw.chromium.launch_persistent_context(
            str(ctx.work / "chromium-profile"), executable_path="/usr/bin/chromium",
            headless=screen.get("headless", False), env=screen.get("env"), viewport={"width": 1280, "height": 900},
            ignore_default_args=["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                                 "--disable-backgrounding-occluded-windows"])
        try:
            browser.add_init_script("if (new URLSearchParams(location.search).has('nopush')) delete window.EventSource;")
            browser.add_init_script(HIDE)
            login = browser.pages[0] if browser.pages else browser.new_page()
            login.goto(f"{base}/login")
            login.get_by_label("Email").fill("owner@example.com")
            login.get_by_label("Password").fill(PASSWORD)
            login.get_by_role("button", name="Sign in").click()
            login.wait_for_url(f"{base}/inbox*")
            tabs = {"push": _tab(browser, base, True), "poll": _tab(browser, base, False)}
            assert tabs["poll"].evaluate("typeof window.EventSource") == "undefined"
            open_ms = {}
            for name, page in tabs.items():  # each measured as the tab in front
                page.bring_to_front()
                open_ms.update(_latencies(base, {name: page}, samples, f"open-{name}", 100 * len(open_ms)))
            # Hidden: as Chromium treats a tab hidden for more than five minutes (HIDE, above).
            for page in tabs.values():
                page.evaluate("window.__hide()")
            hidden = dict(tabs)
            assert all(p.evaluate("document.visibilityState") == "hidden" for p in hidden.values())
            time.sleep(hidden_seconds)
            hidden_ms = _latencies(base, hidden, max(4, samples // 2), "hidden", 1000)
        finally:
            browser.close()
    for label, goal, got in (("an open tab", GOAL_OPEN_MS, open_ms),
                              ("a tab hidden over 5 min (Chromium's throttling applied)", GOAL_HIDDEN_MS, hidden_ms)):
        push, poll = got["push"], got["poll"]
        p95 = common.percentile(push, 95) if push else None
        base_p95 = common.percentile(poll, 95) if poll else None
        print(f"  {label}: push {' '.join(f'{x:.0f}' for x in push)} ms; poll {' '.join(f'{x:.0f}' for x in poll)} ms")
        rows.append(common.Row("push", f"webhook → message in {label}, p95", p95, "ms", base_p95,
                               "2 s poll, same run", f"< {goal:.0f} ms", p95 is not None and p95 < goal,
                               f"{len(push)} of {len(push) if push else 0} seen; poll saw {len(poll)}",
                               higher_is_better=False))

    # 50 open streams: the server's CPU while they idle, and pages and webhooks with them.
    http = _signed_in(base)
    pids = _children(web.pid) + [web.pid]
    page_before = _p95_ms(base, "/inbox", 40, http)
    hook_before = _webhook_p95_ms(base, 40, 5000)
    cpu0 = _cpu_seconds(pids)
    time.sleep(10 if ctx.quick else 30)
    idle_none = _cpu_seconds(pids) - cpu0
    streams = []
    for _ in range(50):
        r = http.get(base + "/live", stream=True, timeout=(5, 600))
        streams.append(r)
        threading.Thread(target=_drain, args=(r,), daemon=True).start()
    opened = sum(1 for r in streams if r.status_code == 200)
    time.sleep(2)
    cpu0 = _cpu_seconds(pids)
    window = 10 if ctx.quick else 30
    time.sleep(window)
    idle_streams = _cpu_seconds(pids) - cpu0
    page_with = _p95_ms(base, "/inbox", 40, http)
    hook_with = _webhook_p95_ms(base, 40, 6000)
    for r in streams:
        r.close()
    rows += [
        common.Row("push", f"server CPU, {opened} idle streams open", idle_streams / window * 100, "% of a core",
                   idle_none / window * 100, "no stream", note=f"over {window} s; a heartbeat every 15 s each",
                   higher_is_better=False),
        common.Row("push", f"GET /inbox p95 with {opened} streams open", page_with, "ms", page_before, "none open",
                   "≈ none open", page_with < page_before * 1.5 + 5, higher_is_better=False),
        common.Row("push", f"webhook POST p95 with {opened} streams open", hook_with, "ms", hook_before, "none open",
                   "≈ none open", hook_with < hook_before * 1.5 + 5, higher_is_better=False),
    ]
    return rows
