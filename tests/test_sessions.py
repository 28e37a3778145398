"""Sign-in sessions live on the server: sign-out, expiry, "Sign out other sessions", the Meta sign-in."""
from __future__ import annotations

import json
from datetime import timedelta

import redis as redis_lib
from sqlalchemy import event, select, update

from keloa_web.db import db, utcnow
from keloa_web.models import UserSession
from tests import helpers

PASSWORD = "correct horse battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1"


def _browser(app, user_agent: str = FIREFOX, ip: str = "203.0.113.7") -> helpers.Client:
    c = helpers.Client(app)
    c.http.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip})
    return c


def _signed_out(c: helpers.Client) -> bool:
    resp = c.get("/settings")
    if resp.status_code != 302 or "/login" not in resp.headers["Location"]:
        return False
    return "Please sign in to continue." in c.get(resp.headers["Location"]).get_data(as_text=True)


def _copy_cookie(source: helpers.Client, target: helpers.Client) -> None:
    target.http.set_cookie("session", source.http.get_cookie("session").value)


def test_a_copied_cookie_stops_working_when_its_session_signs_out(app, admin):
    a = _browser(app)
    a.login("owner@example.com")
    thief = _browser(app, PHONE, "198.51.100.66")
    _copy_cookie(a, thief)
    assert "Olivia Owner" in thief.get("/settings").get_data(as_text=True)  # the copy works while signed in

    resp = a.post("/logout")
    assert resp.status_code == 302 and "You are signed out." in a.get("/login").get_data(as_text=True)
    assert _signed_out(thief)
    assert _signed_out(a)
    assert db.session.scalar(select(UserSession.ended_at)) is not None


def test_sessions_end_when_idle_and_at_their_absolute_lifetime(app, admin):
    idle, old = _browser(app), _browser(app)
    idle.login("owner@example.com")
    old.login("owner@example.com")
    first, second = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
    now = utcnow()
    # SESSION_IDLE_MINUTES (720) without a request, and SESSION_MAX_DAYS (14) since signing in
    # though used a second ago.
    db.session.execute(update(UserSession).where(UserSession.id == first.id)
                       .values(last_seen_at=now - timedelta(minutes=721)))
    db.session.execute(update(UserSession).where(UserSession.id == second.id)
                       .values(created_at=now - timedelta(days=14, minutes=1), last_seen_at=now))
    db.session.commit()
    assert _signed_out(idle)
    assert _signed_out(old)
    fresh = _browser(app)
    fresh.login("owner@example.com")
    page = fresh.get("/settings").get_data(as_text=True)
    assert "after 12 hours without use, and 14 days after signing in" in page
    assert page.split('id="sessions"', 1)[1].count('<tr id="session-') == 1  # expired ones are not listed

    from keloa_web.accounts.jobs import purge_stale_records

    assert purge_stale_records() == 2  # the housekeeping job removes rows that can no longer be used
    assert fresh.get("/settings").status_code == 200


def test_activity_is_recorded_at_most_once_a_minute_with_one_lookup_per_request(app, admin):
    c = _browser(app)
    c.login("owner@example.com")
    statements = []

    def seen(conn, cursor, statement, *args):
        if "user_sessions" in statement:
            statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert c.get("/inbox").status_code == 200
        assert c.get("/inbox").status_code == 200
        assert statements == ["SELECT", "SELECT"]  # signed in a moment ago: nothing to write
        statements.clear()
        a_while_ago = utcnow() - timedelta(minutes=5)
        db.session.execute(update(UserSession).values(last_seen_at=a_while_ago))
        db.session.commit()
        statements.clear()
        assert c.get("/inbox").status_code == 200
        assert statements == ["SELECT", "UPDATE"]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.expire_all()
    assert db.session.scalar(select(UserSession.last_seen_at)) > a_while_ago + timedelta(minutes=4)


def test_settings_lists_your_sessions_and_signs_out_the_others(app, admin):
    laptop, phone = _browser(app), _browser(app, PHONE, "198.51.100.20")
    laptop.login("owner@example.com")
    phone.login("owner@example.com")
    page = laptop.get("/settings").get_data(as_text=True)
    sessions = page.split('id="sessions"', 1)[1]
    assert sessions.count('<tr id="session-') == 2 and sessions.count("This browser") == 1
    assert "iPhone" in sessions and "198.51.100.20" in sessions and "203.0.113.7" in sessions
    assert "Sign out other sessions" in sessions

    resp = laptop.post("/settings/sessions/sign-out-others")
    assert resp.status_code == 302
    page = laptop.get("/settings").get_data(as_text=True)
    assert "Your other sessions were signed out." in page
    assert page.split('id="sessions"', 1)[1].count('<tr id="session-') == 1
    assert _signed_out(phone)
    assert laptop.get("/settings").status_code == 200


