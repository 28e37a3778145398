"""A local SMTP server on loopback that keeps what it receives: `make run` points Keloa's email at
it (each message a .eml file under instance/mail/), and the tests read its messages. Never used
in production, where MAIL_HOST names your own mail server."""
from __future__ import annotations

import email
import email.policy
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{time.time_ns()}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"


class Mailbox:
    """`with Mailbox(port=0) as box:` … `box.port`, `box.messages`, `box.wait_for(n)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None, *,
                 tls=None, starttls=None) -> None:
        """`tls`: an ssl.SSLContext to speak TLS from the first byte (port 465 style); `starttls`:
        one to offer STARTTLS with, and refuse mail until the client uses it."""
        if port == 0:
            import socket

            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self._keep = _Keep(folder)
        kwargs = {"tls_context": starttls, "require_starttls": True} if starttls is not None else {}
        self._controller = Controller(self._keep, hostname=host, port=port, ssl_context=tls, **kwargs)

    def start(self) -> "Mailbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "Mailbox":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def messages(self) -> list:
        with self._keep.lock:
            return list(self._keep.messages)

    def wait_for(self, count: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} email(s), got {len(self.messages)}")
