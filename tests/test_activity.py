"""Activity lines in the thread (assigned, resolved, reopened, pending, snoozed, the AI's hand-offs)
from one log, the conversation's system notes; @mentions of teammates marked in notes, escaped."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Message
from keloa_web.templating import mentions
from tests import factories


def _lines(page: str) -> list[str]:
    return [html.unescape(re.sub(r"\s+", " ", t)).strip()
            for t in re.findall(r'<span class="activity-text">(.*?)</span>', page, re.S)]


def test_what_teammates_do_is_a_line_in_the_thread(admin_client, app, agent_user):
    conv = factories.gen_conversation(db.session)
    factories.gen_message(db.session, conv, "in", text="hello")
    db.session.commit()
    base = f"/inbox/c/{conv.id}"
    admin_client.post(f"{base}/assign", htmx=True, data={"assignee_id": str(agent_user.id)})
    admin_client.post(f"{base}/assign", htmx=True, data={"assignee_id": str(agent_user.id)})  # no change: no line
    admin_client.post(f"{base}/status", htmx=True, data={"status": "pending"})
    admin_client.post(f"{base}/status", htmx=True, data={"status": "resolved"})
    admin_client.post(f"{base}/status", htmx=True, data={"status": "open"})
    admin_client.post(f"{base}/snooze", htmx=True, data={"preset": "reply"})
    page = admin_client.get(base).get_data(as_text=True)
    assert _lines(page) == ["Assigned to Aaron Agent by Olivia Owner", "Marked pending by Olivia Owner",
                            "Resolved by Olivia Owner", "Reopened by Olivia Owner",
                            "Snoozed by Olivia Owner until the customer writes."]
    assert 'class="msg msg-activity" role="note"' in page
    admin_client.post(f"{base}/assign", htmx=True, data={"assignee_id": ""})
    assert _lines(admin_client.get(base).get_data(as_text=True))[-1] == "Unassigned by Olivia Owner"


def test_mentions_are_marked_and_everything_else_escaped():
    names = ["Tom Baker", "Olivia Owner"]
    assert str(mentions("ask @tom about <b>this</b>, and @Olivia Owner too; not @tomorrow", names)) == (
        'ask <mark class="mention">@tom</mark> about &lt;b&gt;this&lt;/b&gt;, and '
        '<mark class="mention">@Olivia Owner</mark> too; not @tomorrow')
    assert str(mentions("<script>@Tom</script>", names)) == (
        '&lt;script&gt;<mark class="mention">@Tom</mark>&lt;/script&gt;')
    assert str(mentions("no mention", [])) == "no mention"


def test_a_note_mentioning_a_teammate_shows_it_marked(admin_client, app, agent_user):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    admin_client.post(f"/inbox/c/{conv.id}/notes", htmx=True, data={"text": "@Aaron can you check <i>stock</i>?"})
    assert db.session.scalar(select(Message).where(Message.direction == "note")) is not None
    page = admin_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert '<mark class="mention">@Aaron</mark> can you check &lt;i&gt;stock&lt;/i&gt;?' in page
