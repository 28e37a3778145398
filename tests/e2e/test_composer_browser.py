"""The thread and composer in Chromium: opened by its URL it shows the newest message even when
pictures load late; the reply box has the keyboard; when Meta closes the window while the page is
open, Send turns off by itself; a flash can be dismissed."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from keloa_web import changes
from keloa_web.db import db, utcnow
from keloa_web.media import storage
from keloa_web.models import Attachment, Conversation
from tests import factories

pytestmark = pytest.mark.e2e
PNG = (Path(__file__).resolve().parents[2] / "meta_sandbox" / "static" / "media" / "post.png").read_bytes()


def _long_thread() -> int:
    s = db.session
    conv = factories.gen_conversation(s, last_customer_ago=timedelta(minutes=1))
    for i in range(30):
        factories.gen_message(s, conv, "in" if i % 2 else "out", text=f"Line {i} " + "lorem ipsum " * 8,
                              sent_at=utcnow() - timedelta(minutes=60 - i))
    for i in range(3):  # pictures near the end, which push the newest message down as they load
        m = factories.gen_message(s, conv, "in", text=None, kind="image", sent_at=utcnow() - timedelta(seconds=30 - i))
        s.add(Attachment(message_id=m.id, type="image", status="stored", local_path=storage.save(PNG, "image/png"),
                         content_type="image/png", size=len(PNG)))
    factories.gen_message(s, conv, "in", text="The newest message", sent_at=utcnow())
    s.commit()
    return conv.id


def _at_bottom(page) -> bool:
    return page.evaluate("() => { const b = document.getElementById('thread-messages');"
                         " return b.scrollHeight - b.scrollTop - b.clientHeight < 8; }")


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_a_thread_opened_by_url_shows_the_newest_message_after_pictures_load(signed_in_page, live_server, width,
                                                                            height, tmp_path):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": height})
    conv_id = _long_thread()
    page.route("**/media/*", lambda route: (time.sleep(0.8), route.continue_()))
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    expect(page.locator("img.msg-image").nth(2)).to_be_visible()
    page.wait_for_function("() => Array.from(document.querySelectorAll('img.msg-image')).every(i => i.complete)")
    page.wait_for_timeout(200)
    assert _at_bottom(page)
    expect(page.get_by_text("The newest message")).to_be_in_viewport()
    expect(page.locator("#reply-text")).to_be_focused() if width == 1280 else None
    page.screenshot(path=str(tmp_path / f"thread-{width}.png"))


@pytest.mark.parametrize("width", [1280, 390])
def test_the_reply_box_has_the_keyboard_and_send_follows_the_window(signed_in_page, live_server, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        factories.gen_message(s, conv, "in", text="Hi there")
        conv_id = conv.id
    page.goto(f"{live_server}/inbox")
    page.locator(".conv-row").first.click()
    expect(page.locator("#reply-text")).to_be_focused()
    send = page.locator("#send-button")
    expect(send).to_be_enabled()
    # Meta refuses a tagged reply (day 7): the live poll brings the closed window, Send turns off.
    with db.session_scope() as s:
        c = s.get(Conversation, conv_id)
        c.meta_window_state, c.meta_window_state_at = "closed", utcnow()
        changes.touch(s, conv_id)
    expect(page.locator("#window-state")).to_contain_text("The reply window is closed.", timeout=10_000)
    expect(send).to_be_disabled()
    expect(page.locator("#note-button")).to_have_class("primary")
    expect(page.locator("#reply-text")).to_have_attribute("placeholder", "Write an internal note…")


_COVERED = """() => {
    const r = document.querySelector('#flash .flash').getBoundingClientRect();
    const hits = [];
    for (const el of document.querySelectorAll('a, button, input, select, textarea, summary')) {
        if (el.closest('#flash')) continue;
        const b = el.getBoundingClientRect();
        if (b.width && b.height && b.left < r.right && b.right > r.left && b.top < r.bottom && b.bottom > r.top)
            hits.push(el.outerHTML.slice(0, 60));
    }
    return hits; }"""


def test_a_flash_covers_no_control_can_be_dismissed_and_facebooks_fragment_is_dropped(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server}/settings#_=_")
    assert page.evaluate("() => window.location.hash") == ""
    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        factories.gen_message(s, conv, "in", text="Please forget me")
        conv_id = conv.id
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    page.get_by_text("Delete this contact's data…").click()
    page.get_by_label("Yes, delete it").check()
    page.get_by_role("button", name="Delete this contact's data").click()
    flash = page.locator(".flash", has_text="Deleted this customer's data")
    expect(flash).to_be_visible()
    assert page.evaluate(_COVERED) == []  # the thread header's controls stay reachable
    flash.get_by_role("button", name="Dismiss this message").click()
    expect(flash).to_have_count(0)
    page.get_by_role("button", name="Mark unread").click()
    expect(page.locator(".flash", has_text="as unread")).to_be_visible()


def test_at_390_px_the_inbox_the_integrations_and_settings_fit_the_screen(signed_in_page, live_server, tmp_path):
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    with db.session_scope() as s:
        channel = factories.gen_channel(s, display_name="Keloa Coffee & Books, the long name")
        conv = factories.gen_conversation(s, channel, unread_count=5,
                                          last_message_preview="A very long preview " * 12)
        factories.gen_message(s, conv, "in", text="Hello")
    for path in ("/inbox", "/integrations/", "/settings"):
        page.goto(f"{live_server}{path}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / f"phone{path.replace('/', '-')}.png"), full_page=True)
        assert width <= 390, f"{path} is {width} px wide at 390"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_chosen_file_is_previewed_and_can_be_removed_before_sending(signed_in_page, live_server, tmp_path, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    with db.session_scope() as s:
        conv_id = factories.gen_conversation(s).id
    picture = tmp_path / "latte.png"
    picture.write_bytes(PNG)
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    page.locator(".composer .attach input[type=file]").set_input_files(str(picture))
    preview = page.locator("#attach-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("latte.png (")
    page.wait_for_function("() => document.getElementById('attach-thumb').naturalWidth > 0")
    preview.get_by_role("button", name="Remove").click()
    expect(preview).to_be_hidden()
    assert page.evaluate("() => document.querySelector('.composer .attach input[type=file]').files.length") == 0
    expect(page.locator("#reply-text")).to_be_focused()


def test_with_the_on_screen_keyboard_open_the_composer_and_the_newest_message_stay_in_view(signed_in_page,
                                                                                          live_server, tmp_path):
    """A phone's keyboard takes about half the screen; Chromium then resizes the page to what is left
    (interactive-widget=resizes-content). Emulated by shrinking the viewport after focusing."""
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    conv_id = _long_thread()
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    page.locator("#reply-text").click()
    page.set_viewport_size({"width": 390, "height": 420})
    page.wait_for_timeout(300)
    page.evaluate("() => { const b = document.getElementById('thread-messages'); b.scrollTop = b.scrollHeight; }")
    for target in ("#reply-text", "#send-button"):
        expect(page.locator(target)).to_be_in_viewport()
    expect(page.get_by_text("The newest message")).to_be_in_viewport()
    box = page.evaluate("() => document.getElementById('thread-messages').clientHeight")
    assert box >= 120, f"only {box} px are left for messages"
    page.screenshot(path=str(tmp_path / "keyboard-open.png"))
