"""Uploads in the composer: wrong types, fake extensions and oversize files are refused with a
message that says what to send instead, and nothing is stored or queued."""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.models import Message
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n"
MB = 1024 * 1024


def _post(client, conv_id: int, content: bytes, filename: str, text: str = ""):
    return client.post(f"/inbox/c/{conv_id}/messages", data={"file": (io.BytesIO(content), filename), "text": text},
                       htmx=True, content_type="multipart/form-data")


def _outgoing() -> int:
    return db.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))


def _conv():
    with db.session_scope() as s:
        return factories.gen_conversation(s)


def test_scripts_and_documents_with_an_image_name_are_refused(app, agent_client):
    conv = _conv()
    cases = {
        "photo.png": b"<html><script>alert(1)</script></html>",
        "photo.jpg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "invoice.pdf.png": b"%PDF-1.7 fake",
        "clip.mp4": b"#!/bin/sh\nrm -rf /\n",
        "voice.m4a": b"MZ\x90\x00 executable",
    }
    for name, content in cases.items():
        resp = _post(agent_client, conv.id, content, name, text="keep this draft")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 422, name
        assert "not a file Instagram accepts" in body and "PNG or JPEG" in body, name
        assert "keep this draft" in body, f"{name}: the draft was lost"
    assert _outgoing() == 0
    outgoing = Path(app.config["MEDIA_DIR"]) / "outgoing"
    assert not outgoing.exists() or not any(outgoing.iterdir())


def test_an_empty_file_is_refused(agent_client):
    conv = _conv()
    resp = _post(agent_client, conv.id, b"", "empty.png")
    assert resp.status_code == 422 and "is empty" in resp.get_data(as_text=True)
    assert _outgoing() == 0


def test_an_image_over_instagrams_limit_is_refused_with_the_limit(agent_client):
    conv = _conv()
    resp = _post(agent_client, conv.id, PNG + b"\0" * (8 * MB), "huge.png")
    assert resp.status_code == 422 and "up to 8 MB" in resp.get_data(as_text=True)
    assert _outgoing() == 0


def test_a_body_over_the_server_limit_gets_a_clear_413(app, agent_client):
    conv = _conv()
    app.config["MAX_CONTENT_LENGTH"] = 2 * MB  # the same check as the 26 MB default, with less memory
    resp = _post(agent_client, conv.id, PNG + b"\0" * (3 * MB), "huge.png")
    assert resp.status_code == 413
    assert "larger than this server accepts" in resp.get_data(as_text=True)
    assert resp.headers.get("HX-Retarget") == "#flash"
    assert _outgoing() == 0


def test_the_file_name_never_decides_the_type(app, agent_client):
    """A real PNG named like a script is stored as image/png under a name Keloa chose."""
    conv = _conv()
    resp = _post(agent_client, conv.id, PNG + b"\0" * 64, "../../evil.html")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    msg = db.session.scalar(select(Message).where(Message.direction == "out"))
    att = msg.attachments[0]
    assert att.content_type == "image/png" and "evil" not in att.local_path and ".." not in att.local_path
    served = agent_client.get(f"/media/{att.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_public_media_links_only_open_with_a_valid_signature(app, client):
    from keloa_web.media import storage

    path = storage.save(PNG + b"\0" * 16, "image/png", folder="outgoing")
    url = storage.public_url(path)
    token = url.rsplit("/m/", 1)[1]
    assert client.get(f"/m/{token}").status_code == 200
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x", "../../etc/passwd", token + "x"):
        assert client.get(f"/m/{forged}").status_code == 404, forged
