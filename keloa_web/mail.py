"""Email through the SMTP server in MAIL_HOST/MAIL_PORT (STARTTLS and a login when set).

`queue(...)` keeps the message (encrypted: it may hold a sign-in link) and queues the `deliver`
job with retries, so a slow or unreachable SMTP server never holds up a request; the job takes
only the row's id. Each message has a plain-text and an HTML body, links made from
PUBLIC_BASE_URL. `make run` and the tests point MAIL_HOST at a local SMTP server on loopback
(keloa_web/mailbox.py).
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from html import escape

from flask import current_app
from rq import Retry
from sqlalchemy.orm import Session

from keloa_web.crypto import decrypt, encrypt
from keloa_web.db import db, utcnow
from keloa_web.jobs import job
from keloa_web.models import OutgoingEmail

log = logging.getLogger(__name__)


class MailError(Exception):
    pass


def configured() -> bool:
    return bool(current_app.config.get("MAIL_HOST"))


def link(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def html_of(text: str) -> str:
    """The HTML body: the text, escaped, its lines and links kept."""
    import re

    parts = []
    for line in text.split("\n"):
        line = escape(line)
        line = re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', line)
        parts.append(line)
    return ('<div style="font-family: system-ui, sans-serif; font-size: 15px; line-height: 1.5">'
            + "<br>\n".join(parts) + '<p style="color: #777">— Keloa</p></div>')


def queue(s: Session, to: str, subject: str, text: str) -> OutgoingEmail:
    """Keep the message and send it after this transaction commits."""
    from keloa_web.sends.outbox import after_commit

    subject = " ".join(subject.split())  # one line: a header never carries a line break
    row = OutgoingEmail(to=to, subject=subject[:200], body_enc=encrypt(json.dumps({"text": text, "html": html_of(text)})))
    s.add(row)
    s.flush()
    after_commit(s, _enqueue, row.id)
    return row


def _enqueue(email_id: int) -> None:
    try:
        deliver.enqueue(email_id)
    except Exception as exc:  # noqa: BLE001 - kept in the table; the sweep sends it
        log.warning("email %s not queued (%s); the sweep sends it", email_id, type(exc).__name__)


@job("default", retry=Retry(max=5, interval=[10, 30, 60, 300, 900]))
def deliver(email_id: int) -> None:
    """Send one kept email (once); an SMTP failure raises, and RQ tries again later."""
    with db.session_scope() as s:
        row = s.get(OutgoingEmail, email_id)
        if row is None or row.sent_at is not None:
            return
        body = json.loads(decrypt(row.body_enc) or "{}")
        row.attempts += 1
        try:
            send(row.to, row.subject, body.get("text", ""), body.get("html"))
        except MailError as exc:
            row.error = str(exc)[:2000]
            s.commit()
            raise
        row.sent_at, row.error = utcnow(), None


def sweep_unsent() -> None:
    """Emails whose job was never queued (Redis was down) are queued again."""
    from datetime import timedelta

    from sqlalchemy import select

    from keloa_web.jobs import job_exists

    with db.session_scope(write=False) as s:
        ids = s.scalars(select(OutgoingEmail.id).where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.attempts == 0,
                                                       OutgoingEmail.created_at < utcnow() - timedelta(minutes=1))
                        .limit(100)).all()
    for email_id in ids:
        if not job_exists(f"email-{email_id}"):
            deliver.enqueue(email_id, job_id=f"email-{email_id}")


def send(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Hand one message to the SMTP server now (the job above; the admin's test email)."""
    cfg = current_app.config
    if not cfg.get("MAIL_HOST"):
        raise MailError("No mail server is set up (MAIL_HOST).")
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], to, " ".join(subject.split())
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=parseaddr(cfg["MAIL_FROM"])[1].rpartition("@")[2] or "localhost")
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
    except (ValueError, TypeError) as exc:  # an address or header that cannot be written: said, not retried blind
        raise MailError(f"This email cannot be written ({exc}).") from exc
    try:
        context = ssl.create_default_context()  # the server's certificate is checked, for its name
        if cfg.get("MAIL_TLS"):  # TLS from the first byte (usually port 465)
            connection = smtplib.SMTP_SSL(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10, context=context)
        else:
            connection = smtplib.SMTP(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10)
        with connection as smtp:
            if cfg.get("MAIL_STARTTLS") and not cfg.get("MAIL_TLS"):  # plain first, then TLS (port 587)
                smtp.starttls(context=context)
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
