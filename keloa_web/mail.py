"""Sending email through the SMTP server in MAIL_HOST/MAIL_PORT (STARTTLS and a login when set).
`make run` and the tests point it at a local SMTP server on loopback (scripts/mailbox.py)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


class MailError(Exception):
    pass


def configured() -> bool:
    return bool(current_app.config.get("MAIL_HOST"))


def send(to: str, subject: str, text: str) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], to, subject
    msg.set_content(text)
    try:
        with smtplib.SMTP(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg.get("MAIL_STARTTLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
