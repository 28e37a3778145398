"""Email for accounts through a real SMTP server on loopback: invitations (and resending them),
"Forgot password?" with its single-use, expiring link that ends every session, an admin's reset
link for a teammate, and the admin's test email; without a mail server, links to copy instead."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select, update

from keloa_web.db import db, utcnow
from keloa_web.models import OutgoingEmail, PasswordReset
from tests import helpers

LINK = re.compile(r"https?://\S+/(?:invite|reset)/[\w-]+")


def test_an_invitation_is_emailed_resent_with_a_new_link_and_the_old_one_dies(app, admin_client, mailbox, client):
    html = unescape(admin_client.post("/team/invites", htmx=True, data={"email": "Tess@Example.com", "role": "agent"}
                                      ).get_data(as_text=True))
    assert "Invitation emailed to tess@example.com" in html
    (mail,) = helpers.deliver_mail(mailbox, 1)
    assert mail["To"] == "tess@example.com" and mail["Subject"] == "Olivia Owner invites you to Keloa"
    first = LINK.search(mail.get_body(("plain",)).get_content()).group(0)
    assert first in html  # the same link, to copy
    invite_id = re.search(r"/team/invites/(\d+)/resend", html).group(1)
    html = unescape(admin_client.post(f"/team/invites/{invite_id}/resend", htmx=True).get_data(as_text=True))
    second = LINK.search(helpers.deliver_mail(mailbox, 2)[1].get_body(("plain",)).get_content()).group(0)
    assert second != first and second in html
    path = lambda url: url.split("://", 1)[1].split("/", 1)[1]  # noqa: E731
    assert client.get("/" + path(first)).status_code == 410  # the old link no longer works
    resp = client.post("/" + path(second), data={"name": "Tess", "password": "a long password 1",
                                                 "confirm": "a long password 1"})
    assert resp.status_code == 302
    assert helpers.Client(app).get("/" + path(second)).status_code == 410  # used once: dead


def test_without_a_mail_server_the_links_are_shown_to_copy_and_said_so(app, admin_client):
    html = unescape(admin_client.post("/team/invites", htmx=True, data={"email": "tess@example.com", "role": "agent"}
                                      ).get_data(as_text=True))
    assert "This Keloa cannot send email (no mail server is set up), so send this link to them" in html
    assert LINK.search(html) and db.session.scalar(select(OutgoingEmail)) is None
    assert "No mail server is set up" in admin_client.get("/team/").get_data(as_text=True)


def test_forgot_password_answers_the_same_for_any_address_and_the_link_resets_once(app, admin, mailbox, client):
    signed_in = helpers.Client(app)
    signed_in.login("owner@example.com")
    answers = []
    from rq import Queue

    from keloa_web.jobs import get_redis

    for email in ("owner@example.com", "nobody@example.com"):
        resp = client.post("/forgot", data={"email": email}, follow_redirects=True)
        answers.append(re.search(r"If an account uses that address[^<]*", unescape(resp.get_data(as_text=True))).group(0))
    assert answers[0] == answers[1]
    # The same work for either: one job each, which looks the address up in the worker.
    assert len(Queue("default", connection=get_redis()).jobs) == 2
    (mail,) = helpers.deliver_mail(mailbox, 1)
    assert mail["To"] == "owner@example.com" and len(mailbox.messages) == 1  # none for the unknown address
    path = "/" + LINK.search(mail.get_body(("plain",)).get_content()).group(0).split("://", 1)[1].split("/", 1)[1]
    page = client.get(path).get_data(as_text=True)
    assert "Choose a new password" in page and "owner@example.com" in page
    resp = client.post(path, data={"password": "short", "confirm": "short"})
    assert resp.status_code == 400 and "Use at least 10 characters." in resp.get_data(as_text=True)
    resp = client.post(path, data={"password": "a brand new password", "confirm": "a brand new password"},
                       follow_redirects=True)
    assert "Your new password is set, and every session that used the old one has ended." in unescape(
        resp.get_data(as_text=True))
    assert signed_in.get("/settings").status_code == 302  # that session ended
    assert client.get(path).status_code == 410  # single use
    fresh = helpers.Client(app)
    fresh.login("owner@example.com", "a brand new password")


def test_a_reset_link_expires_and_requests_are_throttled(app, admin, mailbox, client):
    client.post("/forgot", data={"email": "owner@example.com"})
    (mail,) = helpers.deliver_mail(mailbox, 1)
    path = "/" + LINK.search(mail.get_body(("plain",)).get_content()).group(0).split("://", 1)[1].split("/", 1)[1]
    with db.session_scope() as s:
        s.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(minutes=1)))
    resp = client.get(path)
    assert resp.status_code == 410 and "works once, for an hour" in resp.get_data(as_text=True)
    for _ in range(int(app.config["LOGIN_RATE_LIMIT"]) + 2):
        resp = client.post("/forgot", data={"email": "owner@example.com"})
    assert resp.status_code == 429 and "Too many requests from this address" in resp.get_data(as_text=True)


def test_an_admin_makes_a_reset_link_for_a_teammate_and_sends_a_test_email(app, admin_client, agent_user, mailbox):
    html = unescape(admin_client.post(f"/team/{agent_user.id}/reset-link", htmx=True).get_data(as_text=True))
    assert "Emailed Aaron Agent a link to choose a new password" in html and LINK.search(html)
    (mail,) = helpers.deliver_mail(mailbox, 1)
    assert "Olivia Owner made this link for you." in mail.get_body(("plain",)).get_content()
    html = unescape(admin_client.post("/team/test-email", htmx=True).get_data(as_text=True))
    assert "Sent a test email to owner@example.com." in html
    assert mailbox.wait_for(2)[1]["Subject"] == "Keloa test email"
    app.config["MAIL_PORT"] = helpers.free_port()  # nothing listens there
    resp = admin_client.post("/team/test-email", htmx=True)
    assert resp.status_code == 502 and "The test email did not go: ConnectionRefusedError" in unescape(
        resp.get_data(as_text=True))


def test_a_reset_link_dies_with_a_deactivation_or_a_password_change(app, admin_client, agent_user, mailbox, client):
    html = unescape(admin_client.post(f"/team/{agent_user.id}/reset-link", htmx=True).get_data(as_text=True))
    path = "/" + LINK.search(html).group(0).split("://", 1)[1].split("/", 1)[1]
    admin_client.post(f"/team/{agent_user.id}/deactivate", htmx=True)
    assert client.get(path).status_code == 410
    resp = admin_client.post(f"/team/{agent_user.id}/reset-link", htmx=True)
    assert resp.status_code == 409 and "is deactivated: reactivate them first" in unescape(resp.get_data(as_text=True))
    html = unescape(admin_client.post(f"/team/{agent_user.id}/reactivate", htmx=True).get_data(as_text=True))
    html = unescape(admin_client.post(f"/team/{agent_user.id}/reset-link", htmx=True).get_data(as_text=True))
    path = "/" + LINK.search(html).group(0).split("://", 1)[1].split("/", 1)[1]
    aaron = helpers.Client(app)
    aaron.login("agent@example.com")
    aaron.post("/settings", data={"current": "correct horse battery", "password": "another long password",
                                  "confirm": "another long password"})
    assert client.get(path).status_code == 410  # a changed password ends the outstanding links
