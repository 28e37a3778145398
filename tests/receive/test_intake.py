"""The webhook endpoint: handshake, signatures, size limit, malformed and hostile bodies."""
from __future__ import annotations

import json

import redis as redis_lib
import requests
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Contact, Conversation, Message, WebhookEvent
from keloa_web.redis_server import EmbeddedRedis
from keloa_web.webhooks import ingest, notify
from tests import helpers
from tests.conftest import VERIFY_TOKEN
from tests.receive.util import body, channel, count, messaging, post, sign

BIZ = "17841400000000001"


def test_handshake_echoes_the_challenge_only_for_our_token(client):
    ok = client.get(f"/webhooks/instagram?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    bad = client.get("/webhooks/instagram?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
    assert bad.status_code == 403 and "1" != bad.get_data(as_text=True)
    assert client.get("/webhooks/instagram").status_code == 403


def test_bad_or_missing_signature_is_refused_and_nothing_stored(client):
    payload = body(BIZ, messaging("c1", BIZ, 1_760_000_000_000, message={"mid": "m1", "text": "hi"}))
    assert post(client, payload, signature=None).status_code == 403
    assert post(client, payload, signature=sign(b"something else")).status_code == 403
    assert post(client, payload, signature=sign(json.dumps(payload).encode(), secret="wrong")).status_code == 403
    assert post(client, payload, signature="sha1=abc").status_code == 403
    assert count(WebhookEvent) == 0


def test_oversize_body_is_refused_before_anything_is_stored(app, client, live_server):
    app.config["WEBHOOK_MAX_BYTES"] = 2000
    big = json.dumps(body(BIZ, messaging("c1", BIZ, 1, message={"mid": "m1", "text": "x" * 3000}))).encode()
    assert post(client, big).status_code == 413
    # Chunked, without Content-Length: the read itself is capped.
    resp = requests.post(f"{live_server}/webhooks/instagram", data=iter([big[:1500], big[1500:]]),
                         headers={"X-Hub-Signature-256": sign(big), "Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 413
    assert count(WebhookEvent) == 0


def test_malformed_json_with_a_valid_signature_is_kept_as_failed(client):
    resp = post(client, b'{"object": "instagram", "entry": [')
    assert resp.status_code == 200
    (event,) = db.session.scalars(select(WebhookEvent)).all()
    assert event.status == "failed" and "not valid JSON" in event.error


def test_deeply_nested_json_with_a_valid_signature_is_kept_as_failed(app, client, settings):
    """100,000 nested arrays: Python's parser gives up with RecursionError (not a ValueError), which
    was a 500, so Meta would have retried it for hours. Now: stored as failed, answered 200, and the
    events page shows it."""
    deep = b'{"object": "instagram", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    resp = post(client, deep)
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "EVENT_RECEIVED"
    (event,) = db.session.scalars(select(WebhookEvent)).all()
    assert event.status == "failed" and "nested too deeply" in event.error
    helpers.run_worker_burst(settings)
    admin = helpers.make_user(app, email="events@example.com", role="admin")
    viewer = helpers.Client(app)
    viewer.login(admin.email)
    page = viewer.get("/admin/events/")
    assert page.status_code == 200 and "nested too deeply" in page.get_data(as_text=True)


def test_hostile_and_odd_bodies_never_break_ingest(app, client, settings):
    channel(BIZ)
    bodies = [
        {"object": "whatsapp_business_account", "entry": [{"id": BIZ, "changes": []}]},
        [1, 2, 3],
        {"object": "instagram", "entry": "nope"},
        {"object": "instagram", "entry": [None, 5, {"id": BIZ, "messaging": [None, "x", {}]}]},
        body(BIZ, messaging("c1", BIZ, 1_760_000_000_000, message={"mid": "m-script", "text": "<script>alert(1)</script>",
                                                                   "brand_new_field": {"deep": [1]}}, extra_key=True)),
        body(BIZ, messaging("c2", BIZ, 99_999_999_999_999_999, message={"mid": "m-future", "text": "absurd time"})),
        body(BIZ, messaging("c3", BIZ, -5, message={"mid": "m-past", "text": "negative time"})),
        body(BIZ, messaging("c4", BIZ, "not a time", message={"mid": "m-words", "text": "word time"})),
        body(BIZ, messaging("c5", BIZ, 1_760_000_000_000, message={"mid": "m-uni", "text": "Zalgo z̸̢̛a\u200b\u202e🏳️‍🌈 \x00 end"})),
        body(BIZ, messaging("c6", BIZ, 1_760_000_000_000, message={"mid": "m" * 5000, "text": "long mid"})),
        body(BIZ, messaging({"id": ["weird"]}, BIZ, 1_760_000_000_000, message={"mid": "m-nosender", "text": "?"})),
        body(BIZ, messaging("c7", BIZ, 1_760_000_000_000, message={"mid": "m-att", "attachments": [
            {"type": "hologram", "payload": {"url": "https://example.com/x"}}, "junk", {"type": None}]})),
    ]
    for b in bodies:
        assert post(client, b).status_code == 200
    lone_surrogate = ('{"object":"instagram","entry":[{"id":"%s","messaging":[{"sender":{"id":"c8"},'
                      '"recipient":{"id":"%s"},"timestamp":1760000000000,"message":{"mid":"m-sur","text":"a\\ud800b"}}]}]}'
                      % (BIZ, BIZ)).encode()
    assert post(client, lone_surrogate).status_code == 200
    helpers.run_worker_burst(settings)
    db.session.rollback()
    events = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    # a WhatsApp body, an entry that is no list, and one with no event Keloa knows hold nothing for it
    assert [e.status for e in events] == ["ignored", "failed", "ignored", "ignored"] + ["done"] * 9
    assert "not Instagram" in events[0].error and "not an object" in events[1].error

    def text(mid):
        return db.session.scalar(select(Message.text).where(Message.mid == mid))

    assert text("m-script") == "<script>alert(1)</script>"  # stored as sent; templates escape it
    future = db.session.scalar(select(Message).where(Message.mid == "m-future"))
    assert abs((future.sent_at - events[5].received_at).total_seconds()) < 1  # absurd time → time received
    assert db.session.scalar(select(Message).where(Message.mid == "m-past")).sent_at.year >= 2026
    assert "\x00" not in text("m-uni") and text("m-uni").startswith("Zalgo z̸̢̛a\u200b\u202e🏳️‍🌈")
    assert text("m-sur") == "a?b"
    long_mid = db.session.scalar(select(Message).where(Message.text == "long mid"))
    assert len(long_mid.mid) <= 300
    assert count(Message, Message.mid == "m-nosender") == 0 and "no customer id" in events[10].error
    assert db.session.scalar(select(Message.kind).where(Message.mid == "m-att")) == "unsupported"
    assert count(Contact) == 8 and count(Conversation) == 8


def test_redis_down_at_intake_still_stores_and_the_sweeper_applies_it(app, client, settings, tmp_path):
    channel(BIZ)
    server = EmbeddedRedis(tmp_path / "r", appendonly=False).start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("keloa_redis", None)
    server.stop()
    payload = body(BIZ, messaging("c1", BIZ, 1_760_000_000_000, message={"mid": "m-down", "text": "while down"}))
    assert post(client, payload).status_code == 200
    assert count(WebhookEvent, WebhookEvent.status == "pending") == 1

    server.start()
    # The worker runs the sweeper, which queues a drain once the event is a few seconds old.
    worker = helpers.start_worker({**settings, "REDIS_URL": server.url})
    try:
        helpers.wait_until(lambda: count(Message, Message.mid == "m-down") == 1, timeout=20,
                           message="the sweeper to apply the event")
    finally:
        helpers.stop_process(worker)
        server.stop()
    assert count(WebhookEvent, WebhookEvent.status == "done") == 1


def test_intake_sets_the_flag_and_queues_one_drain(app, client, redis_url):
    channel(BIZ)
    conn = redis_lib.Redis.from_url(redis_url)
    for i in range(5):
        post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_000_000 + i, message={"mid": f"q{i}", "text": "x"})))
    # The drain is asked for right after the answer, by the process' notifier thread.
    helpers.wait_until(lambda: conn.get(ingest.FLAG) == b"1", timeout=5, message="the drain flag")
    assert conn.llen("rq:queue:webhooks") == 1  # five events, one drain job


