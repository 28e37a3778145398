"""Email through a real SMTP server on loopback: queued with the body encrypted, sent by a job
that an unreachable server makes retry (the request that queued it never waits), HTML beside text."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from keloa_web import mail
from keloa_web.db import db
from keloa_web.mailbox import Mailbox
from keloa_web.models import OutgoingEmail
from tests import helpers


def test_a_queued_email_is_encrypted_at_rest_and_retried_until_the_server_answers(app):
    port = helpers.free_port()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port)
    with db.session_scope() as s:
        mail.queue(s, "tess@example.com", "Reset your password", "Open https://keloa.example/reset/SECRET-TOKEN")
    row = db.session.scalar(select(OutgoingEmail))
    assert "SECRET-TOKEN" not in row.body_enc and row.sent_at is None
    with pytest.raises(mail.MailError):
        mail.deliver(row.id)  # nobody listens yet: RQ retries the job later
    db.session.rollback()
    db.session.expire_all()
    row = db.session.get(OutgoingEmail, row.id)
    assert row.attempts == 1 and "ConnectionRefusedError" in row.error
    with Mailbox(port=port) as box:
        mail.deliver(row.id)
        (message,) = box.wait_for(1)
    assert message["To"] == "tess@example.com" and message["Subject"] == "Reset your password"
    assert "SECRET-TOKEN" in message.get_body(("plain",)).get_content()
    assert '<a href="https://keloa.example/reset/SECRET-TOKEN">' in message.get_body(("html",)).get_content()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(OutgoingEmail, row.id).sent_at is not None
    mail.deliver(row.id)  # a duplicate job sends nothing twice
    assert len(box.messages) == 1
