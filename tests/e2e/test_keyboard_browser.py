"""Keyboard shortcuts in Chromium: j/k move through the list, Enter opens, r and n write a reply or
a note, e resolves, s opens Snooze, / searches, ? lists them; none fires while typing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Conversation, Message
from tests import factories

pytestmark = pytest.mark.e2e


def test_the_inbox_by_keyboard(signed_in_page, live_server):
    ch = factories.gen_channel(db.session)
    convs = []
    for n, name in enumerate(("Ana", "Ben", "Cai")):  # Cai wrote last: first in the list
        conv = factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name=name),
                                          last_customer_ago=timedelta(minutes=10 - n))
        factories.gen_message(db.session, conv, "in", text=f"hello from {name}")
        convs.append(conv)
    db.session.commit()
    page = signed_in_page
    page.goto(f"{live_server}/inbox")

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    page.keyboard.press("j")
    expect(page.locator(f"#conv-{convs[2].id} .conv-link")).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(f"#conv-{convs[1].id} .conv-link")).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#thread-header")).to_contain_text("Ben")
    expect(page.locator("#reply-text")).to_be_focused()  # an opened thread gives the reply the keyboard
    page.keyboard.press("Escape")  # leave it: now the letters are shortcuts
    page.keyboard.press("n")
    expect(page.locator("#reply-text")).to_be_focused()
    expect(page.locator("#composer-mode")).to_contain_text("Writing an internal note")
    page.keyboard.type("checked the stock: e and s and j typed here do nothing")
    page.keyboard.press("Enter")
    expect(page.locator("#thread-messages")).to_contain_text("checked the stock")
    db.session.rollback()
    note = db.session.scalar(select(Message).where(Message.conversation_id == convs[1].id, Message.direction == "note"))
    assert note is not None and db.session.scalar(
        select(Message).where(Message.conversation_id == convs[1].id, Message.direction == "out")) is None

    page.keyboard.press("Escape")  # the pane came back with the reply focused: leave it
    page.keyboard.press("n")
    expect(page.locator("#composer-mode")).to_be_visible()
    page.keyboard.press("Escape")  # leaves the note box: the letters are shortcuts again
    expect(page.locator("#reply-text")).not_to_be_focused()
    page.keyboard.press("s")
    expect(page.locator("#snooze-menu")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    page.locator("#thread-messages").click()
    page.keyboard.press("e")
    expect(page.locator("#resolve-button")).to_have_text("Reopen")
    db.session.rollback()
    assert db.session.get(Conversation, convs[1].id).status == "resolved"

    page.keyboard.press("Escape")  # the pane came back with the reply focused again
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("j")  # typing in the search box: no shortcut
    expect(page.locator("#q")).to_have_value("j")
