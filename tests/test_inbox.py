"""The inbox pages: list, filters, search, pagination, thread, composer, actions, live poll."""
from __future__ import annotations

import html as html_lib

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from keloa_web import changes
from keloa_web.db import db, utcnow
from keloa_web.models import Conversation, Message
from tests import factories


def _conv(s, name="Maya Lopez", username="maya.lopez", text="Do you have oat milk?", ago=timedelta(minutes=5), **kw):
    channel = kw.pop("channel", None) or factories.gen_channel(s)
    contact = factories.gen_contact(s, channel, name=name, username=username)
    conv = factories.gen_conversation(s, channel, contact, last_customer_ago=ago, last_message_preview=text, **kw)
    factories.gen_message(s, conv, "in", text=text, sent_at=utcnow() - ago)
    return conv


def test_root_redirects_to_the_inbox(agent_client):
    resp = agent_client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox")


def test_list_shows_conversations_with_preview_window_and_unread(agent_client):
    with db.session_scope() as s:
        _conv(s, unread_count=2)
    html = agent_client.get("/inbox").get_data(as_text=True)
    assert "Maya Lopez" in html and "@maya.lopez" in html and "Do you have oat milk?" in html
    assert "Window open" in html and 'aria-label="2 unread"' in html


def test_thread_renders_and_clears_unread(agent_client):
    with db.session_scope() as s:
        conv_id = _conv(s, unread_count=3).id
    resp = agent_client.get(f"/inbox/c/{conv_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Do you have oat milk?" in html and "Reply window open" in html
    db.session.rollback()
    assert db.session.get(Conversation, conv_id).unread_count == 0


def _ids(html: str, convs) -> list[int]:
    return [c.id for c in convs if f'id="conv-{c.id}"' in html]


def test_filters_open_resolved_unread_mine_and_channel(agent_client, agent_user):
    with db.session_scope() as s:
        other = factories.gen_channel(s)
        a = _conv(s, name="Open One")
        b = _conv(s, name="Resolved One", status="resolved")
        c = _conv(s, name="Unread One", unread_count=1)
        d = _conv(s, name="Mine One", assignee_id=agent_user.id)
        e = _conv(s, name="Other Channel", channel=other)
    convs = [a, b, c, d, e]
    get = lambda q: agent_client.get(f"/inbox?{q}", htmx=True).get_data(as_text=True)  # noqa: E731
    assert _ids(get(""), convs) == [a.id, c.id, d.id, e.id]
    assert _ids(get("status=resolved"), convs) == [b.id]
    assert _ids(get("status=all"), convs) == [a.id, b.id, c.id, d.id, e.id]
    assert _ids(get("unread=1"), convs) == [c.id]
    assert _ids(get("mine=1"), convs) == [d.id]
    assert _ids(get(f"channel={other.id}"), convs) == [e.id]


def test_search_by_name_username_and_message_text(agent_client):
    with db.session_scope() as s:
        a = _conv(s, name="Leo Park", username="leopark", text="Is the café open on Sunday?")
        b = _conv(s, name=None, username="zoe_z", text="100% arabica?")
        c = _conv(s, name="Maya Lopez", username="maya.lopez", text="Thanks")
    convs = [a, b, c]
    search = lambda q: _ids(agent_client.get("/inbox", query_string={"q": q}, htmx=True).get_data(as_text=True), convs)  # noqa: E731
    assert search("leo") == [a.id]
    assert search("@zoe") == [b.id]
    assert search("sunday") == [a.id]
    assert search("100%") == [b.id]  # LIKE wildcards are literal
    assert search("nobody") == []
    assert "No conversation matches" in agent_client.get("/inbox?q=nobody", htmx=True).get_data(as_text=True)


def test_htmx_requests_get_a_fragment_and_load_more_appends_rows(agent_client):
    with db.session_scope() as s:
        channel = factories.gen_channel(s)
        convs = [_conv(s, name=f"Customer {n:02d}", channel=channel, ago=timedelta(minutes=n)) for n in range(55)]
    resp = agent_client.get("/inbox", htmx=True)
    html = resp.get_data(as_text=True)
    assert "<html" not in html and "HX-Request" in resp.headers["Vary"]
    assert len(_ids(html, convs)) == 50 and "Load more conversations" in html
    import re

    more_url = re.search(r'hx-get="(/inbox\?before=[^"]+)"', html).group(1).replace("&amp;", "&")
    more = agent_client.get(more_url, htmx=True).get_data(as_text=True)
    assert _ids(more, convs) == [c.id for c in convs[50:]] and "Load more" not in more and "<html" not in more
    full = agent_client.get("/inbox")
    assert full.get_data(as_text=True).startswith("<!doctype html>") and "HX-Request" in full.headers["Vary"]


def test_instagram_text_and_names_are_rendered_inert(agent_client):
    with db.session_scope() as s:
        conv = _conv(s, name="<script>alert(1)</script>", username="x", text="<img src=x onerror=alert(2)>")
        factories.gen_message(s, conv, "in", kind="share", link_url="javascript:alert(3)", link_title="<b>t</b>")
    for html in (agent_client.get("/inbox").get_data(as_text=True),
                 agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)):
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html
    thread = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert "javascript:alert" not in thread and "&lt;b&gt;t&lt;/b&gt;" in thread


