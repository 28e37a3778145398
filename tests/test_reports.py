"""Reports from hand-built conversations with known timings: a first reply after 5 minutes and a
resolution after 2 hours, an AI hand-off, one answered only after 30 hours (Human agent), one left
unanswered until the window closed; every figure, a chart's data points, the CSV exports and a
conversation's transcript (CSV quoting what would run as a formula, JSON), with access checked."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

import pytest

from keloa_web.db import db, utcnow
from keloa_web.models import ConversationEvent, EventKind, KnowledgeGap
from tests import factories, helpers


def _text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


@pytest.fixture()
def world(app, admin):
    now = utcnow().replace(second=0, microsecond=0)
    s = db.session
    tess = helpers.make_user(app, email="tess@example.com", name="Tess Teammate")
    channel = factories.gen_channel(s)
    a_at = now - timedelta(days=2, hours=3)
    a = factories.gen_conversation(s, channel, created_at=a_at, first_reply_at=a_at + timedelta(minutes=5),
                                   assignee_id=tess.id)
    factories.gen_message(s, a, sent_at=a_at, text="Do you ship to Porto?")
    factories.gen_message(s, a, "out", sent_at=a_at + timedelta(minutes=5), author_type="user", author_user_id=tess.id)
    factories.gen_message(s, a, "out", sent_at=a_at + timedelta(minutes=9), author_type="ai")
    factories.gen_message(s, a, "out", sent_at=a_at + timedelta(minutes=20), author_type="user",
                          author_user_id=tess.id, status="failed")
    s.add(ConversationEvent(conversation_id=a.id, channel_id=channel.id, kind=EventKind.RESOLVED,
                            at=a_at + timedelta(hours=2)))
    s.add(ConversationEvent(conversation_id=a.id, channel_id=channel.id, kind=EventKind.HANDED_OFF,
                            at=a_at + timedelta(minutes=3), detail="No answer in the knowledge base. Asked: porto"))
    s.add(ConversationEvent(conversation_id=a.id, channel_id=channel.id, kind=EventKind.HANDED_OFF,
                            at=a_at + timedelta(minutes=12), detail="The customer asked for a person."))
    agent = factories.gen_agent(s)
    s.add(KnowledgeGap(agent_id=agent.id, kind="corrected", question="ship to porto?", conversation_id=a.id,
                       created_at=a_at + timedelta(minutes=15)))
    c_at = now - timedelta(days=4)
    c = factories.gen_conversation(s, channel, created_at=c_at, first_reply_at=c_at + timedelta(hours=30))
    factories.gen_message(s, c, sent_at=c_at, text="=HYPERLINK(\"http://x.example\")")
    factories.gen_message(s, c, "out", sent_at=c_at + timedelta(hours=30), author_type="user", author_user_id=admin.id,
                          tag="HUMAN_AGENT")
    b_at = now - timedelta(days=3)
    b = factories.gen_conversation(s, channel, created_at=b_at, first_reply_at=None)
    factories.gen_message(s, b, sent_at=b_at)
    old = factories.gen_conversation(s, channel, created_at=now - timedelta(days=60))  # outside the 30 days
    factories.gen_message(s, old, sent_at=now - timedelta(days=60))
    s.commit()
    return {"a": a, "b": b, "c": c, "channel": channel, "tess": tess, "a_at": a_at}


def test_every_figure_of_a_hand_built_month(admin_client, world):
    html = _text(admin_client.get("/reports/?period=30d"))
    tiles = re.findall(r'<span class="tile-value">([^<]*)</span><span class="tile-label">([^<]*)</span>', html)
    figures = {label: value for value, label in tiles}
    assert figures["conversations opened"] == "3"
    assert figures["first response, median (p90 1 d 6 h)"] == "5 min"  # 5 min and 30 h: median_low, p90
    assert figures["resolution, median (p90 2 h 00 min; 1 resolved)"] == "2 h 00 min"
    assert figures["messages in / out"] == "3 / 4"
    rows = dict(re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>', html))
    assert rows["First answered within 24 h"] == "1"
    assert rows["Answered only later, with a Human agent reply"] == "1"
    assert rows["Unanswered until the window closed (lost)"] == "1"
    assert rows["Replies Instagram refused / did not confirm"] == "1 / 0"
    assert rows["Replies by the AI"] == "1 (33 % of customer messages)"
    assert rows["Hand-offs to a teammate"] == "2 (67 % of the AI's turns)"
    assert rows["AI answers a teammate corrected"] == "1"
    assert rows["Hand-offs after the AI had answered"] == "1"  # the second: 3 minutes after the AI's reply
    assert "<td>No answer in the knowledge base</td><td>1</td>" in html
    assert "<td>The customer asked for a person</td><td>1</td>" in html
    assert re.search(r"<td>Tess Teammate</td><td>2</td>.*<td>Olivia Owner</td><td>1</td>", html, re.S)
    # The heatmap's data point for the hour of conversation A's first message (UTC reader).
    at = world["a_at"]
    cells = re.findall(r'<rect x="[^"]+" y="[^"]+" width="20" height="20" rx="3" fill="#5b3cc4" '
                       r'fill-opacity="[^"]+" data-value="(\d+)"><title>(\w+) (\d\d):00', html)
    lit = {(day, int(hour)): int(v) for v, day, hour in cells if int(v)}
    assert lit[(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[at.weekday()], at.hour)] >= 1
    assert sum(lit.values()) == 3  # the three customer messages of the period, none from 60 days ago
    opened_bars = re.findall(r'<rect [^>]*data-value="(\d+)"><title>(\d{4}-\d\d-\d\d): ', html)
    assert len(opened_bars) == 30 and sum(int(v) for v, _ in opened_bars) == 3  # a bar per day of the 30
    points = re.findall(r'<circle [^>]*data-value="(\d+)"><title>(\d{4}-\d\d-\d\d): ', html)
    assert len(points) == 30 and sum(int(v) for v, _ in points) == 3  # the line: customer messages per day


def test_the_csv_exports_hold_the_same_numbers(admin_client, world):
    resp = admin_client.get("/reports/summary.csv?period=30d")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="keloa-summary-')
    summary = dict(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert summary["conversations opened"] == "3" and summary["first response median (s)"] == "300"
    assert summary["resolution median (s)"] == "7200" and summary["unanswered until the window closed"] == "1"
    days = list(csv.reader(io.StringIO(admin_client.get("/reports/days.csv?period=7d").get_data(as_text=True))))
    assert days[0] == ["day", "conversations opened", "customer messages"] and len(days) == 8
    assert sum(int(r[1]) for r in days[1:]) == 3
    teammates = list(csv.reader(io.StringIO(admin_client.get("/reports/teammates.csv").get_data(as_text=True))))
    assert teammates[1] == ["Tess Teammate", "2"]


def test_a_teammate_sees_their_own_figures(app, world):
    tess = helpers.Client(app)
    tess.login("tess@example.com")
    html = _text(tess.get("/reports/"))
    assert "Your own figures" in html
    assert re.search(r'<span class="tile-value">1</span><span class="tile-label">conversations opened', html)
    assert 'name="teammate"' not in html


def test_a_wrong_custom_period_is_said_on_the_form(admin_client, world):
    resp = admin_client.get("/reports/?period=custom&from=2026-11-20&to=2026-11-01")
    html = _text(resp)
    assert resp.status_code == 400 and "The period ends before it starts: swap the days." in html
    assert 'value="2026-11-20"' in html and 'aria-invalid="true"' in html
    resp = admin_client.get("/reports/?period=custom&from=2026-11-01&to=2026-11-20")
    assert resp.status_code == 200 and "01 Nov 2026 – 20 Nov 2026" in _text(resp)


def test_a_transcript_exports_as_csv_and_json_and_needs_access(app, admin_client, world):
    conv = world["c"]
    rows = list(csv.reader(io.StringIO(admin_client.get(f"/reports/transcript/{conv.id}.csv").get_data(as_text=True))))
    assert rows[0][:4] == ["sent_at", "direction", "author", "kind"]
    assert rows[1][4] == "'=HYPERLINK(\"http://x.example\")"  # never a formula in a spreadsheet
    assert rows[2][2] == "Olivia Owner"
    data = json.loads(admin_client.get(f"/reports/transcript/{conv.id}.json").get_data(as_text=True))
    assert data["conversation"] == conv.id and data["messages"][0]["text"] == "=HYPERLINK(\"http://x.example\")"
    with db.session_scope() as s:
        from keloa_web.models import Channel

        s.get(Channel, world["channel"].id).restricted = True
    tess = helpers.Client(app)
    tess.login("tess@example.com")
    assert tess.get(f"/reports/transcript/{conv.id}.json").status_code == 404
    assert "conversations opened" in _text(tess.get("/reports/"))
    assert re.search(r'<span class="tile-value">0</span><span class="tile-label">conversations opened',
                     _text(tess.get("/reports/")))


def test_a_teammates_replies_are_only_their_own_and_days_typed_in_are_used(app, admin_client, world):
    tess = helpers.Client(app)
    tess.login("tess@example.com")
    conv = world["a"]
    factories.gen_message(db.session, conv, "out", author_type="user", author_user_id=helpers_admin_id(),
                          sent_at=world["a_at"] + timedelta(minutes=30))
    db.session.commit()
    html = _text(tess.get("/reports/"))
    assert "<td>Tess Teammate</td><td>2</td>" in html and "Olivia Owner" not in html
    typed = _text(admin_client.get("/reports/?period=30d&from=2026-11-01&to=2026-11-15"))
    assert "01 Nov 2026 – 15 Nov 2026" in typed and '<option value="custom" selected>' in typed
    far = admin_client.get("/reports/?period=custom&from=9999-12-30&to=9999-12-31")
    assert far.status_code == 400 and "Choose days between the years 2000 and 2100." in _text(far)
    assert admin_client.get("/reports/days.csv").headers["Cache-Control"] == "no-store"


def helpers_admin_id() -> int:
    from sqlalchemy import select

    from keloa_web.models import User

    return db.session.scalar(select(User.id).where(User.email == "owner@example.com"))
