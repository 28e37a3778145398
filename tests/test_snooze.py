"""Snooze and pending: out of the Open list until a time in the reader's zone or until the customer
writes; snoozed conversations wake by themselves (the periodic task) with a note; the thread warns
when a snooze would wake after Instagram's reply window closes."""
from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from keloa_web.db import db, utcnow
from keloa_web.inbox import snooze
from keloa_web.models import Conversation, Message
from tests import factories, helpers
from tests.receive.util import body, channel, messaging, post


def _conv(last_customer_ago=timedelta(minutes=5), name="Maya"):
    ch = factories.gen_channel(db.session)
    conv = factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name=name),
                                      last_customer_ago=last_customer_ago)
    db.session.commit()
    return conv


def _reload(conv_id):
    db.session.expire_all()
    return db.session.get(Conversation, conv_id)


def test_presets_are_in_the_readers_time_zone():
    lisbon, tokyo = ZoneInfo("Europe/Lisbon"), ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 12, 2, 22, 30)  # a Wednesday, 22:30 UTC (22:30 in Lisbon, 07:30 Thursday in Tokyo)
    assert snooze.until("1h", "", lisbon, now) == datetime(2026, 12, 2, 23, 30)
    assert snooze.until("tomorrow", "", lisbon, now) == datetime(2026, 12, 3, 9, 0)
    assert snooze.until("tomorrow", "", tokyo, now) == datetime(2026, 12, 4, 0, 0)  # Friday 9:00 in Tokyo
    assert snooze.until("monday", "", lisbon, now) == datetime(2026, 12, 7, 9, 0)
    assert snooze.until("custom", "2026-12-05T18:15", tokyo, now) == datetime(2026, 12, 5, 9, 15)
    assert snooze.until("reply", "", lisbon, now) is None
    assert snooze.reader_zone("Not/AZone") == ZoneInfo("UTC")
    for preset, custom, error in [("custom", "", "Choose a date and time"), ("custom", "2026-12-01T10:00", "passed"),
                                  ("custom", "2027-06-01T10:00", "up to 90 days"), ("nap", "", "Choose how long")]:
        with pytest.raises(snooze.SnoozeError, match=error):
            snooze.until(preset, custom, lisbon, now)


def test_snoozed_leaves_the_open_list_and_wakes_by_itself_with_a_note(agent_client, app):
    conv = _conv()
    resp = agent_client.post(f"/inbox/c/{conv.id}/snooze", htmx=True, data={"preset": "1h", "tz": "Europe/Lisbon"})
    assert resp.status_code == 200 and "Snoozed until" in html.unescape(resp.get_data(as_text=True))
    conv = _reload(conv.id)
    assert conv.status == "snoozed" and conv.snoozed_until > utcnow()
    assert "Maya" not in agent_client.get("/inbox").get_data(as_text=True)
    assert "Maya" in agent_client.get("/inbox?status=snoozed").get_data(as_text=True)
    conv.snoozed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    snooze.wake_snoozed()
    conv = _reload(conv.id)
    assert (conv.status, conv.snoozed_until) == ("open", None)
    notes = [m.text for m in db.session.scalars(select(Message).where(Message.conversation_id == conv.id))]
    assert notes[0].startswith("Snoozed by Aaron Agent until ") and notes[0].endswith("(Europe/Lisbon).")
    assert notes[1] == "Back from snooze: the time it was snoozed until has come."
    assert "Maya" in agent_client.get("/inbox").get_data(as_text=True)


def test_a_customer_message_ends_a_snooze_and_a_pending(app, client, agent_client, settings):
    biz = "17841400000000888"
    ch = channel(biz)
    for n, (status, until) in enumerate((("snoozed", utcnow() + timedelta(days=3)), ("pending", None))):
        sent = int(utcnow().timestamp() * 1000)
        post(client, body(biz, messaging(f"cust-{n}", biz, sent - 60_000, message={"mid": f"a{n}", "text": "hi"})))
        helpers.run_worker_burst(settings)
        conv = db.session.scalar(select(Conversation).where(Conversation.channel_id == ch.id).order_by(
            Conversation.id.desc()))
        conv.status, conv.snoozed_until = status, until
        db.session.commit()
        post(client, body(biz, messaging(f"cust-{n}", biz, sent, message={"mid": f"b{n}", "text": "hello?"})))
        helpers.run_worker_burst(settings)
        conv = _reload(conv.id)
        assert (conv.status, conv.snoozed_until) == ("open", None), status


def test_pending_and_back(agent_client, app):
    conv = _conv()
    resp = agent_client.post(f"/inbox/c/{conv.id}/status", htmx=True, data={"status": "pending"})
    assert "Marked pending" in resp.get_data(as_text=True) and _reload(conv.id).status == "pending"
    assert "Pending: waiting on the customer" in resp.get_data(as_text=True)
    agent_client.post(f"/inbox/c/{conv.id}/status", htmx=True, data={"status": "open"})
    assert _reload(conv.id).status == "open"
    assert agent_client.post(f"/inbox/c/{conv.id}/status", htmx=True, data={"status": "snoozed"}).status_code == 400


def test_a_bad_time_is_said_in_the_snooze_menu(agent_client, app):
    conv = _conv()
    resp = agent_client.post(f"/inbox/c/{conv.id}/snooze", htmx=True, data={"preset": "custom", "at": "", "tz": "UTC"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="snooze-error"' in page and "Choose a date and time to snooze until." in page
    assert '<details class="label-menu snooze-menu" id="snooze-menu" open>' in page
    assert _reload(conv.id).status == "open"


def test_the_thread_warns_when_a_snooze_would_wake_after_the_window_closes(agent_client, app):
    conv = _conv(last_customer_ago=timedelta(days=6))  # a person may reply for about one more day
    resp = agent_client.post(f"/inbox/c/{conv.id}/snooze", htmx=True, data={"preset": "monday", "tz": "UTC"})
    page = html.unescape(resp.get_data(as_text=True))
    assert "It wakes after Instagram's reply window closes" in page and "nobody can reply to it then" in page
    assert "Wakes after the reply window closes" in page and "reopen it to answer in time" in page
    soon = _conv(name="Leo")
    page = html.unescape(agent_client.post(f"/inbox/c/{soon.id}/snooze", htmx=True,
                                           data={"preset": "1h", "tz": "UTC"}).get_data(as_text=True))
    assert "Wakes after the reply window closes" not in page
