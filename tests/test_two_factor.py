"""Two-factor sign-in: set-up with the QR code and its first code, the code asked after the right
password (each code once, throttled like passwords, from any address), backup codes that die when
used, the team's rule (admins or everyone) enforced on every page, and an admin's recovery of a
teammate who lost their phone. TOTP codes are computed here from the shared secret, as an
authenticator app would."""
from __future__ import annotations

import re
import time
from html import unescape

import pyotp
import pytest
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import BackupCode, User
from tests import helpers

PASSWORD = "correct horse battery"


def _text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code an app shows `steps_ahead` 30-second steps from now (Keloa takes one step either side)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def set_up(client: helpers.Client) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for the client's user: returns the secret and the backup codes."""
    client.token = helpers.CSRF_RE.search(_text(client.get("/settings/two-factor"))).group(1)
    client.post("/settings/two-factor/start")
    page = _text(client.get("/settings/two-factor"))
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    done = _text(client.post("/settings/two-factor/confirm", data={"code": _code(secret)}))
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done)
    assert len(codes) == 10, done[:2000]
    return secret, codes


def _password_step(client: helpers.Client, email: str = "owner@example.com", **kw):
    resp = client.post("/login", data={"email": email, "password": PASSWORD}, **kw)
    client.token = None  # the session started over: the code page has a new CSRF token
    return resp


