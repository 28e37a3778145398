"""Stored customer files reach the browser as sandboxed downloads or plain media, never as
something htmx would swap into a page (the response header X-Keloa-View marks Keloa's own views)."""
from __future__ import annotations

from pathlib import Path

import pytest

from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment
from tests import factories

MEDIA = Path(__file__).resolve().parents[2] / "meta_sandbox" / "static" / "media"
POLYGLOT = (b"%PDF-1.4\n<div hx-post=\"/team/invite\" hx-trigger=\"load\" hx-vals='{\"email\": \"x@evil.test\"}'>"
            b"</div><script>alert(1)</script>")


def _attachment(kind: str, data: bytes, content_type: str) -> int:
    conv = factories.gen_conversation(db.session)
    msg = factories.gen_message(db.session, conv, "in", text=None, kind=kind)
    att = Attachment(message_id=msg.id, type=kind, status="stored", source_url="https://x.fbcdn.net/f",
                     local_path=storage.save(data, content_type), content_type=content_type, size=len(data))
    db.session.add(att)
    db.session.commit()
    return att.id


@pytest.mark.parametrize("kind,data,stored,served,disposition", [
    ("file", POLYGLOT, "application/pdf", "application/pdf", "attachment"),
    ("video", b"<html><body hx-get='/team' hx-trigger='load'>", "video/mp4, text/html",
     "application/octet-stream", "attachment"),
    ("image", (MEDIA / "image.png").read_bytes(), "image/png", "image/png", None),
])
def test_media_responses_are_sandboxed_and_typed_by_their_bytes(app, agent_client, kind, data, stored, served,
                                                                 disposition):
    att_id = _attachment(kind, data, stored)
    resp = agent_client.get(f"/media/{att_id}")
    assert resp.status_code == 200 and resp.data == data
    assert resp.headers["Content-Type"].split(";")[0] == served
    assert resp.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Keloa-View" not in resp.headers
    if disposition:
        assert resp.headers["Content-Disposition"].startswith("attachment")
    else:
        assert "Content-Disposition" not in resp.headers or "attachment" not in resp.headers["Content-Disposition"]


def test_an_htmx_request_for_a_file_is_turned_into_a_plain_navigation(app, agent_client):
    att_id = _attachment("file", POLYGLOT, "application/pdf")
    resp = agent_client.get(f"/media/{att_id}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert resp.status_code == 200 and resp.data == b""
    assert resp.headers["HX-Redirect"] == f"/media/{att_id}"


def test_keloas_own_pages_and_fragments_carry_the_view_header(app, agent_client):
    assert agent_client.get("/inbox").headers.get("X-Keloa-View") == "1"
    assert agent_client.get("/inbox", headers={"HX-Request": "true"}).headers.get("X-Keloa-View") == "1"
    assert agent_client.get("/static/css/keloa.css").headers.get("X-Keloa-View") is None


def test_public_links_are_sandboxed_too(app, client):
    relative = storage.save(POLYGLOT, "application/pdf", folder="outgoing")
    resp = client.get(storage.public_url(relative)[len(app.config["PUBLIC_BASE_URL"]):])
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    assert resp.headers["Content-Disposition"].startswith("attachment")


def test_private_pages_are_never_cached(app, agent_client, client):
    for url in ("/inbox", "/settings"):
        assert agent_client.get(url).headers["Cache-Control"] == "no-store", url
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert "no-store" not in agent_client.get("/static/css/keloa.css").headers.get("Cache-Control", "")
