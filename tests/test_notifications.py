"""Notifications: who is told what (each event kind, only teammates who may see the account, by
their preferences), the list and the bell's count, opening one, the live stream's events, and the
email digest through a real SMTP server on loopback when no tab is open."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from keloa_web.db import db, utcnow
from keloa_web.mailbox import Mailbox
from keloa_web.models import Conversation, Notification, User, channel_members
from keloa_web.notifications import digest, notify
from keloa_web.webhooks import ingest
from tests import factories, helpers
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000888"


def _kinds(email):
    db.session.rollback()
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == email))
    return [(n.kind, n.title) for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                                          .order_by(Notification.id))]


def test_each_event_tells_the_right_teammates(app, client, admin, agent_user):
    ch = channel(BIZ, display_name="Fern")
    outsider = helpers.make_user(app, email="otto@example.com", name="Otto", role="agent")
    tess = helpers.make_user(app, email="tess@example.com", name="Tess Teammate", role="agent")
    with db.session_scope() as s:  # Fern is restricted to Aaron and Tess (and the admins)
        s.execute(update(type(ch)).where(type(ch).id == ch.id).values(restricted=True))
        s.execute(insert(channel_members), [{"channel_id": ch.id, "user_id": u} for u in (agent_user.id, tess.id)])
    post(client, body(BIZ, messaging("maya", BIZ, int(utcnow().timestamp() * 1000),
                                     message={"mid": "m1", "text": "Is the ring in stock?"})))
    ingest.drain_batch()
    for email in ("owner@example.com", "agent@example.com", "tess@example.com"):
        assert _kinds(email) == [("new_conversation", "New conversation on Fern")], email
    assert _kinds("otto@example.com") == []  # no access to Fern: never told
    assert outsider.id

    conv_id = db.session.scalar(select(Conversation.id))
    with db.session_scope() as s:
        s.get(Conversation, conv_id).assignee_id = tess.id
    post(client, body(BIZ, messaging("maya", BIZ, int(utcnow().timestamp() * 1000) + 5,
                                     message={"mid": "m2", "text": "Size 7"})))
    ingest.drain_batch()
    assert _kinds("tess@example.com")[-1] == ("assigned_message", "Instagram user wrote")
    assert len(_kinds("agent@example.com")) == 1  # not assigned to Aaron

    aaron = helpers.Client(app)
    aaron.login("agent@example.com")
    aaron.post(f"/inbox/c/{conv_id}/notes", htmx=True, data={"text": "@Tess and @Otto, and @Aaron myself"})
    assert _kinds("tess@example.com")[-1] == ("mention", "Aaron Agent mentioned you about Instagram user")
    assert len(_kinds("agent@example.com")) == 1 and _kinds("otto@example.com") == []  # not the writer, not Otto

    with db.session_scope() as s:
        notify.handed_off(s, s.get(Conversation, conv_id), "AI handed this to a teammate: no answer")
        failed = factories.gen_message(s, s.get(Conversation, conv_id), direction="out", author_user_id=agent_user.id,
                                       status="failed", error="Instagram refused this message")
        notify.reply_failed(s, failed)
    assert _kinds("tess@example.com")[-1] == ("handoff", "Instagram user needs a person")  # the assignee
    assert _kinds("agent@example.com")[-1] == ("failed_reply", "A reply to Instagram user failed")  # its author


def test_preferences_choose_the_events_and_the_settings_page_keeps_them(app, admin_client, admin):
    resp = admin_client.post("/settings/notifications", data={"events": ["mention", "bogus"], "sound": "pop",
                                                               "desktop": "1"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Notification settings saved." in page
    assert 'value="mention" checked' in page and 'value="new_conversation" checked' not in page
    assert '<option value="pop" selected>' in page
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    with db.session_scope() as s:
        assert notify.new_conversation(s, s.get(Conversation, conv.id), "hello") == 0  # turned off
    db.session.expire_all()
    assert db.session.get(User, admin.id).notify_prefs == {"events": ["mention"], "sound": "pop", "desktop": True,
                                                           "email": False}


def test_the_bell_counts_unseen_the_list_sees_them_and_opening_one_opens_its_conversation(app, admin_client, admin):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    with db.session_scope() as s:
        notify.new_conversation(s, s.get(Conversation, conv.id), "first")
        notify.handed_off(s, s.get(Conversation, conv.id), "needs a person")
    page = admin_client.get("/settings").get_data(as_text=True)
    assert '<title>(2) Settings · Keloa</title>' in page and 'data-count="2"' in page
    listing = admin_client.get("/notifications").get_data(as_text=True)
    assert "New conversation: Customer" in listing and "needs a person" in listing
    assert 'data-count="0"' in listing  # seen by looking
    n = db.session.scalar(select(Notification).order_by(Notification.id))
    resp = admin_client.get(f"/notifications/{n.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/inbox/c/{conv.id}")
    other = helpers.make_user(app, email="bo@example.com", name="Bo", role="agent")
    bo = helpers.Client(app)
    bo.login("bo@example.com")
    assert bo.get(f"/notifications/{n.id}/open").status_code == 404 and other.id  # someone else's


def test_opening_the_conversation_sees_its_notifications(app, admin_client, admin):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    with db.session_scope() as s:
        notify.new_conversation(s, s.get(Conversation, conv.id), "first")
    assert 'data-count="1"' in admin_client.get("/inbox").get_data(as_text=True)
    page = admin_client.get(f"/inbox/c/{conv.id}", headers={"Sec-Fetch-Site": "same-origin"}).get_data(as_text=True)
    assert 'data-count="0"' in page


def test_the_stream_sends_changes_and_notifications_and_resumes_from_its_last_event_id(app, admin_client, admin):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    with db.session_scope() as s:
        from keloa_web import changes

        changes.touch(s, conv.id)
        notify.new_conversation(s, s.get(Conversation, conv.id), "hello <b>there</b>")
    app.config["LIVE_STREAM_SECONDS"] = 0.5  # one look, then the stream ends (the browser would reconnect)
    resp = admin_client.get("/live?cursor=0&n=0", buffered=True)
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/event-stream" and resp.headers["X-Accel-Buffering"] == "no"
    assert "event: changes\ndata: 1\n" in text
    notice = json.loads(text.split("event: notify\ndata: ", 1)[1].split("\n", 1)[0])
    assert notice["title"] == f"New conversation: {conv.contact.label}"
    assert notice["body"] == "hello <b>there</b>" and notice["url"].endswith(f"/notifications/{notice['id']}/open")
    last_id = [line for line in text.splitlines() if line.startswith("id: ")][-1][4:]
    again = admin_client.get("/live", headers={"Last-Event-ID": last_id}, buffered=True).get_data(as_text=True)
    assert "event: notify" not in again and "event: changes" not in again  # nothing new since


def test_the_stream_needs_a_user(app, client):
    resp = client.get("/live")
    assert resp.status_code in (302, 401)


@pytest.fixture()
def mailbox(app):
    with Mailbox() as box:
        app.config.update(MAIL_HOST=box.host, MAIL_PORT=box.port, NOTIFY_EMAIL_AFTER_SECONDS=0,
                          NOTIFY_DIGEST_MINUTES=5)
        yield box


def _deliver_all() -> None:
    """What the worker does with the queued `deliver` jobs."""
    from keloa_web.mail import deliver
    from keloa_web.models import OutgoingEmail

    db.session.rollback()
    for email_id in db.session.scalars(select(OutgoingEmail.id).where(OutgoingEmail.sent_at.is_(None))).all():
        deliver(email_id)


def _age(seconds: int) -> None:
    with db.session_scope() as s:
        s.execute(update(Notification).values(created_at=utcnow() - timedelta(seconds=seconds)))


def test_the_email_digest_goes_by_real_smtp_batched_and_only_when_no_tab_is_open(app, admin, mailbox):
    conv = factories.gen_conversation(db.session, contact=None)
    db.session.commit()
    with db.session_scope() as s:
        notify.new_conversation(s, s.get(Conversation, conv.id), "Is the ring in stock?")
        notify.handed_off(s, s.get(Conversation, conv.id), "no answer")
    _age(5)
    from keloa_web.jobs import get_redis
    from keloa_web.live.views import PRESENT_KEY

    get_redis().set(PRESENT_KEY.format(admin.id), "1", ex=30)  # a tab is open: no email
    assert digest.send_digests() == 0 and mailbox.messages == []
    get_redis().delete(PRESENT_KEY.format(admin.id))
    assert digest.send_digests() == 1
    _deliver_all()
    (mail,) = mailbox.wait_for(1)
    assert mail["To"] == "owner@example.com" and mail["Subject"] == "2 new notifications in Keloa"
    text = mail.get_body(("plain",)).get_content()
    assert "<br>" in mail.get_body(("html",)).get_content()  # and an HTML body beside it
    assert "New conversation: " in text and "Is the ring in stock?" in text and "needs a person: no answer" in text
    assert "/notifications/" in text and "/settings#notifications" in text
    # One email per few minutes: a new notification waits for the next digest.
    with db.session_scope() as s:
        notify.handed_off(s, s.get(Conversation, conv.id), "again")
    _age(5)
    assert digest.send_digests() == 0 and len(mailbox.messages) == 1
    with db.session_scope() as s:
        s.execute(update(User).values(last_digest_at=utcnow() - timedelta(minutes=6)))
    assert digest.send_digests() == 1
    _deliver_all()
    assert mailbox.wait_for(2)[1]["Subject"].endswith("needs a person")
    assert digest.send_digests() == 0  # nothing emailed twice


def test_no_email_for_what_was_seen_in_time_or_with_email_off(app, admin, mailbox):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    with db.session_scope() as s:
        notify.new_conversation(s, s.get(Conversation, conv.id), "hi")
        s.execute(update(Notification).values(seen_at=utcnow()))
    _age(5)
    assert digest.send_digests() == 0
    with db.session_scope() as s:
        s.get(User, admin.id).notify_prefs = {"email": False}
        notify.new_conversation(s, s.get(Conversation, conv.id), "hi again")
    _age(5)
    assert digest.send_digests() == 0 and mailbox.messages == []


def test_a_head_request_takes_no_stream_and_one_teammate_cannot_take_every_stream(app, admin_client):
    from keloa_web.live import views as live

    before = live.open_streams()
    for _ in range(30):
        assert admin_client.http.open("/live", method="HEAD").status_code == 200
    assert live.open_streams() == before
    held = [admin_client.get("/live") for _ in range(app.config["LIVE_STREAMS_PER_USER"])]  # left open, unread
    refused = admin_client.get("/live")
    assert refused.status_code == 503 and "polls instead" in refused.get_data(as_text=True)
    for resp in held:
        resp.close()
    assert live.open_streams() == before


def test_the_stream_ends_at_a_sign_out_even_while_the_inbox_is_busy(app, admin_client, admin):
    from keloa_web import changes
    from keloa_web.accounts.user_sessions import end_sessions

    conv = factories.gen_conversation(db.session)
    db.session.commit()
    resp = admin_client.get("/live?cursor=0&n=0")
    chunks = iter(resp.response)
    next(chunks)  # connected
    with db.session_scope() as s:
        end_sessions(s, admin.id)
        changes.touch(s, conv.id)  # a wake-up, not a heartbeat
    rest = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    assert "event: signed-out" in rest and "event: changes" not in rest
    resp.close()
