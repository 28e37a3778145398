"""The red-team attack in Chromium: a customer's "PDF" whose bytes carry hx-* markup that would, once
swapped into the page, post as the teammate (invite an attacker, make them admin, send a DM).
Clicking it downloads it; no request is fired and nothing changes."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment, Invite, Message, User
from tests import factories

pytestmark = pytest.mark.e2e


def _payload(conv_id: int) -> bytes:
    return (b"%PDF-1.4\n"
            b"<div id=evil hx-post=\"/team/invites\" hx-vals='{\"email\": \"mallory@evil.test\", \"role\": \"admin\"}' "
            b"hx-trigger=\"load\"></div>"
            + f"<form hx-post=\"/inbox/c/{conv_id}/messages\" hx-trigger=\"load\">"
              f"<input name=text value=\"pwned\"></form>".encode()
            + b"<p id=evil-text>INJECTED</p>")


def _state() -> tuple:
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(Invite)),
            db.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out")),
            tuple(db.session.scalars(select(User.role).order_by(User.id))))


@pytest.fixture()
def poisoned(app, admin):
    conv = factories.gen_conversation(db.session)
    factories.gen_message(db.session, conv, "in", text="Here is my invoice")
    msg = factories.gen_message(db.session, conv, "in", text=None, kind="file")
    data = _payload(conv.id)
    # stored as the old code stored it: the CDN said application/pdf and the bytes start like one
    db.session.add(Attachment(message_id=msg.id, type="file", status="stored", source_url="https://x.fbcdn.net/f",
                              local_path=storage.save(data, "application/pdf"), content_type="application/pdf",
                              size=len(data)))
    db.session.commit()
    return conv.id


def _watch(page) -> list[str]:
    fired: list[str] = []
    page.on("request", lambda r: fired.append(f"{r.method} {r.url}") if r.method != "GET" else None)
    return fired


def _open(page, live_server, conv_id):
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    link = page.get_by_role("link", name="Download the file")
    expect(link).to_be_visible()
    return link


def test_clicking_a_customers_file_downloads_it_and_runs_nothing(signed_in_page, live_server, poisoned, tmp_path):
    page = signed_in_page
    before = _state()
    link = _open(page, live_server, poisoned)
    fired = _watch(page)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "file"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-1.4")
    page.wait_for_timeout(1000)  # give injected hx-trigger="load" elements every chance to fire
    assert fired == []
    expect(page.locator("#evil-text")).to_have_count(0)
    expect(page.locator("#thread-messages")).to_contain_text("Here is my invoice")
    assert _state() == before


def test_a_link_without_its_opt_out_still_never_swaps_the_file(signed_in_page, live_server, poisoned, tmp_path):
    """A page rendered before the fix (or any future link that forgets hx-boost="false") is boosted:
    keloa.js refuses to let htmx fetch /media/, and the browser downloads the file instead."""
    page = signed_in_page
    before = _state()
    link = _open(page, live_server, poisoned)
    link.evaluate("a => { a.removeAttribute('hx-boost'); a.removeAttribute('download'); htmx.process(a); }")
    fired = _watch(page)
    with page.expect_download():
        link.click()
    page.wait_for_timeout(1000)
    assert fired == []
    expect(page.locator("#evil-text")).to_have_count(0)
    assert _state() == before


def test_htmx_swaps_nothing_that_keloas_views_did_not_render(signed_in_page, live_server, poisoned):
    """Even a same-origin HTML answer is refused if it lacks Keloa's X-Keloa-View header."""
    page = signed_in_page
    before = _state()
    _open(page, live_server, poisoned)
    body = _payload(poisoned)[len(b"%PDF-1.4\n"):]

    def answer(route):  # htmx's XHR gets the foreign HTML; a plain navigation gets Keloa's page
        if route.request.headers.get("hx-request"):
            route.fulfill(status=200, content_type="text/html", body=body)
        else:
            route.continue_()

    page.route(f"{live_server}/team/", answer)
    fired = _watch(page)
    page.get_by_role("link", name="Team").click()  # a boosted link: htmx fetches /team/ by XHR
    # htmx does not swap the answer; keloa.js makes it a plain navigation, which shows the real page
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    page.wait_for_timeout(1000)
    assert fired == []
    expect(page.locator("#evil-text")).to_have_count(0)
    assert _state() == before