def test_poll_answers_204_when_nothing_changed_and_rows_when_something_did(agent_client):
    with db.session_scope() as s:
        conv = _conv(s)
        cursor = changes.latest_id(s) + 1
        changes.touch(s, conv.id)
    resp = agent_client.get(f"/inbox/changes?cursor={cursor}", htmx=True)
    assert resp.status_code == 204
    resp = agent_client.get(f"/inbox/changes?cursor={cursor - 1}&c={conv.id}", htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert f'id="conv-{conv.id}" hx-swap-oob="delete"' in html and 'hx-swap-oob="afterbegin:#conv-rows"' in html
    assert 'id="thread-messages"' in html and f'value="{cursor}"' in html
    resolved = agent_client.get(f"/inbox/changes?cursor={cursor - 1}&status=resolved", htmx=True).get_data(as_text=True)
    assert "afterbegin" not in resolved and f'id="conv-{conv.id}" hx-swap-oob="delete"' in resolved


def test_a_message_arriving_in_the_open_conversation_is_read_in_the_same_poll(agent_client):
    """No unread badge flickers on for the conversation being read until the next poll."""
    with db.session_scope() as s:
        conv = _conv(s, unread_count=0)
        cursor = changes.latest_id(s)
        factories.gen_message(s, conv, "in", text="Are you open on Sunday?")
        s.get(Conversation, conv.id).unread_count = 1
        changes.touch(s, conv.id)
    html = agent_client.get(f"/inbox/changes?cursor={cursor}&c={conv.id}", htmx=True).get_data(as_text=True)
    assert "Are you open on Sunday?" in html
    assert "unread-count" not in html and ">0 unread<" in html
    cursor = int(re.search(r'name="cursor" value="(\d+)"', html).group(1))
    assert agent_client.get(f"/inbox/changes?cursor={cursor}&c={conv.id}", htmx=True).status_code == 204
    assert db.session.get(Conversation, conv.id).unread_count == 0


def test_reply_is_queued_and_shown_as_sending(agent_client, agent_user):
    with db.session_scope() as s:
        conv = _conv(s)
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"text": "We do! 🥛"}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "We do! 🥛" in html and "Sending…" in html and "Aaron Agent" in html
    sent = db.session.scalars(select(Message).where(Message.direction == "out")).one()
    assert (sent.status, sent.author_user_id, sent.tag) == ("queued", agent_user.id, None)
    from keloa_web.jobs import get_queue

    assert len(get_queue("sends").jobs) == 1


def test_reply_over_1000_bytes_is_refused_and_the_draft_kept(agent_client):
    with db.session_scope() as s:
        conv = _conv(s)
    text = "é" * 501  # 1002 bytes, 501 characters
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"text": text}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "at most 1000 bytes" in html and text in html
    assert db.session.scalars(select(Message).where(Message.direction == "out")).all() == []


def _text(resp) -> str:
    return html_lib.unescape(resp.get_data(as_text=True))


def test_the_composer_tells_the_window_truthfully_at_each_phase(agent_client):
    """Meta's rule by default: AI and teammates for 24 h, then teammates only tagged Human agent
    until day 7, then nobody; the guide's "7-day window" is said as what it is."""
    rule = ("Instagram's reply window: AI and teammates for 24 h after the customer's last message; "
            "then teammates only, tagged Human agent, until day 7.")
    with db.session_scope() as s:
        fresh = _conv(s, ago=timedelta(hours=2))
        day3 = _conv(s, ago=timedelta(days=3))
        day8 = _conv(s, ago=timedelta(days=8))
        refused = _conv(s, meta_window_state="closed", meta_window_state_at=utcnow())
    html = _text(agent_client.get(f"/inbox/c/{fresh.id}"))
    assert "Reply window open" in html and "closes in 21 h" in html and rule in html
    assert ">Send</button>" in html
    html = _text(agent_client.get(f"/inbox/c/{day3.id}"))
    assert "Teammates only, tagged Human agent" in html and "3 d 23 h left" in html
    assert "AI replies are off" in html and rule in html and "Send tagged reply" in html
    assert "Human agent only · 3 d 23 h" in agent_client.get("/inbox").get_data(as_text=True)
    for conv in (day8, refused):
        html = _text(agent_client.get(f"/inbox/c/{conv.id}"))
        assert "The reply window is closed." in html and "re-engage by email or another channel" in html
        assert 'id="send-button" class="" disabled' in html  # nothing offers a send that can only fail
        resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"text": "hello?"}, htmx=True)
        assert resp.status_code == 422 and "re-engage" in resp.get_data(as_text=True)