def test_set_up_shows_a_qr_code_and_turns_on_only_with_a_right_code(app, admin_client):
    page = _text(admin_client.get("/settings"))
    assert "Two-factor sign-in" in page and "Set up two-factor sign-in" in page
    admin_client.post("/settings/two-factor/start")
    page = _text(admin_client.get("/settings/two-factor"))
    assert '<svg viewBox=' in page and 'aria-label="QR code to scan with your authenticator app"' in page
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert len(secret) == 32
    user = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    assert secret not in (user.totp_pending_enc or "") and user.totp_enabled_at is None  # encrypted at rest
    wrong = admin_client.post("/settings/two-factor/confirm", data={"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400
    html = _text(wrong)
    assert "That code is not right" in html and 'aria-invalid="true"' in html
    assert secret[:4] in html  # the same secret is still there to scan: nothing lost
    done = admin_client.post("/settings/two-factor/confirm", data={"code": _code(secret)})
    html = _text(done)
    assert "Save these now: Keloa shows them only this once." in html
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", html)) == 10
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.two_factor_on and user.totp_pending_enc is None and secret not in user.totp_secret_enc
    assert db.session.scalar(select(BackupCode.code_hash).limit(1)) not in html  # kept as hashes
    page = _text(admin_client.get("/settings/two-factor"))
    assert "10 of 10 backup codes left" in page and "<li><code>" not in page  # shown once only


def test_sign_in_asks_for_the_code_after_the_password_and_each_code_works_once(app, admin_client):
    secret, _codes = set_up(admin_client)
    client = helpers.Client(app)
    resp = _password_step(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/code"
    assert client.get("/inbox").status_code == 302  # not signed in yet: the password alone is not enough
    page = _text(client.get("/login/code"))
    assert "Your password was right. Now enter the code" in page and 'autocomplete="one-time-code"' in page
    wrong = client.post("/login/code", data={"code": "12345"})
    assert wrong.status_code == 401 and "That code is not right, or was already used." in _text(wrong)
    code = _code(secret, 1)  # the set-up used this step's code: the next one is new
    resp = client.post("/login/code", data={"code": code})
    assert resp.status_code == 302 and client.get("/inbox").status_code == 200
    again = helpers.Client(app)
    _password_step(again)
    replay = again.post("/login/code", data={"code": code})
    assert replay.status_code == 401  # seen over a shoulder: no use
    assert again.get("/inbox").status_code == 302


def test_a_backup_code_signs_in_once_and_says_how_many_are_left(app, admin_client):
    _secret, codes = set_up(admin_client)
    client = helpers.Client(app)
    _password_step(client)
    resp = client.post("/login/code", data={"code": codes[0].upper().replace("-", " ")}, follow_redirects=True)
    assert "Signed in with a backup code: 9 left." in _text(resp)
    client.token = None  # signed in: a new session, a new CSRF token
    other = helpers.Client(app)
    _password_step(other)
    assert other.post("/login/code", data={"code": codes[0]}).status_code == 401
    assert "9 of 10 backup codes left" in _text(client.get("/settings/two-factor"))
    # New codes need the password, and replace the old ones.
    assert "This is not your password." in _text(client.post("/settings/two-factor/backup-codes",
                                                             data={"password": "wrong"}))
    fresh = re.findall(r"<li><code>([a-z2-9-]{11})</code></li>", _text(client.post(
        "/settings/two-factor/backup-codes", data={"password": PASSWORD})))
    assert len(fresh) == 10
    third = helpers.Client(app)
    _password_step(third)
    assert third.post("/login/code", data={"code": codes[1]}).status_code == 401
    assert third.post("/login/code", data={"code": fresh[0]}).status_code == 302


def test_wrong_codes_are_throttled_per_address_and_for_the_account_from_any_address(app, admin_client):
    set_up(admin_client)
    limit = app.config["LOGIN_RATE_LIMIT"]
    attacker = helpers.Client(app)
    _password_step(attacker, environ_base={"REMOTE_ADDR": "198.51.100.66"})
    for _ in range(limit + 1):
        resp = attacker.post("/login/code", data={"code": "000001"}, environ_base={"REMOTE_ADDR": "198.51.100.66"})
    assert resp.status_code == 429 and "Too many wrong codes. Try again in" in _text(resp)
    assert int(resp.headers["Retry-After"]) >= 1
    # Moving to other addresses does not give the guesser a fresh allowance for this account.
    statuses = []
    for n in range(limit * 2 + 2):
        other = f"203.0.113.{n + 1}"
        c = helpers.Client(app)
        _password_step(c, environ_base={"REMOTE_ADDR": other})
        statuses.append(c.post("/login/code", data={"code": "000001"}, environ_base={"REMOTE_ADDR": other}).status_code)
    assert statuses[0] == 401 and 429 in statuses  # each address fresh, the account not


def test_the_code_step_lasts_five_minutes(app, admin_client, monkeypatch):
    set_up(admin_client)
    client = helpers.Client(app)
    _password_step(client)
    later = time.time() + 301
    monkeypatch.setattr("keloa_web.accounts.two_factor_views.time.time", lambda: later)
    resp = client.get("/login/code", follow_redirects=True)
    assert "Sign in again: the step for your authentication code was left for more than 5 minutes." in _text(resp)


def test_the_rule_for_admins_sends_an_admin_without_it_to_the_set_up_and_leaves_agents_alone(
        app, admin_client, agent_client):
    other_admin = helpers.make_user(app, email="second@example.com", name="Sam Second", role="admin")
    assert other_admin
    # An admin must have it before requiring it: the error is said on the Team page, the choice kept.
    resp = admin_client.post("/team/two-factor", htmx=True, data={"rule": "admins"})
    html = _text(resp)
    assert resp.status_code == 409 and "Nothing was saved: set up two-factor sign-in for yourself first" in html
    assert '<option value="admins" selected>' in html
    set_up(admin_client)
    html = _text(admin_client.post("/team/two-factor", htmx=True, data={"rule": "admins"}))
    assert "Admins must use two-factor sign-in" in html and '<option value="admins" selected>' in html
    second = helpers.Client(app)
    second.login("second@example.com")
    resp = second.get("/inbox")
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings/two-factor"
    page = _text(second.get("/settings/two-factor"))
    assert "Your team requires two-factor sign-in: set it up to continue." in page
    assert second.get("/team/", htmx=True).headers.get("HX-Redirect") == "/settings/two-factor"
    assert agent_client.get("/inbox").status_code == 200  # agents are not covered
    set_up(second)
    assert second.get("/inbox").status_code == 200
    # Covered by the rule: it cannot be turned off, even with the password.
    resp = second.post("/settings/two-factor/off", data={"password": PASSWORD})
    assert resp.status_code == 409 and "Your team requires two-factor sign-in, so it stays on." in _text(resp)
    # Everyone: now the agent too.
    admin_client.post("/team/two-factor", htmx=True, data={"rule": "everyone"})
    resp = agent_client.get("/inbox")
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings/two-factor"
    agent_client.token = helpers.CSRF_RE.search(_text(agent_client.get("/settings/two-factor"))).group(1)
    resp = agent_client.post("/team/two-factor", data={"rule": "nobody"})  # gated, and not an admin anyway
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings/two-factor"


def test_turning_it_off_needs_the_password(app, admin_client):
    set_up(admin_client)
    resp = admin_client.post("/settings/two-factor/off", data={"password": "nope"})
    assert resp.status_code == 400 and "This is not your password." in _text(resp)
    resp = admin_client.post("/settings/two-factor/off", data={"password": PASSWORD}, follow_redirects=True)
    assert "Two-factor sign-in is off: your password alone signs you in." in _text(resp)
    assert db.session.scalar(select(BackupCode).limit(1)) is None
    client = helpers.Client(app)
    client.login("owner@example.com")  # no code asked


def test_an_admin_turns_it_off_for_a_teammate_who_lost_their_phone_and_they_are_told(
        app, admin_client, agent_user, mailbox):
    agent = helpers.Client(app)
    agent.login("agent@example.com")
    set_up(agent)
    refused = admin_client.post(f"/team/{agent_user.id}/two-factor-off", htmx=True)
    assert refused.status_code == 403 and "Only an admin who uses two-factor sign-in may turn it off" in _text(refused)
    set_up(admin_client)
    page = _text(admin_client.get("/team/"))
    assert f'action="/team/{agent_user.id}/two-factor-off"' in page
    html = _text(admin_client.post(f"/team/{agent_user.id}/two-factor-off", htmx=True))
    assert "Two-factor sign-in is off for Aaron Agent." in html
    notice = helpers.deliver_mail(mailbox, 3)[-1]  # (before: "Two-factor sign-in is now on", twice)
    assert notice["To"] == "agent@example.com"
    assert "Olivia Owner turned off two-factor sign-in" in notice.get_body(("plain",)).get_content()
    helpers.Client(app).login("agent@example.com")  # the password alone again
    # An agent cannot do it for anyone.
    assert agent.post(f"/team/{agent_user.id}/two-factor-off").status_code == 403


@pytest.mark.parametrize("path", ["/settings/two-factor/start", "/settings/two-factor/confirm", "/settings/two-factor/off",
                                  "/settings/two-factor/backup-codes"])
def test_the_set_up_pages_need_a_signed_in_user(client, admin, path):
    resp = client.post(path, data={"code": "123456", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_a_new_phone_needs_the_password_and_the_owner_is_told(app, admin_client, mailbox):
    secret, codes = set_up(admin_client)
    refused = admin_client.post("/settings/two-factor/start", data={"password": "a guess"})
    assert refused.status_code == 400 and "This is not your password." in _text(refused)
    assert "totp-secret" not in _text(admin_client.get("/settings/two-factor"))  # nothing started
    admin_client.post("/settings/two-factor/start", data={"password": PASSWORD})
    page = _text(admin_client.get("/settings/two-factor"))
    assert "Your current phone keeps working until the new one is confirmed here" in page
    new_secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    done = _text(admin_client.post("/settings/two-factor/confirm", data={"code": _code(new_secret, 1)}))
    assert "Two-factor sign-in now uses the new phone: the old one and your old backup codes no longer work." in done
    told = helpers.deliver_mail(mailbox, 2)[-1]
    assert told["Subject"] == "Two-factor sign-in changed on your Keloa account"
    assert "the old phone and the old backup codes no longer work" in told.get_body(("plain",)).get_content()
    client = helpers.Client(app)
    _password_step(client)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 401  # the old codes died
    assert client.post("/login/code", data={"code": _code(secret, 1)}).status_code == 401  # the old phone too


def test_password_checks_on_settings_are_throttled(app, admin_client):
    set_up(admin_client)
    limit = app.config["LOGIN_RATE_LIMIT"]
    for _ in range(limit + 1):
        resp = admin_client.post("/settings/two-factor/backup-codes", data={"password": "guess"})
    assert "Too many wrong passwords. Try again in" in _text(resp)
    resp = admin_client.post("/settings/email", data={"new_email": "x@new.example", "password": PASSWORD})
    assert "Too many wrong passwords" in _text(resp)  # the right one waits too: the guesser cannot tell


def test_wrong_codes_after_the_right_password_tell_the_owner(app, admin_client, mailbox):
    set_up(admin_client)
    helpers.deliver_mail(mailbox, 1)  # "now on"
    limit = app.config["LOGIN_RATE_LIMIT"]
    for n in range(limit):
        c = helpers.Client(app)
        _password_step(c, environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})
        c.post("/login/code", data={"code": "000001"}, environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})
    notice = helpers.deliver_mail(mailbox, 2)[-1]
    assert notice["Subject"] == "Someone has your Keloa password"
    assert f"entered {limit} wrong authentication codes" in notice.get_body(("plain",)).get_content()


def test_a_reload_of_a_form_answer_lands_on_the_page(admin_client):
    for step in ("start", "confirm", "backup-codes", "off", "cancel"):
        resp = admin_client.get(f"/settings/two-factor/{step}")
        assert resp.status_code == 302 and resp.headers["Location"] == "/settings/two-factor"
