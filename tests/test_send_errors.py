"""How each class of Send API failure ends, with real workers (retries need RQ's scheduler)."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from keloa_web.db import db
from keloa_web.models import Channel, Conversation, Message
from keloa_web.sends import outbox
from keloa_web.mids import latest_customer_mid
from keloa_web.sends.sender_actions import enqueue_mark_seen, mark_seen
from tests import factories, helpers


@pytest.fixture()
def fast_retries(settings):
    settings.update({"SEND_RETRY_BASE_SECONDS": "0.2", "SEND_MAX_ATTEMPTS": "3", "SEND_RETRY_MAX_SECONDS": "1"})


def _reply(conv_id: int, text: str = "Hello") -> int:
    with db.session_scope() as s:
        return outbox.create_outgoing(s, s.get(Conversation, conv_id), text=text).id


def _status(message_id: int) -> Message:
    db.session.rollback()  # end the read snapshot: see what the worker wrote
    return db.session.get(Message, message_id)


def _wait_status(message_id: int, *statuses: str, timeout: float = 20) -> Message:
    helpers.wait_until(lambda: _status(message_id).status in statuses, timeout, message=f"status in {statuses}")
    return _status(message_id)


def _sandbox_conv(sandbox, **conv) -> int:
    with db.session_scope() as s:
        return factories.sandbox_conversation(s, sandbox, factories.sandbox_channel(s, sandbox), **conv).id


def test_meta_rate_limit_is_retried_later_and_delivered(sandbox, fast_retries, app, worker):
    sandbox.control("POST", "config", json={"SANDBOX_RATE_LIMIT_PER_SECOND": 1})
    conv_id = _sandbox_conv(sandbox)
    ids = [_reply(conv_id, f"Message {n}") for n in range(4)]
    for message_id in ids:
        _wait_status(message_id, "sent")
    refused = [c for c in sandbox.control("GET", "calls")["data"] if c["status"] == 400 and c["path"].endswith("/messages")]
    assert refused, "the sandbox should have rate limited some sends"
    texts = sorted(r["text"] for r in sandbox.control("GET", "sent")["data"])
    assert texts == [f"Message {n}" for n in range(4)]


@pytest.mark.solo  # Keloa's bucket allows rate + burst = 4 calls in a second, the sandbox exactly 4
def test_keloas_own_limiter_keeps_under_metas_limit(sandbox, settings, app, worker):
    settings_rate = 3  # Keloa stays below Meta's limit, as SEND_RATE_PER_SECOND=90 does below 100
    sandbox.control("POST", "config", json={"SANDBOX_RATE_LIMIT_PER_SECOND": settings_rate + 1})
    conv_id = _sandbox_conv(sandbox)
    helpers.stop_process(worker)
    ids = [_reply(conv_id, f"Burst {n}") for n in range(8)]
    workers = [helpers.start_worker({**settings, "SEND_RATE_PER_SECOND": str(settings_rate)}) for _ in range(2)]
    try:
        for message_id in ids:
            _wait_status(message_id, "sent", timeout=30)
    finally:
        for w in workers:
            helpers.stop_process(w)
    statuses = [c["status"] for c in sandbox.control("GET", "calls")["data"] if c["path"].endswith("/messages")]
    assert statuses.count(200) == 8 and 400 not in statuses


def test_graph_down_is_retried_with_back_off_then_failed_with_the_reason(fast_retries, app, worker):
    with db.session_scope() as s:  # settings point Graph at a closed port
        conv_id = factories.gen_conversation(s).id
    message_id = _reply(conv_id)
    message = _wait_status(message_id, "failed")
    assert message.send_attempts == 3
    assert "could not be reached after 3 attempts" in message.error


class SlowGraph:
    """A Graph stand-in that accepts requests and answers too late."""

    def __init__(self, delay: float):
        self.delay, self.requests = delay, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer_late, args=(conn,), daemon=True).start()

    def _answer_late(self, conn):
        conn.recv(65536)
        time.sleep(self.delay)
        try:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
        except OSError:
            pass
        conn.close()


@pytest.fixture()
def slow_graph(settings):
    graph = SlowGraph(delay=2.0)
    settings.update({"GRAPH_API_BASE": graph.base, "GRAPH_TIMEOUT_SECONDS": "0.5"})
    yield graph
    graph.sock.close()


def test_timeout_after_the_request_left_is_unknown_and_not_resent(slow_graph, fast_retries, app, worker):
    with db.session_scope() as s:
        conv_id = factories.gen_conversation(s).id
    message_id = _reply(conv_id)
    message = _wait_status(message_id, "unknown")
    assert message.error.startswith("Unknown — check Instagram")
    time.sleep(1.5)
    assert slow_graph.requests == 1 and _status(message_id).status == "unknown"


@pytest.mark.parametrize("receipts_on", [True, False])
def test_mark_seen_only_with_the_toggle_on_and_only_once(sandbox, app, settings, receipts_on):
    with db.session_scope() as s:
        channel = factories.sandbox_channel(s, sandbox, read_receipts=receipts_on)
        conv = factories.sandbox_conversation(s, sandbox, channel)
        mid = conv.id
    conv = db.session.get(Conversation, mid)
    channel = db.session.get(Channel, conv.channel_id)
    last = latest_customer_mid(db.session, conv.id)
    queued = [enqueue_mark_seen(conv, channel, last) for _ in range(2)]  # opened twice
    mark_seen.enqueue(conv.id)  # even a stray duplicate job marks a message seen once
    helpers.run_worker_burst(settings)
    db.session.rollback()  # end the read snapshot: see what the worker wrote
    conv = db.session.get(Conversation, mid)
    assert enqueue_mark_seen(conv, channel, last) is False  # a third open: already marked
    seen = [r for r in sandbox.control("GET", "sent")["data"] if r["sender_action"] == "mark_seen"]
    assert queued == ([True, False] if receipts_on else [False, False])
    assert len(seen) == (1 if receipts_on else 0)
