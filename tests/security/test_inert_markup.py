"""Whatever a customer (or Instagram) sends is shown as text: markup in names, usernames, message
text, previews, notes and links never becomes live HTML anywhere in the inbox."""
from __future__ import annotations

import re

from keloa_web.db import db
from keloa_web.models import Change
from tests import factories

SCRIPT = '<script>alert("keloa")</script>'
IMG = '<img src=x onerror=alert(1)>'
LIVE = re.compile(r"<script>alert|<img src=x|href=\"javascript:", re.I)


def _hostile_conversation():
    with db.session_scope() as s:
        channel = factories.gen_channel(s, display_name=f"Shop {SCRIPT}")
        contact = factories.gen_contact(s, channel, name=f"Maya {SCRIPT}", username=f"maya{IMG}")
        conv = factories.gen_conversation(s, channel=channel, contact=contact,
                                          last_message_preview=f"preview {SCRIPT}")
        factories.gen_message(s, conv, text=f"text {SCRIPT} {IMG}")
        factories.gen_message(s, conv, kind="share", text=None, link_url="javascript:alert(1)",
                              link_title=f"title {SCRIPT}")
        factories.gen_message(s, conv, direction="note", text=f"note {IMG}", author_type="user")
        s.add(Change(conversation_id=conv.id))
        return conv.id


def test_markup_from_instagram_renders_inert_in_the_list_thread_search_and_poll(agent_client):
    conv_id = _hostile_conversation()
    pages = {
        "inbox list": agent_client.get("/inbox?status=all"),
        "inbox list (htmx)": agent_client.get("/inbox?status=all", htmx=True),
        "thread": agent_client.get(f"/inbox/c/{conv_id}"),
        "thread (htmx)": agent_client.get(f"/inbox/c/{conv_id}", htmx=True, headers={"HX-Target": "thread-pane"}),
        "search echoing the query": agent_client.get("/inbox?status=all&q=%3Cscript%3Ealert(%22keloa%22)"),
        "live poll": agent_client.get("/inbox/changes?cursor=0&status=all", htmx=True),
    }
    for name, resp in pages.items():
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, name
        assert not LIVE.search(html), f"{name}: live markup: {LIVE.search(html).group(0)}"
    thread = pages["thread"].get_data(as_text=True)
    assert "&lt;script&gt;alert(" in thread and "&lt;img src=x onerror=alert(1)&gt;" in thread
    assert "Maya &lt;script&gt;" in pages["inbox list"].get_data(as_text=True)


def test_a_reply_with_markup_is_stored_as_typed_and_shown_as_text(agent_client):
    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
    resp = agent_client.post(f"/inbox/c/{conv.id}/notes", data={"text": f"note {SCRIPT}"}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and not LIVE.search(html) and "&lt;script&gt;" in html


def test_a_story_preview_loads_only_from_metas_media_hosts(app, agent_client):
    """The preview is loaded by the teammate's browser: a URL elsewhere (a tracking pixel, a local
    address) is never put in the page, and the page's CSP allows images from Meta's hosts only."""
    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        factories.gen_message(s, conv, kind="story_reply", text="nice", story_url="https://tracker.example/p.png?who=1")
        factories.gen_message(s, conv, kind="story_reply", text="cute",
                              story_url="https://scontent.cdninstagram.com/v/t51/story.jpg?oh=1")
    resp = agent_client.get(f"/inbox/c/{conv.id}")
    html = resp.get_data(as_text=True)
    assert "tracker.example" not in html
    assert 'src="https://scontent.cdninstagram.com/v/t51/story.jpg?oh=1"' in html
    assert html.count("Story no longer available") == 2  # one shown at once, one waiting for a load error
    img_src = next(part for part in resp.headers["Content-Security-Policy"].split(";") if "img-src" in part)
    assert " https: " not in f"{img_src} " and "https://*.cdninstagram.com" in img_src