def test_a_webhook_after_the_notifier_went_idle_still_queues_a_drain(app, client, redis_url, monkeypatch):
    channel(BIZ)
    monkeypatch.setattr(notify, "IDLE_EXIT", 0.2)
    conn = redis_lib.Redis.from_url(redis_url)
    for round_ in range(3):
        conn.delete(ingest.FLAG, "rq:queue:webhooks")
        post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_000_000 + round_,
                                          message={"mid": f"idle{round_}", "text": "x"})))
        helpers.wait_until(lambda: conn.llen("rq:queue:webhooks") == 1, timeout=5, message="a drain job")
        # Let the thread end for lack of webhooks; the next one must start it again.
        helpers.wait_until(lambda: notify.notifier(app)._running_in is None, timeout=5, message="the idle exit")
    assert count(WebhookEvent, WebhookEvent.status == "pending") == 3


def test_metas_callback_app_answers_like_the_browser_app_without_cookies(app, settings, redis_url):
    """Production serves /webhooks/instagram from create_callback_app() (wsgi.py)."""
    from keloa_web import create_callback_app

    channel(BIZ)
    callbacks = create_callback_app(settings).test_client()
    payload = body(BIZ, messaging("c1", BIZ, 1_760_000_000_000, message={"mid": "m-cb", "text": "hi"}))
    raw = json.dumps(payload).encode()

    def send(signature):
        return callbacks.post("/webhooks/instagram", data=raw, headers={
            "X-Hub-Signature-256": signature, "Content-Type": "application/json", "Cookie": "session=forged"})

    resp = send(sign(raw))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "EVENT_RECEIVED"
    assert "Set-Cookie" not in resp.headers and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert send(sign(b"other")).status_code == 403
    ok = callbacks.get(f"/webhooks/instagram?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42")
    assert ok.get_data(as_text=True) == "42"
    assert callbacks.get("/inbox").status_code == 404  # nothing else is served by it
    assert count(WebhookEvent) == 1
    conn = redis_lib.Redis.from_url(redis_url)
    helpers.wait_until(lambda: conn.llen("rq:queue:webhooks") == 1, timeout=5, message="a drain job")
