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


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted by this test process through SSL_CERT_FILE."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def _server_context(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_over_starttls_or_tls_and_the_certificate_is_checked(app, certificate, monkeypatch, mode):
    from keloa_web.mail import MailError, send

    server = {"starttls": _server_context(certificate)} if mode == "starttls" else {"tls": _server_context(certificate)}
    with Mailbox(**server) as box:
        app.config.update(MAIL_HOST=box.host, MAIL_PORT=box.port, MAIL_STARTTLS=mode == "starttls",
                          MAIL_TLS=mode == "tls")
        with app.app_context():
            with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):  # not trusted yet: nothing sent
                send("tess@example.com", "Hello", "over TLS")
            monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
            send("tess@example.com", "Hello", "over TLS")
        (message,) = box.wait_for(1)
        assert message["Subject"] == "Hello" and "over TLS" in message.get_body(("plain",)).get_content()


def test_each_email_has_a_date_and_a_message_id(app):
    from keloa_web.mail import send

    with Mailbox() as box:
        app.config.update(MAIL_HOST=box.host, MAIL_PORT=box.port, MAIL_FROM="Keloa <inbox@shop.example>")
        with app.app_context():
            send("tess@example.com", "Hello\r\nBcc: x@example.com", "text")
        (message,) = box.wait_for(1)
    assert message["Date"] and message["Message-ID"].endswith("@shop.example>")
    assert message["Subject"] == "Hello Bcc: x@example.com" and message["Bcc"] is None