def test_one_other_session_can_be_signed_out_from_settings(app, admin, agent_user):
    laptop, phone, tablet = _browser(app), _browser(app, PHONE), _browser(app)
    for c in (laptop, phone, tablet):
        c.login("owner@example.com")
    colleague = _browser(app)
    colleague.login("agent@example.com")
    phone_id = db.session.scalars(select(UserSession.id).order_by(UserSession.id)).all()[1]
    resp = laptop.post(f"/settings/sessions/{phone_id}/sign-out")
    assert resp.status_code == 302
    assert "That session was signed out." in laptop.get("/settings").get_data(as_text=True)
    assert _signed_out(phone)
    assert tablet.get("/settings").status_code == 200
    # Someone else's session is not yours to end: nothing happens.
    colleague_id = db.session.scalars(select(UserSession.id).order_by(UserSession.id.desc())).first()
    laptop.post(f"/settings/sessions/{colleague_id}/sign-out")
    assert "That session had already ended." in laptop.get("/settings").get_data(as_text=True)
    assert colleague.get("/settings").status_code == 200


def test_deactivation_ends_every_session_of_that_user(app, admin_client, agent_user):
    one, two = _browser(app), _browser(app)
    one.login("agent@example.com")
    two.login("agent@example.com")
    admin_client.post(f"/team/{agent_user.id}/deactivate", htmx=True)
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == agent_user.id)).all()
    assert len(rows) == 2 and all(r.ended_at for r in rows)
    assert _signed_out(one) and _signed_out(two)


def test_a_pending_meta_sign_in_ends_with_sign_out_and_with_the_next_sign_in(app, admin, redis_url):
    """The previous admin's Meta sign-in (its token in Redis, its key in the cookie) is gone for the
    next person at that browser: the Page picker says to sign in with Meta again."""
    from keloa_web import crypto

    conn = redis_lib.Redis.from_url(redis_url)
    record = json.dumps({"user_id": "17841", "name": "Previous Admin", "token": crypto.encrypt("EAAB-previous")})
    c = _browser(app)
    c.login("owner@example.com")
    with c.http.session_transaction() as sess:
        sess["meta_login"] = "previous-admins-key"
    conn.set("keloa:meta_login:previous-admins-key", record)
    left_behind = _browser(app)
    _copy_cookie(c, left_behind)

    c.post("/logout")
    with c.http.session_transaction() as sess:
        assert "meta_login" not in sess and "_user_id" not in sess
    assert conn.get("keloa:meta_login:previous-admins-key") is None

    # A browser whose cookie still holds the Meta sign-in key (its own session was ended with the
    # one it was copied from): whoever signs in there next starts without it.
    conn.set("keloa:meta_login:previous-admins-key", record)
    left_behind.login("owner@example.com")
    with left_behind.http.session_transaction() as sess:
        assert "meta_login" not in sess
    assert conn.get("keloa:meta_login:previous-admins-key") is None
    resp = left_behind.get("/integrations/meta/pages")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/")
    assert "Your Meta sign-in has expired" in left_behind.get("/integrations/").get_data(as_text=True)


def test_pages_loaded_at_once_right_after_sign_in_share_one_form_token(app, admin):
    """The sign-in answer's cookie already holds the CSRF token. It did not: the redirect target and
    a page opened beside it each made their own, the last cookie won, and the other page's forms
    said "Your form expired" (seen in Chromium after a sign-in)."""
    a = _browser(app)
    a.login("owner@example.com")
    after_sign_in = a.http.get_cookie("session").value
    # Two pages requested with the same cookie before either answer arrives:
    settings_page = a.http.get("/settings")
    token = helpers.CSRF_RE.search(settings_page.get_data(as_text=True)).group(1)
    a.http.set_cookie("session", after_sign_in)
    a.http.get("/inbox")  # the later answer: its cookie is the one the browser keeps
    resp = a.http.post("/settings", data={"csrf_token": token, "current": "wrong", "password": "x" * 12,
                                          "confirm": "x" * 12})
    body = resp.get_data(as_text=True)
    assert "Your form expired" not in body and "This is not your current password." in body


def test_sessions_are_named_by_browser_and_system(app, admin):
    a = _browser(app)
    a.login("owner@example.com")
    phone = _browser(app, PHONE, "198.51.100.66")
    phone.login("owner@example.com")
    html = a.get("/settings").get_data(as_text=True)
    assert "Firefox on Linux" in html and "Safari on iPhone" in html and "Sign this one out" in html


def test_a_session_that_ends_during_an_htmx_request_signs_in_back_to_the_same_page(app, admin):
    a = _browser(app)
    a.login("owner@example.com")
    with db.session_scope() as s:
        s.execute(update(UserSession).values(ended_at=utcnow()))
    resp = a.get("/inbox?status=all", htmx=True, headers={"HX-Current-URL": "http://localhost/inbox/c/5?status=all"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/login?next=/inbox/c/5?status%3Dall"
    page = a.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Your session ended. Sign in again to continue." in page
    back = a.post(resp.headers["HX-Redirect"], data={"email": "owner@example.com", "password": PASSWORD})
    assert back.status_code == 302 and back.headers["Location"] == "/inbox/c/5?status=all"
    with db.session_scope() as s:
        s.execute(update(UserSession).values(ended_at=utcnow()))
    elsewhere = a.get("/inbox", htmx=True, headers={"HX-Current-URL": "https://evil.example/x"})
    assert elsewhere.headers["HX-Redirect"] in ("/login?next=", "/login")
