"""Replies through the Send API of the Meta sandbox, run by real worker processes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Channel, Conversation, Message
from keloa_web.sends import outbox
from tests import factories, helpers

THREE_DAYS = timedelta(days=3)


def _sent(sandbox):
    return [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"]


def _message_posts(sandbox):
    return [c for c in sandbox.control("GET", "calls")["data"]
            if c["method"] == "POST" and c["path"].endswith("/messages")]


def _reply(conv_id: int, text: str = "Thanks for writing!", **kw) -> int:
    with db.session_scope() as s:
        message = outbox.create_outgoing(s, s.get(Conversation, conv_id), text=text, **kw)
    return message.id


def _message(message_id: int) -> Message:
    db.session.rollback()  # end the read snapshot: see what the worker wrote
    return db.session.get(Message, message_id)


def _setup(sandbox, **conv):
    with db.session_scope() as s:
        channel = factories.sandbox_channel(s, sandbox)
        return factories.sandbox_conversation(s, sandbox, channel, **conv).id


def test_human_reply_inside_the_window_goes_out_untagged(sandbox, app, settings):
    conv_id = _setup(sandbox)
    message_id = _reply(conv_id, "We open at 9 ☕")
    helpers.run_worker_burst(settings)
    sent = _sent(sandbox)
    assert [(r["text"], r["messaging_type"], r["tag"]) for r in sent] == [("We open at 9 ☕", "RESPONSE", None)]
    message = _message(message_id)
    assert (message.status, message.mid, message.tag) == ("sent", sent[0]["mid"], None)


def test_human_reply_outside_keloas_window_goes_out_tagged(sandbox, app, settings):
    conv_id = _setup(sandbox)
    with db.session_scope() as s:  # Keloa's clock says the customer wrote 3 days ago
        s.get(Conversation, conv_id).last_customer_message_at -= THREE_DAYS
    message_id = _reply(conv_id)
    helpers.run_worker_burst(settings)
    assert [(r["messaging_type"], r["tag"]) for r in _sent(sandbox)] == [("MESSAGE_TAG", "HUMAN_AGENT")]
    assert _message(message_id).tag == "HUMAN_AGENT"


def test_ai_reply_outside_the_window_is_refused_before_any_graph_call(sandbox, app):
    conv_id = _setup(sandbox)
    with db.session_scope() as s:
        s.get(Conversation, conv_id).last_customer_message_at -= THREE_DAYS
    with pytest.raises(outbox.SendRefused, match="AI replies are off"):
        _reply(conv_id, author_type="ai")
    assert _message_posts(sandbox) == []
    assert db.session.scalars(select(Message).where(Message.direction == "out")).all() == []


def test_meta_refusing_an_untagged_human_reply_resends_it_tagged_once(sandbox, app, settings):
    conv_id = _setup(sandbox)
    sandbox.control("POST", "clock", json={"advance_hours": 25})  # Meta's clock: 25 h later; Keloa's: minutes
    message_id = _reply(conv_id)
    helpers.run_worker_burst(settings)
    assert [(r["messaging_type"], r["tag"]) for r in _sent(sandbox)] == [("MESSAGE_TAG", "HUMAN_AGENT")]
    assert [c["status"] for c in _message_posts(sandbox)] == [400, 200]
    assert (_message(message_id).status, _message(message_id).tag) == ("sent", "HUMAN_AGENT")
    conv = db.session.get(Conversation, conv_id)
    assert conv.meta_window_state == "untagged_refused"


def test_meta_refusing_a_tagged_reply_fails_it_and_remembers_the_window_closed(sandbox, app, settings):
    conv_id = _setup(sandbox)
    sandbox.control("POST", "clock", json={"advance_days": 8})
    message_id = _reply(conv_id)
    helpers.run_worker_burst(settings)
    assert _sent(sandbox) == []
    message = _message(message_id)
    assert message.status == "failed"
    assert message.error.startswith("Instagram no longer accepts replies here: re-engage by email or another channel")
    assert db.session.get(Conversation, conv_id).meta_window_state == "closed"
    with pytest.raises(outbox.SendRefused, match="re-engage"):  # the composer now knows
        _reply(conv_id, "one more try")


def test_meta_refusing_an_ai_reply_pauses_ai_and_flags_the_conversation(sandbox, app, settings):
    conv_id = _setup(sandbox)
    sandbox.control("POST", "clock", json={"advance_hours": 25})
    message_id = _reply(conv_id, author_type="ai")
    helpers.run_worker_burst(settings)
    assert _sent(sandbox) == [] and len(_message_posts(sandbox)) == 1  # never retried with the tag
    assert _message(message_id).status == "failed"
    conv = db.session.get(Conversation, conv_id)
    assert (conv.ai_paused, conv.needs_human, conv.meta_window_state) == (True, True, "untagged_refused")


def test_revoked_token_marks_the_channel_needs_reconnect(sandbox, app, settings):
    conv_id = _setup(sandbox)
    sandbox.control("POST", "tokens/revoke", json={"user": "ana", "reason": "password"})
    message_id = _reply(conv_id)
    helpers.run_worker_burst(settings)
    message = _message(message_id)
    assert message.status == "failed" and "reconnect" in message.error
    assert db.session.get(Channel, message.channel_id).status == "needs_reconnect"
    with pytest.raises(outbox.SendRefused, match="needs reconnecting"):
        _reply(conv_id)


def test_a_job_run_twice_sends_once(sandbox, app, settings):
    from keloa_web.sends.deliver import send_message

    conv_id = _setup(sandbox)
    message_id = _reply(conv_id)
    send_message.enqueue(message_id)  # a duplicate of the job the outbox queued, and one more
    send_message.enqueue(message_id)
    helpers.run_worker_burst(settings)
    assert len(_sent(sandbox)) == 1 and _message(message_id).status == "sent"


def test_a_reply_queued_by_the_previous_version_is_sent_after_an_upgrade(sandbox, app, settings):
    """RQ stores a job as its function's dotted path: replies an older Keloa queued under
    keloa_web.sends.jobs must still go out once the send jobs have moved."""
    from keloa_web.jobs import get_queue, get_redis

    conv_id = _setup(sandbox)
    message_id = _reply(conv_id)
    get_redis().flushdb()  # only the old version's job is left in Redis
    get_queue("sends").enqueue("keloa_web.sends.jobs.send_message", message_id)
    helpers.run_worker_burst(settings)
    assert [r["text"] for r in _sent(sandbox)] == ["Thanks for writing!"]
    assert _message(message_id).status == "sent"


def test_echo_that_beats_the_response_is_merged_into_the_reply(app):
    from keloa_web.sends.deliver import _record_sent

    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        message_id = outbox.create_outgoing(s, conv, text="Echo race").id
        # The echo webhook was ingested first, as "sent from Instagram", under the mid Meta returns.
        factories.gen_message(s, conv, "out", text="Echo race", author_type="instagram", mid="mid-echo-1")
    _record_sent(message_id, "mid-echo-1")
    db.session.rollback()
    rows = db.session.scalars(select(Message).where(Message.direction == "out")).all()
    assert [(m.id, m.mid, m.author_type, m.status) for m in rows] == [(message_id, "mid-echo-1", "user", "sent")]


def test_photo_reply_is_handed_to_meta_by_a_signed_url_it_can_fetch(sandbox, app, live_server, settings, agent_client):
    import io
    import struct
    import zlib

    def png() -> bytes:
        raw = b"".join(b"\0" + b"\xff\x80\x00" * 4 for _ in range(4))
        chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(  # noqa: E731
            ">I", zlib.crc32(kind + data))
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

    conv_id = _setup(sandbox)
    resp = agent_client.post(f"/inbox/c/{conv_id}/messages", htmx=True, content_type="multipart/form-data",
                             data={"text": "", "file": (io.BytesIO(png()), "latte.png")})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    helpers.run_worker_burst({**settings, "PUBLIC_BASE_URL": live_server})
    (sent,) = _sent(sandbox)
    assert sent["attachments"][0]["type"] == "image"
    assert sent["attachments"][0]["source_url"].startswith(f"{live_server}/m/")
    message = db.session.scalars(select(Message).where(Message.direction == "out")).one()
    assert (message.status, message.kind, message.mid) == ("sent", "image", sent["mid"])


def test_a_send_stranded_by_a_dead_worker_becomes_unknown(app):
    from datetime import timedelta

    from keloa_web.db import utcnow
    from keloa_web.sends.sweeps import settle_stranded_sends

    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        old = factories.gen_message(s, conv, "out", status="sending", mid=None, sent_at=utcnow() - timedelta(minutes=11))
        fresh = factories.gen_message(s, conv, "out", status="sending", mid=None)
    settle_stranded_sends()
    assert _message(old.id).status == "unknown" and "check Instagram" in _message(old.id).error
    assert _message(fresh.id).status == "sending"


def test_a_reply_whose_job_was_lost_with_redis_is_queued_again_and_sent_once(sandbox, app, settings, redis_url):
    import redis as redis_lib

    from keloa_web.db import utcnow
    from keloa_web.sends.deliver import send_message
    from keloa_web.sends.sweeps import requeue_lost_sends

    conv_id = _setup(sandbox)
    lost = _reply(conv_id, "Lost with Redis")
    waiting = _reply(conv_id, "Waiting for a retry")
    redis_lib.Redis.from_url(redis_url).flushall()  # Redis restarted without its data
    send_message.enqueue_in(3600, waiting)  # this one failed once and has its retry an hour away
    with db.session_scope() as s:
        for message_id in (lost, waiting):
            s.get(Message, message_id).sent_at = utcnow() - timedelta(minutes=3)
        s.get(Message, waiting).send_attempts = 1
    requeue_lost_sends()
    requeue_lost_sends()  # a second sweep finds the job it queued and adds nothing
    helpers.run_worker_burst(settings)
    assert [r["text"] for r in _sent(sandbox)] == ["Lost with Redis"]
    assert _message(lost).status == "sent" and _message(waiting).status == "queued"


def test_new_replies_go_out_through_a_few_drains_per_account_in_order(sandbox, app, settings):
    from keloa_web.jobs import get_queue

    app.config["SEND_DRAINS_PER_ACCOUNT"] = settings["SEND_DRAINS_PER_ACCOUNT"] = "2"
    conv_id = _setup(sandbox)
    ids = [_reply(conv_id, f"Reply {n}") for n in range(6)]
    jobs = get_queue("sends").jobs
    assert [(j.func_name.rsplit(".", 1)[-1], j.args) for j in jobs] == [("send_fresh", (_message(ids[0]).channel_id,))] * 2
    helpers.run_worker_burst(settings)
    assert [r["text"] for r in _sent(sandbox)] == [f"Reply {n}" for n in range(6)]  # oldest first, each once
    assert {_message(i).status for i in ids} == {"sent"}
    # The drains gave their slots back: the next reply gets a drain of its own.
    later = _reply(conv_id, "Later")
    assert [j.func_name.rsplit(".", 1)[-1] for j in get_queue("sends").jobs] == ["send_fresh"]
    helpers.run_worker_burst(settings)
    assert _message(later).status == "sent"


def test_a_teammate_replies_to_one_message_and_the_thread_quotes_it(sandbox, app, settings, agent_client):
    """The composer's "Reply to this" sends the Send API's reply_to; the thread shows the reply with a
    quote of the message it answers, and a reply to a message that is gone is refused with the draft kept."""
    conv_id = _setup(sandbox, text="Can I book a table for 4?")
    asked = db.session.scalar(select(Message).where(Message.conversation_id == conv_id, Message.direction == "in"))
    page = agent_client.get(f"/inbox/c/{conv_id}?reply_to={asked.id}").get_data(as_text=True)
    assert "Replying to: <q id=\"replying-quote\">Can I book a table for 4?</q>" in page
    resp = agent_client.post(f"/inbox/c/{conv_id}/messages", data={"text": "Yes, at 8?", "reply_to": str(asked.id)},
                             htmx=True)
    assert resp.status_code == 200
    helpers.run_worker_burst(settings)
    (sent,) = _sent(sandbox)
    assert sent["text"] == "Yes, at 8?" and sent["reply_to"] == {"mid": asked.mid}
    html = agent_client.get(f"/inbox/c/{conv_id}").get_data(as_text=True)
    thread = html[html.index('id="thread-messages"'):]
    reply = thread[thread.index("Yes, at 8?") - 600:thread.index("Yes, at 8?")]
    assert 'class="quote"' in reply and "Can I book a table for 4?" in reply

    with db.session_scope() as s:
        s.get(Message, asked.id).deleted = True
    resp = agent_client.post(f"/inbox/c/{conv_id}/messages", data={"text": "Still there?", "reply_to": str(asked.id)},
                             htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "That message can no longer be replied to" in body and "Still there?" in body
    assert len(_sent(sandbox)) == 1