def test_after_day_7_a_refused_reply_offers_no_retry(agent_client):
    with db.session_scope() as s:
        open_conv = _conv(s, ago=timedelta(hours=1))
        factories.gen_message(s, open_conv, "out", text="Hi", status="failed", mid=None, error="Network down.")
        late = _conv(s, ago=timedelta(days=8))
        failed = factories.gen_message(s, late, "out", text="Are you still there?", status="failed", mid=None,
                                       tag="HUMAN_AGENT", error="Instagram no longer accepts replies here.")
    assert ">Retry</button>" in agent_client.get(f"/inbox/c/{open_conv.id}").get_data(as_text=True)
    html = agent_client.get(f"/inbox/c/{late.id}").get_data(as_text=True)
    assert "Instagram no longer accepts replies here." in html and ">Retry</button>" not in html
    resp = agent_client.post(f"/inbox/c/{late.id}/messages/{failed.id}/retry", htmx=True)
    assert resp.status_code == 422 and "Not sent again" in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Message, failed.id).status == "failed"


def test_composer_is_disabled_when_the_channel_needs_reconnect(agent_client):
    with db.session_scope() as s:
        conv = _conv(s, channel=factories.gen_channel(s, status="needs_reconnect"))
    html = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert "Replies are off." in html and "needs reconnecting" in html


def test_attachments_are_checked_by_content_not_name(agent_client):
    import io

    with db.session_scope() as s:
        conv = _conv(s)
    gif = (io.BytesIO(b"GIF89a" + b"\0" * 100), "photo.png")
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"file": gif}, htmx=True,
                             content_type="multipart/form-data")
    assert resp.status_code == 422 and "not a file Instagram accepts" in resp.get_data(as_text=True)
    big = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024)), "big.png")
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"file": big}, htmx=True,
                             content_type="multipart/form-data")
    assert resp.status_code == 422 and "up to 8 MB" in resp.get_data(as_text=True)


def test_notes_assign_resolve_unread_and_ai_pause(agent_client, agent_user):
    with db.session_scope() as s:
        conv = _conv(s)
    base = f"/inbox/c/{conv.id}"
    html = agent_client.post(f"{base}/notes", data={"text": "VIP customer"}, htmx=True).get_data(as_text=True)
    assert "Internal note · Aaron Agent" in html and "VIP customer" in html
    agent_client.post(f"{base}/assign", data={"assignee_id": str(agent_user.id)}, htmx=True)
    agent_client.post(f"{base}/status", data={"status": "resolved"}, htmx=True)
    agent_client.post(f"{base}/ai", data={"paused": "1"}, htmx=True)
    html = agent_client.get(base).get_data(as_text=True)
    assert "Reopen" in html and "Resume AI" in html
    # "Mark unread" leaves the conversation (left open, the live poll would read it again at once)
    # and the list shows it unread, with the total.
    resp = agent_client.post(f"{base}/unread", htmx=True)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/inbox"
    listing = agent_client.get("/inbox?status=all").get_data(as_text=True)
    assert "Marked Maya Lopez as unread." in listing and 'aria-label="1 unread"' in listing
    conv = db.session.get(Conversation, conv.id)
    assert (conv.assignee_id, conv.status, conv.ai_paused, conv.unread_count) == (agent_user.id, "resolved", True, 1)


def test_opening_a_conversation_queues_one_mark_seen_only_with_receipts_on(agent_client):
    from keloa_web.jobs import get_queue

    with db.session_scope() as s:
        on = _conv(s)
        off = _conv(s, channel=factories.gen_channel(s, read_receipts=False))
    for _ in range(2):
        agent_client.get(f"/inbox/c/{on.id}")
        agent_client.get(f"/inbox/c/{off.id}")
    jobs = get_queue("sends").jobs
    assert [(j.func_name.rsplit(".", 1)[-1], j.args) for j in jobs] == [("mark_seen", (on.id,))]


