"""On PostgreSQL, two workers drain in parallel (FOR UPDATE SKIP LOCKED) and still apply every
event exactly once, with counters that no drain overwrites."""
from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.models import Conversation, Message, Reaction, WebhookEvent
from keloa_web.webhooks.ingest import drain_webhook_events
from tests import helpers
from tests.receive.util import body, channel, encode, messaging, post, sign

pytestmark = pytest.mark.postgres
BIZ = "17841400000000888"
T = 1_763_000_000_000


@pytest.fixture()
def settings(settings, postgres_url):
    return helpers.on_postgres(settings, postgres_url)


def test_parallel_drains_on_postgresql_apply_each_event_once(app, client, settings):
    channel(BIZ)
    events = []
    for i in range(400):
        cust = f"92000000000000{i % 5}"
        events.append(messaging(cust, BIZ, T + i * 1000, message={"mid": f"p{i}", "text": f"msg {i}"}))
        if i % 4 == 0:
            events.append(messaging(cust, BIZ, T + i * 1000 + 1, reaction={"mid": f"p{i}", "action": "react",
                                                                         "reaction": "like", "emoji": "👍"}))
    deliveries = events + random.Random(3).sample(events, 60)
    random.Random(4).shuffle(deliveries)
    for event in deliveries:
        assert post(client, body(BIZ, event)).status_code == 200
    drain_webhook_events.enqueue()  # a second drain job, so that both workers drain at once
    workers = [helpers.start_worker(settings, "--queues", "webhooks") for _ in range(2)]
    try:
        def drained():
            db.session.rollback()
            return db.session.scalar(select(func.count()).where(WebhookEvent.status != "done")) == 0

        helpers.wait_until(drained, timeout=60, interval=0.5, message="both workers to drain everything")
    finally:
        for proc in workers:
            helpers.stop_process(proc)
    assert db.session.scalar(select(func.count()).select_from(Message)) == 400
    assert db.session.scalar(select(func.count()).select_from(Reaction)) == 100
    convs = db.session.scalars(select(Conversation)).all()
    assert len(convs) == 5 and all(c.unread_count == 80 for c in convs)


def test_a_dropped_database_connection_does_not_lose_the_next_webhook(app, client, settings, postgres_url):
    """Intake's PostgreSQL pool skips the pre-ping round trip; a connection that died meanwhile
    (server restart, idle timeout) is replaced and the body stored all the same."""
    import psycopg

    channel(BIZ)
    assert post(client, body(BIZ, messaging("93000000000001", BIZ, T, message={"mid": "d1", "text": "a"}))).status_code == 200
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    second = post(client, body(BIZ, messaging("93000000000001", BIZ, T + 1, message={"mid": "d2", "text": "b"})))
    assert second.status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 2


def test_webhooks_arriving_together_share_inserts_and_are_all_stored(app, settings):
    """Concurrent requests of one process share multi-row inserts; each answers after its row is in."""
    from concurrent.futures import ThreadPoolExecutor

    from keloa_web import create_callback_app

    channel(BIZ)
    callbacks = create_callback_app(settings)

    def deliver(n: int) -> int:
        client = callbacks.test_client()
        payload = body(BIZ, messaging("93000000000002", BIZ, T + n, message={"mid": f"g{n}", "text": f"{n}"}))
        raw = encode(payload)
        return client.post("/webhooks/instagram", data=raw, headers={
            "X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(deliver, range(200)))
    assert statuses == [200] * 200
    db.session.rollback()
    stored = db.session.scalars(select(WebhookEvent.body)).all()
    texts = [json.loads(b)["entry"][0]["messaging"][0]["message"]["text"] for b in stored]
    assert sorted(int(t) for t in texts) == list(range(200))
