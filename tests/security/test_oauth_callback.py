"""The OAuth callbacks (Facebook Login and Instagram Login) under attack or misuse: each case a
clear message, nothing connected, no 500. (The happy paths, a cancelled dialog and a replayed code
are in tests/test_connect_meta.py and tests/test_instagram_login.py.)"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
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


LOGINS = {  # the login's start, its callback, and what its messages say
    "facebook": ("/integrations/meta/login", "/integrations/meta/callback", "Meta did not complete the sign-in"),
    "instagram": ("/integrations/instagram/login", "/integrations/instagram/callback",
                  "Instagram did not complete the log-in"),
}


def _state(client, start: str) -> str:
    """Start a log-in in Keloa; the state of the window it opens."""
    resp = client.post(start)
    assert resp.status_code == 302
    return parse_qs(urlsplit(resp.headers["Location"]).query)["state"][0]


@pytest.mark.parametrize("login", LOGINS)
def test_error_text_from_the_window_is_shown_inert_and_short(app, admin_client, login):
    start, callback, said = LOGINS[login]
    state = _state(admin_client, start)
    resp = admin_client.get(f"{callback}?state={state}&error=server_error"
                            f"&error_description=%3Cscript%3Ealert(1)%3C/script%3E{'x' * 3000}")
    page = _flash_after(admin_client, resp)
    assert said in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "x" * 300 not in page  # cut to a message's length, not kilobytes in the page and the cookie
    assert _no_channels()


@pytest.mark.parametrize("login", LOGINS)
def test_error_text_of_a_window_not_opened_here_is_not_shown(app, admin_client, login):
    """Anyone can send an admin a callback link with an error: its words are not Keloa's to repeat."""
    _start, callback, said = LOGINS[login]
    page = _flash_after(admin_client, admin_client.get(
        f"{callback}?error=server_error&error_description=Your+account+is+suspended,+call+us"))
    assert said in page and "suspended" not in page and _no_channels()


@pytest.mark.parametrize("login", LOGINS)
def test_a_cancelled_attempt_cannot_be_finished_later(sandbox, app, admin_client, login):
    """The window answered with an error: its state is forgotten, so a code brought back with it later
    (someone who saw the window's address) connects nothing."""
    start, callback, _said = LOGINS[login]
    state = _state(admin_client, start)
    admin_client.get(f"{callback}?state={state}&error=access_denied")
    page = _flash_after(admin_client, admin_client.get(f"{callback}?state={state}&code=someone-elses-code"))
    assert "already used or has expired" in page and _no_channels()
    with admin_client.http.session_transaction() as session:
        assert not [key for key in session if key.startswith("_state_")]


@pytest.mark.parametrize("login", LOGINS)
def test_an_expired_attempt_is_refused(sandbox, app, admin_client, login):
    start, callback, _said = LOGINS[login]
    state = _state(admin_client, start)
    with admin_client.http.session_transaction() as session:
        key = next(k for k in session if k.endswith(state))
        session[key] = {**session[key], "exp": 1}  # an hour's attempt, long gone
    page = _flash_after(admin_client, admin_client.get(f"{callback}?state={state}&code=a-code"))
    assert "already used or has expired" in page and _no_channels()


def test_instagram_callback_without_a_started_log_in_is_ignored(app, admin_client):
    page = _flash_after(admin_client, admin_client.get("/integrations/instagram/callback?code=forged&state=forged"))
    assert "already used or has expired" in page and "Connect with Instagram" in page and _no_channels()


def test_state_from_another_session_is_refused_for_instagram_too(sandbox, app, admin_client):
    callback = factories.instagram_dialog(admin_client, sandbox)
    from tests import helpers

    other = helpers.Client(app)
    other.login("owner@example.com")
    page = _flash_after(other, other.get(callback))
    assert "already used or has expired" in page and _no_channels()


def test_agents_cannot_start_or_finish_an_instagram_log_in(app, agent_client):
    assert agent_client.post("/integrations/instagram/login").status_code == 403
    assert agent_client.get("/integrations/instagram/callback?code=x&state=y").status_code == 403
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
