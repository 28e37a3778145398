"""The composer's helpers in Chromium: a saved reply inserted with "/" (filled for the customer, Enter
inserts and does not send), and "Suggest a reply" filling the box with the AI agent's draft."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Message, SavedReply
from tests import factories

pytestmark = pytest.mark.e2e


def _png() -> bytes:
    """A real 1×1 PNG."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width", [1280, 390])
def test_slash_inserts_a_saved_reply_filled_for_the_customer(signed_in_page, live_server, width):
    channel = factories.gen_channel(db.session, display_name="Fern & Silver")
    contact = factories.gen_contact(db.session, channel, name="Maya Silva")
    conv = factories.gen_conversation(db.session, channel, contact, last_customer_ago=timedelta(minutes=2))
    factories.gen_message(db.session, conv, "in", text="do you ship to the uk?")
    db.session.add(SavedReply(name="hours", text="We open 9 to 5.", owner_id=None))
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})

    page.goto(f"{live_server}/replies/")
    new = page.locator("#reply-new")
    new.get_by_label("Name (typed after /)").fill("shipping")
    new.get_by_label("Text").fill("Hi {{first_name}}! UK shipping is £3.95. {{agent_name}} at {{account}}")
    new.get_by_label("Attach a file (optional)").set_input_files(files=[
        {"name": "rates.png", "mimeType": "image/png", "buffer": _png()}])
    page.get_by_role("button", name="Save reply").click()
    expect(page.locator("#flash")).to_contain_text("Saved /shipping.")
    expect(page.locator("#replies-list")).to_contain_text("+ image")
    new = page.locator("#reply-new")
    new.get_by_label("Name (typed after /)").fill("Bad Name")
    new.get_by_label("Text").fill("x")
    page.get_by_role("button", name="Save reply").click()
    expect(page.locator("#reply-new")).to_contain_text("Lowercase letters, digits and dashes only")
    expect(page.locator("#reply-new").get_by_label("Name (typed after /)")).to_have_value("Bad Name")

    page.goto(f"{live_server}/inbox/c/{conv.id}")
    box = page.locator("#reply-text")
    box.click()
    box.type("/")
    listbox = page.get_by_role("listbox", name="Saved replies")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(2)
    box.type("sh")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-expanded", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box.press("Enter")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Hi Maya! UK shipping is £3.95. Olivia at Fern & Silver")
    expect(box).to_be_focused()
    expect(page.locator("#attach-preview")).to_be_visible()  # the reply's file comes along, removable
    expect(page.locator("#attach-name")).to_contain_text("rates.png (image, ")
    expect(page.locator("#attach-name")).to_contain_text("(from /shipping)")
    assert db.session.scalar(select(Message).where(Message.direction == "out")) is None  # inserted, not sent

    box.press("End")
    box.type(" /")
    expect(listbox.get_by_role("option")).to_have_count(2)
    box.press("ArrowDown")  # two choices: the second is "shipping" after "hours"
    box.press("Escape")
    expect(listbox).to_be_hidden()
    box.press("Enter")  # the list is closed: Enter sends
    expect(page.locator("#thread-messages")).to_contain_text("Hi Maya! UK shipping is £3.95. Olivia at Fern & Silver /")
    db.session.rollback()
    sent = db.session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)).all()
    assert [m.kind for m in sent] == ["image", "text"]  # the file first, then the text


@pytest.mark.parametrize("width", [1280, 390])
def test_suggest_a_reply_fills_the_composer_for_the_teammate_to_send(signed_in_page, live_server, width):
    agent = factories.gen_agent(db.session, name="Fern")
    factories.gen_entry(db.session, agent, "Shipping costs", "UK £3.95, free over £50.", ["how much is postage"])
    channel = factories.gen_channel(db.session, agent_id=agent.id, ai_enabled=True)
    conv = factories.gen_conversation(db.session, channel, last_customer_ago=timedelta(hours=30))
    factories.gen_message(db.session, conv, "in", text="how much is postage to leeds?")
    other = factories.gen_conversation(db.session, channel, last_customer_ago=timedelta(minutes=1))
    factories.gen_message(db.session, other, "in", text="do you sell tea?")
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})

    page.goto(f"{live_server}/inbox/c/{other.id}")
    page.get_by_role("button", name="Suggest a reply").click()
    expect(page.locator("#suggest-status")).to_contain_text("Fern has no answer to suggest")
    expect(page.locator("#reply-text")).to_have_value("")

    page.goto(f"{live_server}/inbox/c/{conv.id}")  # past 24 h: only a person may reply, tagged
    page.get_by_role("button", name="Suggest a reply").click()
    expect(page.locator("#reply-text")).to_have_value("UK £3.95, free over £50.")
    expect(page.locator("#suggest-status")).to_contain_text("Suggested by the AI agent: read it, edit it, then send.")
    expect(page.locator("#reply-text")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#reply-text").press("End")
    page.locator("#reply-text").type(" Thanks!")
    page.get_by_role("button", name="Send tagged reply").click()
    expect(page.locator("#thread-messages")).to_contain_text("UK £3.95, free over £50. Thanks!")
    db.session.rollback()
    sent = db.session.scalar(select(Message).where(Message.conversation_id == conv.id, Message.direction == "out"))
    assert (sent.author_type, sent.tag) == ("user", "HUMAN_AGENT")
