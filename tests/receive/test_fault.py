"""Exactly once under faults: 2,000 events with duplicates, shuffled, a worker killed with -9
mid-run, Redis restarted mid-load and the SQLite database locked for 3 s by another process;
afterwards the rows are exactly the expected ones."""
from __future__ import annotations

import random
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.models import Contact, Conversation, Message, PendingRead, Reaction, WebhookEvent
from keloa_web.redis_server import EmbeddedRedis
from keloa_web.webhooks.parse import timestamp
from tests import helpers
from tests.receive.util import body, channel, encode, messaging, sign

BIZ = "17841400000000777"
BASE = 1_763_000_000_000


@pytest.fixture()
def own_redis(tmp_path):
    """This test restarts Redis, so it gets its own server (AOF on) instead of the shared one."""
    server = EmbeddedRedis(tmp_path / "fault-redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture()
def settings(settings, own_redis):
    settings["REDIS_URL"] = own_redis.url
    return settings


def _at(ms: int) -> datetime:
    return timestamp(ms, datetime(2030, 1, 1))[0]


def _scenario(rng: random.Random):
    """(bodies to post, expected state). Every event is its own delivery, as Meta mostly sends them."""
    customers = [f"9000000000000{i:02d}" for i in range(8)]
    events, inbound, echoes = [], {}, {}
    for i in range(1200):
        cust, ts = customers[i % 8], BASE + i * 1000
        inbound[f"m{i}"] = (cust, ts, f"hello {i} ✓")
        events.append(messaging(cust, BIZ, ts, message={"mid": f"m{i}", "text": f"hello {i} ✓"}))
    for i in range(200):
        cust, ts = customers[i % 8], BASE + i * 6000 + 500
        echoes[f"e{i}"] = (cust, ts)
        events.append(messaging(BIZ, cust, ts, message={"mid": f"e{i}", "text": f"reply {i}", "is_echo": True}))
    reactions = {}
    for mid in rng.sample(sorted(inbound), 150):
        cust, ts, _ = inbound[mid]
        first, second = ts + 10_000, ts + 20_000
        events.append(messaging(cust, BIZ, first, reaction={"mid": mid, "action": "react", "reaction": "love", "emoji": "❤️"}))
        if rng.random() < 0.5:
            events.append(messaging(cust, BIZ, second, reaction={"mid": mid, "action": "unreact"}))
            reactions[mid] = (False, "❤️")
        else:
            events.append(messaging(cust, BIZ, second, reaction={"mid": mid, "action": "react", "reaction": "laugh", "emoji": "😆"}))
            reactions[mid] = (True, "😆")
    seen = {}
    for mid in rng.sample(sorted(echoes), 100):
        cust, ts = echoes[mid]
        events.append({"timestamp": ts + 1000, "read": {"mid": mid}})  # no sender/recipient, as captured
        seen[cust] = max(seen.get(cust, 0), ts)
    deleted = set(rng.sample(sorted(inbound), 100))
    for mid in sorted(deleted):
        cust, ts, _ = inbound[mid]
        events.append(messaging(cust, BIZ, ts + 500, message={"mid": mid, "is_deleted": True}))
    assert len(events) == 1900
    bodies = [encode(body(BIZ, e)) for e in events]
    bodies += rng.sample(bodies, 100)  # Meta retries: the same delivery again
    rng.shuffle(bodies)
    return bodies, {"inbound": inbound, "echoes": echoes, "reactions": reactions, "seen": seen, "deleted": deleted}


def test_two_thousand_events_exactly_once_through_kill_redis_restart_and_a_locked_database(app, settings, own_redis, live_server):
    channel(BIZ)
    bodies, expected = _scenario(random.Random(5))
    http = requests.Session()
    url = f"{live_server}/webhooks/instagram"
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver(raw: bytes) -> None:
        resp = http.post(url, data=raw, headers={"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"},
                         timeout=30)
        with lock:
            statuses.append(resp.status_code)

    workers = [helpers.start_worker(settings)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(deliver, bodies[:700]))
            workers[-1].kill()  # -9, most likely inside a batch transaction
            workers[-1].wait()
            workers.append(helpers.start_worker(settings))
            list(pool.map(deliver, bodies[700:1300]))
            own_redis.stop()  # intake keeps storing; the worker waits for Redis
            list(pool.map(deliver, bodies[1300:1500]))
            own_redis.start()
            list(pool.map(deliver, bodies[1500:1600]))
            # Something else holds the SQLite database for 3 s (a backup tool, a stuck process):
            # intake and the worker wait for it, nothing fails, nothing is lost.
            locker = sqlite3.connect(settings["DATABASE_URL"].split("///", 1)[1], isolation_level=None,
                                     check_same_thread=False)
            locker.execute("BEGIN EXCLUSIVE")
            release = threading.Timer(3.0, locker.execute, args=("ROLLBACK",))
            release.start()
            list(pool.map(deliver, bodies[1600:1800]))
            release.join()
            locker.close()
            list(pool.map(deliver, bodies[1800:]))
        assert statuses.count(200) == 2000

        def drained():
            if workers[-1].poll() is not None:  # a supervisor restarts a worker that exited
                workers.append(helpers.start_worker(settings))
            db.session.rollback()
            return db.session.scalar(select(func.count()).where(WebhookEvent.status != "done")) == 0

        helpers.wait_until(drained, timeout=45, interval=0.5, message="every event to be applied")
    finally:
        for proc in workers:
            helpers.stop_process(proc)

    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 2000
    rows = {m.mid: m for m in db.session.scalars(select(Message))}
    assert set(rows) == set(expected["inbound"]) | set(expected["echoes"])  # nothing lost, nothing twice
    convs = {c.contact.igsid: c for c in db.session.scalars(select(Conversation))}
    assert len(convs) == 8 and db.session.scalar(select(func.count()).select_from(Contact)) == 8
    for mid, (cust, ts, text) in expected["inbound"].items():
        m = rows[mid]
        assert m.conversation_id == convs[cust].id and m.direction == "in" and m.sent_at == _at(ts)
        assert (m.deleted, m.text) == ((True, None) if mid in expected["deleted"] else (False, text))
    for mid, (cust, ts) in expected["echoes"].items():
        assert rows[mid].author_type == "instagram" and rows[mid].conversation_id == convs[cust].id
    reactions = {r.mid: r for r in db.session.scalars(select(Reaction))}
    # An unreact leaves the reaction inactive (its emoji no longer matters); the newest event wins.
    assert {mid: (r.active, r.emoji if r.active else None) for mid, r in reactions.items()} == {
        mid: (active, emoji if active else None) for mid, (active, emoji) in expected["reactions"].items()}
    for cust, conv in convs.items():
        assert conv.customer_seen_at == (_at(expected["seen"][cust]) if cust in expected["seen"] else None)
        assert conv.unread_count == 150  # every inbound message counted once, unsent ones included
        newest = max(ts for c, ts, _ in expected["inbound"].values() if c == cust)
        assert conv.last_customer_message_at == _at(newest)
    assert db.session.scalar(select(func.count()).select_from(PendingRead)) == 0
