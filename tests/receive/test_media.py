"""Customer media: downloaded at once from Meta's CDN hosts only, size- and type-checked, served
to signed-in users only, deleted with an unsent message; signed public links for outgoing media."""
from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment, Message
from tests import helpers
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000555"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
FILES = {
    "/photo.png": (200, "image/png", PNG),
    "/notes.pdf": (200, "application/pdf", b"%PDF-1.4 tiny"),
    "/big.png": (200, "image/png", b"\x89PNG" + b"0" * 5000),
    "/page.png": (200, "text/html", b"<script>alert(1)</script>"),
    "/gone.png": (404, "text/plain", b"expired"),
}


class _CDN(helpers.QuietHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/hop.png":  # a redirect to a host that is not listed
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/photo.png")
            self.end_headers()
            return
        self.reply(*FILES.get(self.path, (404, "text/plain", b"?")))


@pytest.fixture()
def cdn():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CDN)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture()
def settings(settings, cdn):
    settings["META_CDN_HOSTS"] = f"{cdn},cdninstagram.com"
    settings["MEDIA_MAX_BYTES"] = "4000"
    return settings


def _send(client, mid: str, kind: str, url: str, ts: int):
    post(client, body(BIZ, messaging("c1", BIZ, ts, message={"mid": mid, "attachments": [{"type": kind, "payload": {"url": url}}]})))


def _att(mid: str) -> Attachment:
    db.session.rollback()
    return db.session.scalar(select(Attachment).join(Message).where(Message.mid == mid))


def test_media_is_downloaded_checked_served_and_deleted(app, client, agent_client, settings, cdn):
    channel(BIZ)
    cases = {"ok": ("image", "/photo.png"), "pdf": ("file", "/notes.pdf"), "big": ("image", "/big.png"),
             "html": ("image", "/page.png"), "gone": ("image", "/gone.png"), "hop": ("image", "/hop.png")}
    for i, (mid, (kind, path)) in enumerate(cases.items()):
        _send(client, mid, kind, f"http://{cdn}{path}", 1_760_000_000_000 + i)
    _send(client, "evil", "image", f"http://localhost:{cdn.split(':')[1]}/photo.png", 1_760_000_000_100)
    helpers.run_worker_burst(settings)

    ok = _att("ok")
    assert (ok.status, ok.content_type, ok.size) == ("stored", "image/png", len(PNG))
    assert storage.resolve(ok.local_path).read_bytes() == PNG and ok.local_path.startswith("attachments/")
    assert _att("pdf").status == "stored"
    assert "over the 4000 bytes limit" in _att("big").error
    assert "(the server said text/html), not an image" in _att("html").error
    assert "HTTP 404" in _att("gone").error and "expired" in _att("gone").error
    assert "not one of Meta's media hosts" in _att("hop").error
    assert "localhost" in _att("evil").error and _att("evil").status == "failed"

    shown = agent_client.get(f"/media/{ok.id}")
    assert shown.status_code == 200 and shown.data == PNG and shown.mimetype == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff" and "attachment" not in shown.headers.get("Content-Disposition", "")
    pdf = agent_client.get(f"/media/{_att('pdf').id}")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/media/{ok.id}").status_code == 302  # signed-out visitors go to the login page
    assert agent_client.get(f"/media/{_att('big').id}").status_code == 404

    path = storage.resolve(ok.local_path)
    post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_009_000, message={"mid": "ok", "is_deleted": True})))
    helpers.run_worker_burst(settings)
    db.session.rollback()
    unsent = db.session.scalar(select(Message).where(Message.mid == "ok"))
    assert unsent.deleted and unsent.attachments == [] and not path.exists()


def test_public_links_are_signed_and_expire(app, client):
    relative = storage.save(PNG, "image/png", folder="outgoing")
    url = storage.public_url(relative, max_age=60)
    assert url.startswith(app.config["PUBLIC_BASE_URL"] + "/m/")
    path = url[len(app.config["PUBLIC_BASE_URL"]):]
    resp = client.get(path)
    assert resp.status_code == 200 and resp.data == PNG and resp.mimetype == "image/png"
    assert client.get(path[:-3] + "abc").status_code == 404
    short = storage.public_url(relative, max_age=0)[len(app.config["PUBLIC_BASE_URL"]):]
    time.sleep(1.1)
    assert client.get(short).status_code == 404


def test_storage_never_leaves_the_media_directory(app):
    for bad in ("../keloa.db", "/etc/passwd", "attachments/../../x", ""):
        with pytest.raises(ValueError):
            storage.resolve(bad)
    storage.delete("../../../etc/hostname")  # refused quietly, nothing removed
