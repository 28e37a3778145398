"""First run: the integrations page says how to try Keloa with the sandbox, and the inbox has a
getting-started checklist that ticks itself off and goes away once every step is done."""
from __future__ import annotations

import re

from keloa_web.db import db
from keloa_web.models import Invite
from tests import factories


def _steps(html: str) -> dict[str, bool]:
    return {m.group(2).strip(): m.group(1) == "done"
            for m in re.finditer(r'<li class="(done|todo)"><span class="tick"[^>]*>.</span>\s*(?:<span>|<a href="[^"]*">)([^<]+)', html)}


def test_the_checklist_ticks_itself_off_and_goes_away(app, admin_client):
    assert _steps(admin_client.get("/inbox").get_data(as_text=True)) == {
        "Connect an Instagram account": False, "Receive a message from a customer": False,
        "Reply from Keloa": False, "Attach an AI agent to the account": False, "Invite a teammate": False}
    with db.session_scope() as s:
        channel = factories.gen_channel(s)
        conv = factories.gen_conversation(s, channel)
        factories.gen_message(s, conv, "in", text="Hello")
    steps = _steps(admin_client.get("/inbox").get_data(as_text=True))
    assert steps["Connect an Instagram account"] and steps["Receive a message from a customer"]
    assert not steps["Reply from Keloa"]
    with db.session_scope() as s:
        factories.gen_message(s, s.merge(conv), "out", text="Hi!")
        s.merge(channel).agent_id = factories.gen_agent(s).id
        s.add(Invite(email="x@example.com", role="agent", token_hash="h" * 64,
                     expires_at=factories.utcnow()))
    html = admin_client.get("/inbox").get_data(as_text=True)
    assert "Getting started" not in html and "Pick a conversation to read and reply." in html


def test_teammates_see_no_checklist(app, agent_client):
    assert "Getting started" not in agent_client.get("/inbox").get_data(as_text=True)


def test_with_the_sandbox_the_first_screen_says_how_to_try_keloa(app, admin_client):
    app.config["SANDBOX_URL"] = "http://127.0.0.1:8081"
    html = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Trying Keloa with the Meta sandbox" in html and "Ana Admin" in html
    assert 'href="http://127.0.0.1:8081/customer"' in html
    app.config["SANDBOX_URL"] = ""
    assert "Trying Keloa" not in admin_client.get("/integrations/").get_data(as_text=True)
