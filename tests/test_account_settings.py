"""Your own account on Settings: name and time zone (the zone every time on the page is shown in),
and a new email that takes effect only once the link sent to it through a real SMTP server is
opened (the old address is told); without a mail server, the link to copy, said so."""
from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import User
from tests import helpers


def _text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def test_name_and_time_zone_are_saved_and_a_wrong_zone_is_refused_on_the_page(app, admin_client):
    page = _text(admin_client.get("/settings"))
    assert '<option selected value="">This browser\'s time zone</option>' in page
    assert 'value="Europe/Paris">Europe/Paris</option>' in page and "US/Eastern" not in page
    resp = admin_client.post("/settings/profile", data={"name": "  Olivia O.  ", "time_zone": "Europe/Paris"},
                             follow_redirects=True)
    html = _text(resp)
    assert "Your name and time zone are saved." in html and 'data-tz="Europe/Paris"' in html
    assert '<option selected value="Europe/Paris">' in html
    user = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    assert user.name == "Olivia O." and user.time_zone == "Europe/Paris"
    bad = admin_client.post("/settings/profile", data={"name": "", "time_zone": "Mars/Olympus"})
    html = _text(bad)
    assert bad.status_code == 400 and "Enter your name." in html and "Not a valid choice" in html
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone == "Europe/Paris"  # nothing changed


def test_a_new_email_is_confirmed_by_the_link_sent_to_it_and_the_old_address_is_told(app, admin_client, mailbox):
    helpers.make_user(app, email="taken@example.com", name="Taken")
    wrong = admin_client.post("/settings/email", data={"new_email": "olivia@new.example", "password": "nope"})
    assert wrong.status_code == 400 and "This is not your password." in _text(wrong)
    assert 'value="olivia@new.example"' in _text(wrong)  # what was typed is kept
    taken = admin_client.post("/settings/email", data={"new_email": "Taken@example.com",
                                                       "password": "correct horse battery"})
    assert "Another account of this Keloa uses this address." in _text(taken)
    resp = admin_client.post("/settings/email", data={"new_email": "Olivia@New.example",
                                                      "password": "correct horse battery"})
    assert resp.headers["Location"] == "/settings#email"
    html = _text(admin_client.get("/settings"))
    assert "We emailed olivia@new.example a link: your email changes when you open it." in html
    assert "Waiting for you to open the link sent to <strong>olivia@new.example</strong>" in html
    (confirm,) = helpers.deliver_mail(mailbox, 1)
    assert confirm["To"] == "olivia@new.example" and confirm["Subject"] == "Confirm your new Keloa email"
    assert "owner@example.com" == db.session.scalar(select(User.email).where(User.name == "Olivia Owner"))
    link = helpers.mail_link(confirm, r"email/confirm/[\w-]+")
    resp = admin_client.get(link, follow_redirects=True)
    assert "Your email is now olivia@new.example. Use it to sign in." in _text(resp)
    notice = helpers.deliver_mail(mailbox, 2)[1]
    assert notice["To"] == "owner@example.com" and "now signs in with olivia@new.example" in notice.get_body(
        ("plain",)).get_content()
    assert admin_client.get(link).status_code == 410  # single use
    helpers.Client(app).login("olivia@new.example")
    old = helpers.Client(app).post("/login", data={"email": "owner@example.com", "password": "correct horse battery"})
    assert old.status_code == 401


def test_a_cancelled_change_kills_its_link(app, admin_client, mailbox):
    admin_client.post("/settings/email", data={"new_email": "x@new.example", "password": "correct horse battery"})
    link = helpers.mail_link(helpers.deliver_mail(mailbox, 1)[0], r"email/confirm/[\w-]+")
    resp = admin_client.post("/settings/email/cancel", follow_redirects=True)
    assert "The email change is cancelled" in _text(resp)
    resp = helpers.Client(app).get(link)
    assert resp.status_code == 410 and "This link is not valid any more" in _text(resp)
    assert db.session.scalar(select(User.email).where(User.name == "Olivia Owner")) == "owner@example.com"


def test_without_a_mail_server_the_confirmation_link_is_shown_to_copy(app, admin_client):
    resp = admin_client.post("/settings/email", data={"new_email": "x@new.example", "password": "correct horse battery"},
                             follow_redirects=True)
    html = _text(resp)
    assert "This Keloa cannot send email (no mail server is set up)" in html
    link = re.search(r'value="(https?://[^"]+/email/confirm/[\w-]+)"', html).group(1)
    resp = admin_client.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow_redirects=True)
    assert "Your email is now x@new.example." in _text(resp)


def test_a_name_is_one_line(app, admin_client):
    bad = admin_client.post("/settings/profile", data={"name": "Ada\r\nBcc: all@example.com", "time_zone": ""})
    assert bad.status_code == 400 and "Use letters, digits and punctuation on one line." in _text(bad)
    assert db.session.scalar(select(User.name).where(User.email == "owner@example.com")) == "Olivia Owner"


def test_a_confirmation_link_opened_in_someone_elses_browser_changes_nothing_of_theirs(app, admin_client, agent_client,
                                                                                        mailbox):
    admin_client.post("/settings/email", data={"new_email": "olivia@new.example", "password": "correct horse battery"})
    link = helpers.mail_link(helpers.deliver_mail(mailbox, 1)[0], r"email/confirm/[\w-]+")
    page = agent_client.get(link)
    assert page.status_code == 200 and "That account's email is now olivia@new.example." in _text(page)
    assert "Your email is now" not in _text(agent_client.get("/settings"))  # no flash in the agent's session
