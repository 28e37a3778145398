"""Connect with Instagram in Chromium, for an account without a Facebook Page: Instagram's window
(sandbox), the card, every event kind arriving live, a reply, the read receipt, an AI reply and
disconnect, at 1280 and 390 px."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Message
from tests import factories, helpers

pytestmark = pytest.mark.e2e
LIVE = 15_000  # ms


@pytest.fixture()
def ai_now(settings):
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    return settings


def _customer(sandbox, kind: str, customer: str = "maya", **kw) -> dict:
    return sandbox.control("POST", "customer/send", json={"account": "keloa.studio", "customer": customer,
                                                         "type": kind, **kw})


def _sent(sandbox, customer: str, **want) -> list[dict]:
    return [r for r in sandbox.control("GET", "sent")["data"] if r["customer"] == customer
            and r["account_username"] == "keloa.studio" and all(r.get(k) == v for k, v in want.items())]


@pytest.mark.parametrize("width", [1280, 390])
def test_connect_with_instagram_and_the_whole_conversation(ai_now, sandbox, app, live_server, worker,
                                                           signed_in_page, tmp_path, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    with db.session_scope() as s:
        agent = factories.gen_agent(s, name="Studio helper")
        factories.gen_entry(s, agent, "Prices", "A logo starts at 300 euros, flyers at 80.")
        agent_name = agent.name

    page.goto(f"{live_server}/integrations/")
    expect(page.get_by_text("for any professional account, with or without a Page")).to_be_visible()
    page.get_by_role("button", name="Connect with Instagram").click()

    # The sandbox's Instagram window: log in as @keloa.studio, which has no Facebook Page.
    expect(page.get_by_text("is requesting access to your professional account")).to_be_visible()
    page.get_by_label(re.compile("@keloa.studio")).check()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(re.compile(r"/integrations/(#_)?$"), timeout=30_000)  # Instagram appends #_ to the redirect
    expect(page.get_by_text("@keloa.studio is connected with Instagram Login")).to_be_visible()
    card = page.locator("article.channel", has_text="@keloa.studio")
    expect(card.locator(".channel-login")).to_have_text("Instagram Login (no Facebook Page)")
    expect(card.get_by_text("Renewed by Keloa every week; valid until")).to_be_visible()
    expect(card.locator(".badge", has_text="Active")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"instagram-card-{width}.png"), full_page=True)

    card.get_by_role("button", name="Check connection").click()
    expect(card.locator(".checks")).to_contain_text("Access token renews itself")
    expect(card.locator(".checks")).to_contain_text("Meta sends @keloa.studio's messages to Keloa.")
    # long permission names and addresses wrap inside the card, even on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    card.get_by_label("AI agent").select_option(label=agent_name)
    expect(card.locator("form.setting", has=page.get_by_label("AI agent")).locator(".saved")).to_be_visible()
    card.get_by_label("AI replies").check()
    expect(card.locator("form.setting", has=page.get_by_label("AI replies")).locator(".saved")).to_be_visible()

    # Every kind of event the customer sends arrives, live, in the inbox.
    page.goto(f"{live_server}/inbox")
    text = _customer(sandbox, "text", text="Hi, do you design flyers?")
    _customer(sandbox, "image")
    _customer(sandbox, "audio")
    _customer(sandbox, "video")
    _customer(sandbox, "story_reply", text="Love this poster")
    row = page.locator(".conv-row", has_text="Maya")
    expect(row).to_be_visible(timeout=LIVE)
    row.click()
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text("Love this poster", timeout=LIVE)
    expect(thread.locator("img.msg-image")).to_be_visible(timeout=LIVE)
    expect(thread.locator("audio")).to_have_count(1, timeout=LIVE)
    expect(thread.locator("video")).to_have_count(1, timeout=LIVE)
    expect(thread.locator("figure.story")).to_contain_text("Replied to your story")
    _customer(sandbox, "react", mid=text["mid"], reaction="love")
    _customer(sandbox, "edit", mid=text["mid"], text="Hi, do you design flyers and posters?")
    asked = thread.locator("article.msg-in", has_text="do you design flyers and posters?")
    expect(asked).to_be_visible(timeout=LIVE)
    expect(asked.locator(".reaction")).to_be_visible(timeout=LIVE)
    oops = _customer(sandbox, "text", text="Oops, wrong chat")
    expect(thread).to_contain_text("Oops, wrong chat", timeout=LIVE)
    _customer(sandbox, "unsend", mid=oops["mid"])
    expect(thread.locator(".msg-unsent")).to_have_count(1, timeout=LIVE)
    expect(thread).not_to_contain_text("Oops, wrong chat")

    # The teammate who opened it sent the read receipt; their reply goes out as @keloa.studio.
    helpers.wait_until(lambda: _sent(sandbox, "maya", sender_action="mark_seen"), timeout=15,
                       message="the read receipt at the sandbox")
    page.locator("#reply-text").fill("Yes, both! Send me your brief.")
    page.get_by_role("button", name="Send", exact=True).click()
    reply = thread.locator("article.msg-out", has_text="Send me your brief")
    expect(reply.locator(".state.sent")).to_be_visible(timeout=LIVE)
    assert [r["messaging_type"] for r in _sent(sandbox, "maya", kind="message")] == ["RESPONSE"]
    db.session.rollback()
    mid = db.session.scalar(select(Message.mid).where(Message.text == "Yes, both! Send me your brief."))
    _customer(sandbox, "seen", mid=mid)
    expect(reply.locator(".seen")).to_have_text("Seen", timeout=LIVE)
    page.screenshot(path=str(tmp_path / f"instagram-thread-{width}.png"), full_page=True)

    # Another customer asks what the knowledge base answers: the AI replies, through Instagram Login.
    page.goto(f"{live_server}/inbox")  # on a phone the list and the thread are separate screens
    _customer(sandbox, "text", customer="leo", text="What are your prices for a logo?")
    other = page.locator(".conv-row", has_text="Leo")
    expect(other).to_be_visible(timeout=LIVE)
    other.click()
    expect(page.locator("#thread-messages article.msg-out")).to_contain_text(
        "A logo starts at 300 euros, flyers at 80.", timeout=LIVE)
    assert _sent(sandbox, "leo", text="A logo starts at 300 euros, flyers at 80.")

    # Disconnect: the account's webhook subscription at Instagram goes.
    page.goto(f"{live_server}/integrations/")
    page.locator("article.channel", has_text="@keloa.studio").get_by_role("link", name="Disconnect").click()
    expect(page.get_by_text("Keloa asks Meta to stop sending @keloa.studio's messages.")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Disconnect")).click()
    page.wait_for_url(re.compile(r"/integrations/$"), timeout=30_000)
    card = page.locator("article.channel", has_text="@keloa.studio")
    expect(card.locator(".badge", has_text="Disconnected")).to_be_visible()
    expect(card.get_by_text('choose "Connect with Instagram" and log in as @keloa.studio')).to_be_visible()
    assert next(a for a in sandbox.state()["accounts"] if a["key"] == "studio")["ig_subscribed_fields"] == []