def test_a_link_from_another_site_shows_the_conversation_but_reads_nothing(agent_client):
    """A cross-site navigation (a link in a customer's web page, a redirect) must not mark a
    conversation read nor tell Instagram it was seen; the teammate's own clicks and address bar do."""
    from keloa_web.jobs import get_queue

    with db.session_scope() as s:
        conv = _conv(s, unread_count=3)
        factories.gen_message(s, conv, "in", text="Are you open on Sunday?")
        changes.touch(s, conv.id)  # so the live poll has it among its changes
    for how in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                {"Referer": "https://evil.example/page"}):
        page = agent_client.get(f"/inbox/c/{conv.id}", headers=how)
        assert "Are you open on Sunday?" in page.get_data(as_text=True)
        db.session.rollback()
        assert db.session.get(Conversation, conv.id).unread_count == 3, how
        poll = agent_client.get(f"/inbox/changes?cursor=0&c={conv.id}", headers=dict(how), htmx=True)
        assert poll.status_code == 200 and f'id="conv-{conv.id}"' in poll.get_data(as_text=True)
        db.session.rollback()
        assert db.session.get(Conversation, conv.id).unread_count == 3, how
    assert get_queue("sends").jobs == []
    agent_client.get(f"/inbox/c/{conv.id}", headers={"Sec-Fetch-Site": "same-origin"})
    db.session.rollback()
    assert db.session.get(Conversation, conv.id).unread_count == 0
    assert len(get_queue("sends").jobs) == 1


def test_failed_message_shows_the_reason_and_retry_requeues_it(agent_client):
    with db.session_scope() as s:
        conv = _conv(s)
        failed = factories.gen_message(s, conv, "out", text="Hi", status="failed", mid=None,
                                       error="Instagram could not be reached after 5 attempts (timeout).")
    html = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert "could not be reached after 5 attempts" in html and ">Retry</button>" in html
    agent_client.post(f"/inbox/c/{conv.id}/messages/{failed.id}/retry", htmx=True)
    assert db.session.get(Message, failed.id).status == "queued"


@pytest.mark.parametrize("probe_limit", [2000, 1], ids=["rare-term", "common-term"])
def test_search_finds_the_same_conversations_whether_the_term_is_rare_or_common(agent_client, monkeypatch,
                                                                                 probe_limit):
    """Rare terms list the conversations of the indexed matches; common ones walk the list newest first."""
    from keloa_web import search

    monkeypatch.setattr(search, "PROBE_LIMIT", probe_limit)
    with db.session_scope() as s:
        hit_old = _conv(s, name="Ana", username="ana", text="A voucher please", ago=timedelta(days=2))
        hit_new = _conv(s, name="Bo", username="bo", text="VOUCHER for my mum", ago=timedelta(minutes=1))
        named = _conv(s, name="Voucher Fan", username="vf", text="hello", ago=timedelta(hours=1))
        miss = _conv(s, name="Cy", username="cy", text="no match here", ago=timedelta(minutes=3))
        unsent = _conv(s, name="Di", username="di", text="hi", ago=timedelta(minutes=4), status="resolved")
        factories.gen_message(s, unsent, "in", text="voucher?", deleted=True)
        short = _conv(s, name="Ed", username="ed", text="ok 50% off?", ago=timedelta(minutes=6))

    def found(q, status="all"):
        html = agent_client.get("/inbox", query_string={"q": q, "status": status}, htmx=True).get_data(as_text=True)
        return [c.id for c in (hit_new, named, miss, unsent, short, hit_old) if f'id="conv-{c.id}"' in html]

    assert found("voucher") == [hit_new.id, named.id, hit_old.id]  # newest activity first
    assert found("voucher", status="open") == [hit_new.id, named.id, hit_old.id]
    assert found("%") == [short.id] and found("50") == [short.id]  # LIKE wildcards are literal text
    assert found("@vf") == [named.id] and found("zzz") == []
    # Several words: the exact text, not the words apart (word-pair trigrams, then LIKE).
    assert found("voucher please") == [hit_old.id] and found("please voucher") == []
    assert found("50% off") == [short.id] and found("for my mum") == [hit_new.id]


def test_text_search_follows_edits_and_unsends(agent_client):
    with db.session_scope() as s:
        conv = _conv(s, name="Ana", username="ana", text="hello")
        message = factories.gen_message(s, conv, "in", text="Where is my voucher?")
    search = lambda q: f'id="conv-{conv.id}"' in agent_client.get("/inbox", query_string={"q": q}, htmx=True).get_data(as_text=True)  # noqa: E731
    assert search("VOUCHER")
    with db.session_scope() as s:
        s.get(Message, message.id).text = "Where is my gift card?"
    assert search("gift card") and not search("voucher")
    with db.session_scope() as s:
        m = s.get(Message, message.id)
        m.text, m.deleted = None, True
    assert not search("gift card")


