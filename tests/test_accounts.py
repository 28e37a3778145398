"""First-run setup, sign in, rate limiting, invitations, deactivation."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update

from keloa_web.db import db, utcnow
from keloa_web.models import Invite, LoginAttempt, User
from tests import helpers


def test_first_visit_goes_to_setup_which_creates_one_admin_and_disappears(app, client):
    assert client.get("/login").headers["Location"].endswith("/setup")
    resp = client.post("/setup", data={"name": "Olivia", "email": "Owner@Example.com",
                                       "password": "long enough pw", "confirm": "long enough pw"})
    assert resp.status_code == 302
    users = db.session.scalars(select(User)).all()
    assert [(u.email, u.role) for u in users] == [("owner@example.com", "admin")]
    assert client.get("/setup").status_code == 404
    other = helpers.Client(app)
    assert other.http.get("/setup").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_setup_form_errors_are_shown_and_nothing_saved(client):
    resp = client.post("/setup", data={"name": "", "email": "not-an-email", "password": "short", "confirm": "x"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "Use at least 10 characters." in body and "Invalid email address." in body
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_pages_need_a_user(app, admin):
    c = helpers.Client(app)
    resp = c.get("/team/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = c.get("/team/", htmx=True)
    assert resp.status_code == 204 and "/login" in resp.headers["HX-Redirect"]
    assert c.get("/healthz").status_code in (200, 503)


ATTACKER, OWNER_ELSEWHERE = {"REMOTE_ADDR": "198.51.100.66"}, {"REMOTE_ADDR": "203.0.113.7"}
THROTTLED = re.compile(r"Too many failed attempts from this address\. Try again in (\d+) seconds?\.")


def _fail_more(ip: str, email: str, times: int) -> None:
    """Failures as the login form records them, without spending an argon2 check on each."""
    for _ in range(times):
        db.session.add(LoginAttempt(ip=ip, email=email))
    db.session.commit()


def test_guessing_from_one_address_slows_that_address_and_never_locks_the_owner_out(app, admin):
    attacker = helpers.Client(app)
    for _ in range(5):  # LOGIN_RATE_LIMIT in the tests
        resp = attacker.post("/login", data={"email": "owner@example.com", "password": "nope"},
                             environ_base=ATTACKER)
        assert resp.status_code == 401 and "Wrong email or password." in resp.get_data(as_text=True)
    _fail_more("198.51.100.66", "owner@example.com", 5)  # 10 failures: that address now waits 2**5 s
    resp = attacker.post("/login", data={"email": "owner@example.com", "password": "correct horse battery"},
                         environ_base=ATTACKER)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 429 and 25 <= int(THROTTLED.search(body).group(1)) <= 32
    assert 'value="owner@example.com"' in body  # the email stays typed in
    assert 25 <= int(resp.headers["Retry-After"]) <= 32

    owner = helpers.Client(app)  # the owner, at another address, signs in at once
    resp = owner.post("/login", data={"email": "owner@example.com", "password": "correct horse battery"},
                      environ_base=OWNER_ELSEWHERE)
    assert resp.status_code == 302 and "Inbox" in owner.get("/inbox").get_data(as_text=True)

    # Once the wait is over, the right password from the guessed-at address works too, and clears
    # that address's failures for this email.
    db.session.execute(update(LoginAttempt).values(at=LoginAttempt.at - timedelta(seconds=40)))
    db.session.commit()
    resp = attacker.post("/login", data={"email": "owner@example.com", "password": "correct horse battery"},
                         environ_base=ATTACKER)
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_the_wait_doubles_with_each_failure_up_to_fifteen_minutes(app, admin, monkeypatch):
    from keloa_web.accounts import passwords

    now = utcnow()
    monkeypatch.setattr(passwords, "utcnow", lambda: now)
    waits = []
    for _ in range(5 + 12):
        waits.append(passwords.retry_after(db.session, "198.51.100.66", "owner@example.com", 5))
        db.session.add(LoginAttempt(ip="198.51.100.66", email="owner@example.com", at=now))
        db.session.commit()
    assert waits == [0] * 5 + [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert passwords.wait_text(38) == "38 seconds" and passwords.wait_text(900) == "15 minutes"


def test_one_address_trying_many_emails_is_slowed_too(app, admin):
    c = helpers.Client(app)
    for n in range(15):  # 3 × LOGIN_RATE_LIMIT over all emails
        _fail_more("198.51.100.66", f"guess{n}@example.com", 1)
    _fail_more("198.51.100.66", "guess-more@example.com", 5)
    resp = c.post("/login", data={"email": "someone-new@example.com", "password": "whatever it is"},
                  environ_base=ATTACKER)
    assert resp.status_code == 429 and THROTTLED.search(resp.get_data(as_text=True))
    resp = c.post("/login", data={"email": "owner@example.com", "password": "correct horse battery"},
                  environ_base=OWNER_ELSEWHERE)
    assert resp.status_code == 302


def test_an_ipv6_address_counts_as_its_slash_64():
    from keloa_web.accounts.passwords import address_key

    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:198.51.100.66") == address_key("198.51.100.66") == "198.51.100.66"


def test_unknown_emails_and_deactivated_accounts_cost_one_password_check_and_say_the_same(app, admin, monkeypatch):
    from argon2 import PasswordHasher

    checks = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: checks.append(h) or real_verify(self, h, p))
    helpers.make_user(app, "gone@example.com")
    with db.session_scope() as s:
        s.execute(update(User).where(User.email == "gone@example.com").values(active=False))
    c = helpers.Client(app)
    answers = {}
    for email, password in (("nobody@example.com", "correct horse battery"), ("owner@example.com", "nope"),
                            ("gone@example.com", "nope"), ("gone@example.com", "correct horse battery")):
        checks.clear()
        resp = c.post("/login", data={"email": email, "password": password})
        assert len(checks) == 1, (email, password)
        answers[email, password] = (resp.status_code, FLASH.findall(resp.get_data(as_text=True)))
    wrong = (401, ["Wrong email or password."])
    assert answers["nobody@example.com", "correct horse battery"] == wrong
    assert answers["owner@example.com", "nope"] == wrong
    assert answers["gone@example.com", "nope"] == wrong
    assert answers["gone@example.com", "correct horse battery"] == (
        401, ["This account was deactivated. Ask an admin of your team."])


def test_the_dummy_password_never_signs_anyone_in():
    from keloa_web.accounts.passwords import verify_password

    assert verify_password(None, "keloa-dummy-password") is False
    assert verify_password("", "keloa-dummy-password") is False


FLASH = re.compile(r'<div class="flash flash-error" role="alert">([^<]*)</div>')


def test_login_next_is_not_an_open_redirect(app, admin):
    c = helpers.Client(app)
    resp = c.post("/login?next=https://evil.example/x", data={"email": "owner@example.com",
                                                              "password": "correct horse battery"})
    assert resp.status_code == 302 and "evil.example" not in resp.headers["Location"]


@pytest.mark.parametrize("target", [
    "/inbox\r\nSet-Cookie: stolen=1", "/\\evil.example/x", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\x00x", "/\x7f", "//evil.example",
])
def test_login_next_with_control_characters_or_backslashes_goes_to_the_inbox(app, admin, target):
    c = helpers.Client(app)
    query = urlencode({"next": target})
    page = c.get(f"/login?{query}")
    assert page.status_code == 200 and "Sign in" in page.get_data(as_text=True)
    resp = c.post(f"/login?{query}", data={"email": "owner@example.com", "password": "correct horse battery"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert "Inbox" in c.get(resp.headers["Location"]).get_data(as_text=True)
    again = c.get(f"/login?{query}")  # signed in already: straight on, to the same safe place
    assert again.status_code == 302 and again.headers["Location"] == "/inbox"


def test_invite_link_works_once_and_expires(app, admin_client):
    resp = admin_client.post("/team/invites", data={"email": "new@example.com", "role": "agent"}, htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.get_data(as_text=True)
    link = helpers_link(resp.get_data(as_text=True))
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]  # (links use PUBLIC_BASE_URL)
    newcomer = helpers.Client(app)
    assert newcomer.get(path).status_code == 200
    resp = newcomer.post(path, data={"name": "Nina", "password": "new password 1", "confirm": "new password 1"})
    assert resp.status_code == 302
    nina = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert nina.role == "agent"
    again = helpers.Client(app)
    resp = again.get(path)
    assert resp.status_code == 410 and "already used" in resp.get_data(as_text=True)



def helpers_link(body: str) -> str:
    import re

    match = re.search(r'value="(http[^"]+/invite/[^"]+)"', body)
    assert match, body
    return match.group(1)


def test_expired_invite_is_refused(app, admin_client):
    resp = admin_client.post("/team/invites", data={"email": "late@example.com", "role": "agent"}, htmx=True)
    path = helpers_link(resp.get_data(as_text=True)).split("http://localhost", 1)[-1]
    invite = db.session.scalar(select(Invite).where(Invite.email == "late@example.com"))
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resp = helpers.Client(app).get(path)
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)


def test_deactivated_user_is_signed_out_on_next_request(app, admin_client, agent_client, agent_user):
    assert agent_client.get("/settings").status_code == 200
    resp = admin_client.post(f"/team/{agent_user.id}/deactivate", htmx=True)
    assert resp.status_code == 200 and "Deactivated" in resp.get_data(as_text=True)
    resp = agent_client.get("/settings")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = helpers.Client(app).post("/login", data={"email": "agent@example.com", "password": "correct horse battery"})
    assert resp.status_code == 401 and "deactivated" in resp.get_data(as_text=True)


def test_agent_gets_403_on_admin_pages(agent_client, admin):
    assert agent_client.get("/team/").status_code == 403
    resp = agent_client.post(f"/team/{admin.id}/deactivate")
    assert resp.status_code == 403
    assert db.session.get(User, admin.id).active


def test_post_without_csrf_is_refused_and_changes_nothing(app, admin_client, agent_user):
    resp = admin_client.post(f"/team/{agent_user.id}/deactivate", csrf=False)
    assert resp.status_code == 400 and "Nothing was changed" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, agent_user.id).active
    resp = admin_client.post(f"/team/{agent_user.id}/deactivate", csrf=False, htmx=True)
    assert resp.status_code == 400 and resp.headers["HX-Retarget"] == "#flash"


def test_last_admin_cannot_be_demoted(app, admin_client, admin):
    second = helpers.make_user(app, "second@example.com", role="admin")
    assert admin_client.post(f"/team/{second.id}/role", data={"role": "agent"}, htmx=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, second.id).role == "agent"


def test_password_change_ends_other_sessions(app, admin):
    a, b = helpers.Client(app), helpers.Client(app)
    a.login("owner@example.com")
    b.login("owner@example.com")
    resp = a.post("/settings", data={"current": "correct horse battery", "password": "a brand new pw",
                                     "confirm": "a brand new pw"})
    assert resp.status_code == 302
    assert a.get("/settings").status_code == 200
    assert b.get("/settings").status_code == 302


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_fresh_install_sends_every_page_to_setup_without_a_sign_in_message(client):
    resp = client.get("/team/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
    assert "Please sign in" not in client.get("/setup").get_data(as_text=True)


def test_the_password_rule_is_said_before_anyone_gets_it_wrong(client):
    assert "At least 10 characters." in client.get("/setup").get_data(as_text=True)
