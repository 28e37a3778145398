"""The OAuth callback under attack or misuse: each case a clear message, nothing connected, no 500.
(The happy path, a cancelled dialog and a replayed code are in tests/test_connect_meta.py.)"""
from __future__ import annotations

from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.models import Channel
from tests import factories

CALLBACK = "/integrations/meta/callback"


def _flash_after(client, resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client.get(resp.headers["Location"]).get_data(as_text=True)


def _no_channels() -> bool:
    return db.session.scalar(select(func.count()).select_from(Channel)) == 0


def test_callback_without_a_started_sign_in_is_ignored_with_a_message(app, admin_client):
    """A forged link (code and state made up by someone else) finds no sign-in of ours to finish."""
    page = _flash_after(admin_client, admin_client.get(f"{CALLBACK}?code=forged-code&state=forged-state"))
    assert "already used or has expired" in page and _no_channels()


def test_callback_without_code_or_state_is_refused_with_a_message(app, admin_client):
    admin_client.post("/integrations/meta/login")
    resp = admin_client.get(CALLBACK)
    assert resp.status_code < 500
    page = _flash_after(admin_client, resp)
    assert "Connect through Facebook" in page and _no_channels()


def test_error_text_from_the_dialog_is_shown_inert(app, admin_client):
    resp = admin_client.get(f"{CALLBACK}?error=server_error&error_description=%3Cscript%3Ealert(1)%3C/script%3E")
    page = _flash_after(admin_client, resp)
    assert "Meta did not complete the sign-in" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert _no_channels()


def test_state_from_another_session_is_refused(sandbox, app, admin_client, agent_user):
    """A callback URL stolen from one admin's browser does not work in another session."""
    callback = factories.meta_dialog(admin_client, sandbox)
    from tests import helpers

    other = helpers.Client(app)
    other.login("owner@example.com")
    page = _flash_after(other, other.get(callback))
    assert "already used or has expired" in page and _no_channels()
    # The rightful session still finishes its own sign-in afterwards.
    assert admin_client.get(callback).headers["Location"].endswith("/integrations/meta/pages")


def test_agents_cannot_finish_a_sign_in(app, agent_client):
    resp = agent_client.get(f"{CALLBACK}?code=x&state=y")
    assert resp.status_code == 403 and _no_channels()