def _plan(stmt) -> str:
    from sqlalchemy.dialects import sqlite

    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return " | ".join(r[-1] for r in rows)


def test_list_queries_walk_an_index(app, agent_user, monkeypatch):
    from sqlalchemy import func

    from keloa_web import search
    from keloa_web.inbox import queries

    def page_stmt(**kw):
        filters = queries.Filters(**kw)
        return (select(Conversation).where(*queries.conditions(filters, agent_user.id, db.session))
                .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(51))

    assert "USING INDEX ix_conversations_list" in _plan(page_stmt())
    assert "USING INDEX ix_conversations_assignee_activity" in _plan(page_stmt(mine=True, status="all"))
    assert "USING INDEX ix_conversations_channel_activity" in _plan(page_stmt(channel_id=1, status="all"))
    unread = select(func.count()).select_from(Conversation).where(Conversation.status == "open",
                                                                  Conversation.unread_count > 0)
    assert "USING COVERING INDEX ix_conversations_unread" in _plan(unread)
    assert "contacts_fts VIRTUAL TABLE INDEX" in _plan(page_stmt(q="voucher"))
    assert "USING INDEX ix_conversations_activity" in _plan(page_stmt(status="all"))
    # A common term: the list is walked in order and each conversation's own messages are tested.
    monkeypatch.setattr(search, "PROBE_LIMIT", -1)
    common = _plan(page_stmt(q="voucher", status="all"))
    assert "SCAN conversations USING INDEX ix_conversations_activity" in common
    assert "USING INDEX ix_messages_conversation_sent (conversation_id=?)" in common


def test_a_long_thread_shows_the_latest_messages_and_earlier_ones_on_request(agent_client, monkeypatch):
    from keloa_web.inbox import queries

    monkeypatch.setattr(queries, "THREAD_LIMIT", 4)
    with db.session_scope() as s:
        conv = _conv(s, text="message 0", ago=timedelta(hours=10))
        for n in range(1, 10):
            factories.gen_message(s, conv, "in", text=f"message {n}", sent_at=utcnow() - timedelta(hours=10 - n))

    def shown(html):
        thread = html.split('id="thread-messages"', 1)[1]
        return [n for n in range(10) if f">message {n}<" in thread]

    latest = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert shown(latest) == [6, 7, 8, 9] and "Show earlier messages" in latest
    assert 'name="c"' in latest  # the live poll keeps this thread up to date
    earlier_url = re.search(r'class="earlier" href="([^"]+)"', latest).group(1).replace("&amp;", "&")
    older = agent_client.get(earlier_url).get_data(as_text=True)
    assert shown(older) == [2, 3, 4, 5] and "Back to the latest" in older and "Show earlier messages" in older
    assert 'name="c"' not in older  # ...but leaves older messages being read where they are
    oldest_url = re.search(r'class="earlier" href="([^"]+)"', older).group(1).replace("&amp;", "&")
    oldest = agent_client.get(oldest_url, htmx=True, headers={"HX-Target": "thread-pane"}).get_data(as_text=True)
    assert shown(oldest) == [0, 1] and "Show earlier messages" not in oldest and "<html" not in oldest
    # An id from another conversation is ignored: the latest messages are shown.
    with db.session_scope() as s:
        other = factories.gen_message(s, _conv(s, name="Zed", username="zed"), "in", text="elsewhere")
    assert shown(agent_client.get(f"/inbox/c/{conv.id}?before={other.id}").get_data(as_text=True)) == [6, 7, 8, 9]


def test_the_page_title_says_where_you_are_and_how_many_notifications_are_new(agent_client):
    from keloa_web.notifications import notify

    with db.session_scope() as s:
        conv = _conv(s, unread_count=2)
        notify.new_conversation(s, conv, "hello")
    page = agent_client.get("/inbox").get_data(as_text=True)
    assert "<title>(1) Inbox · Keloa</title>" in page and ">1 unread</span>" in page  # (the list counts conversations)
    page = agent_client.get(f"/inbox/c/{conv.id}", headers={"Sec-Fetch-Site": "same-origin"}).get_data(as_text=True)
    assert "<title>Maya Lopez · Inbox · Keloa</title>" in page  # opening it saw its notification
    assert 'rel="icon" href="/static/favicon.svg"' in page
