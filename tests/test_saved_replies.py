"""Saved replies: the team's (admins manage them) and each teammate's own, their page, and the
composer's picker filled for the conversation."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import SavedReply
from tests import factories

HX = {"HX-Request": "true"}


def _conv(**contact_kw):
    channel = factories.gen_channel(db.session, display_name="Fern & Silver")
    contact = factories.gen_contact(db.session, channel, **contact_kw)
    conv = factories.gen_conversation(db.session, channel, contact)
    db.session.commit()
    return conv


def test_an_admin_saves_a_team_reply_and_everyone_can_use_it(admin_client, agent_client, app):
    resp = admin_client.post("/replies/", headers=HX, data={
        "name": "shipping", "text": "Hi {{first_name}}! UK shipping is £3.95. {{agent_name}}, {{account}}",
        "team": "y"})
    assert resp.status_code == 200 and "Saved /shipping. Type /shipping in a reply to insert it." in resp.get_data(
        as_text=True)
    conv = _conv(name="Maya Silva")
    data = agent_client.get(f"/replies/for/{conv.id}?q=ship").get_json()
    assert data == {"choices": [{"name": "shipping", "team": True, "too_long": False, "file": None,
                                 "text": "Hi Maya! UK shipping is £3.95. Aaron, Fern & Silver"}]}
    page = agent_client.get("/replies/").get_data(as_text=True)
    assert "/shipping" in page and "A team reply: admins change it." in page


def test_a_personal_reply_is_only_its_owners(admin_client, agent_client, app):
    agent_client.post("/replies/", headers=HX, data={"name": "thanks", "text": "Thanks, {{first_name}}!"})
    mine = db.session.scalar(select(SavedReply).where(SavedReply.name == "thanks"))
    assert mine.owner_id is not None
    conv = _conv(name=None, username="maya.makes")
    assert agent_client.get(f"/replies/for/{conv.id}?q=th").get_json()["choices"][0]["text"] == "Thanks, @maya.makes!"
    assert admin_client.get(f"/replies/for/{conv.id}?q=th").get_json() == {"choices": []}
    assert "/thanks" not in admin_client.get("/replies/").get_data(as_text=True)
    assert admin_client.post(f"/replies/{mine.id}/delete").status_code == 404  # not even admins see it


def test_only_admins_add_or_change_team_replies(admin_client, agent_client, app):
    resp = agent_client.post("/replies/", headers=HX, data={"name": "hours", "text": "9 to 5", "team": "y"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Only admins add replies for the whole team" in html
    assert "9 to 5" in html  # what was typed stays
    admin_client.post("/replies/", headers=HX, data={"name": "hours", "text": "9 to 5", "team": "y"})
    team = db.session.scalar(select(SavedReply).where(SavedReply.name == "hours"))
    assert agent_client.post(f"/replies/{team.id}", data={"name": "hours", "text": "changed"}).status_code == 403
    assert agent_client.post(f"/replies/{team.id}/delete").status_code == 403


def test_bad_names_unknown_placeholders_and_too_long_text_are_refused_where_typed(admin_client, app):
    for name, text, error in [
        ("Ship It", "x", "Lowercase letters, digits and dashes only"),
        ("", "x", "Give it a short name"),
        ("ok", "Hi {{firstname}}", "Keloa does not fill {{firstname}}: use {{first_name}}, {{agent_name}}, {{account}}."),
        ("long", "é" * 600, "Instagram takes up to 1000 bytes in a message: this is 1200."),
    ]:
        resp = admin_client.post("/replies/", headers=HX, data={"name": name, "text": text})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400 and error in html, name
        assert db.session.scalar(select(SavedReply).where(SavedReply.name == name)) is None
    admin_client.post("/replies/", headers=HX, data={"name": "dup", "text": "one"})
    resp = admin_client.post("/replies/", headers=HX, data={"name": "dup", "text": "two"})
    assert resp.status_code == 400 and "/dup already exists" in resp.get_data(as_text=True)


def test_edit_and_delete(admin_client, app):
    admin_client.post("/replies/", headers=HX, data={"name": "hello", "text": "Hello!"})
    reply = db.session.scalar(select(SavedReply))
    html = admin_client.post(f"/replies/{reply.id}", headers=HX, data={"name": "hello", "text": "Hello {{oops}}"}
                             ).get_data(as_text=True)
    assert "/hello was not changed" in html and "Hello {{oops}}" in html
    admin_client.post(f"/replies/{reply.id}", headers=HX, data={"name": "hi", "text": "Hi there!"})
    db.session.refresh(reply)
    assert (reply.name, reply.text) == ("hi", "Hi there!")
    assert "Deleted /hi." in admin_client.post(f"/replies/{reply.id}/delete", headers=HX).get_data(as_text=True)


def test_the_picker_is_json_and_a_customers_name_is_never_html(admin_client, app):
    admin_client.post("/replies/", headers=HX, data={"name": "hi", "text": "Hi {{first_name}}"})
    conv = _conv(name="<img src=x onerror=alert(1)>")
    resp = admin_client.get(f"/replies/for/{conv.id}?q=")
    assert resp.mimetype == "application/json" and resp.headers["Cache-Control"] == "no-store"
    assert resp.get_json()["choices"][0]["text"] == "Hi <img"  # first word, as text for the script to insert
    assert admin_client.get("/replies/for/999999").status_code == 404


def test_every_page_needs_a_user(client, app):
    assert client.get("/replies/").status_code in (302, 401)
    assert client.get("/replies/for/1").status_code in (302, 401)


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 2000


def test_a_saved_reply_carries_one_file_sent_as_a_copy_with_the_reply(admin_client, agent_client, app):
    from io import BytesIO

    from keloa_web.media import storage
    from keloa_web.models import Attachment, Message

    resp = admin_client.post("/replies/", headers=HX, data={
        "name": "prices", "text": "Here is our price list, {{first_name}}!", "team": "y",
        "file": (BytesIO(b"MZ not a picture"), "prices.exe")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "is not a file Instagram accepts" in body
    assert "Here is our price list, {{first_name}}!" in body  # what was typed is kept
    resp = admin_client.post("/replies/", headers=HX, data={
        "name": "prices", "text": "Here is our price list, {{first_name}}!", "team": "y",
        "file": (BytesIO(PNG), "prices.png")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    reply = db.session.scalar(select(SavedReply))
    assert (reply.file_type, reply.file_name, reply.file_content_type) == ("image", "prices.png", "image/png")
    assert "Sent with it: prices.png (image, 2 KB)" in admin_client.get("/replies/").get_data(as_text=True)

    conv = _conv(name="Maya Silva")
    choice = agent_client.get(f"/replies/for/{conv.id}?q=pri").get_json()["choices"][0]
    assert choice["file"] == {"id": reply.id, "label": "prices.png (image, 2 KB)"}
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", htmx=True,
                             data={"text": "Here is our price list, Maya!", "saved_file": str(reply.id)})
    assert resp.status_code == 200
    out = db.session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)).all()
    assert [(m.kind, m.text) for m in out] == [("image", None), ("text", "Here is our price list, Maya!")]
    sent = db.session.scalar(select(Attachment))
    assert sent.local_path != reply.file_path and storage.resolve(sent.local_path).read_bytes() == PNG  # a copy

    # Deleting the reply removes its file; a draft still pointing at it is refused, and kept.
    saved_path, reply_id, sent_path = storage.resolve(reply.file_path), reply.id, storage.resolve(sent.local_path)
    admin_client.post(f"/replies/{reply_id}/delete", headers=HX)
    assert not saved_path.exists() and sent_path.exists()
    resp = agent_client.post(f"/inbox/c/{conv.id}/messages", htmx=True, data={"text": "again", "saved_file": str(reply_id)})
    assert resp.status_code == 422 and "file was removed meanwhile" in resp.get_data(as_text=True)
    assert ">again</textarea>" in resp.get_data(as_text=True)


def test_a_saved_reply_file_is_replaced_or_removed_by_editing(admin_client, app):
    from io import BytesIO

    admin_client.post("/replies/", headers=HX, data={"name": "hi", "text": "Hello!", "file": (BytesIO(PNG), "a.png")},
                      content_type="multipart/form-data")
    reply = db.session.scalar(select(SavedReply))
    admin_client.post(f"/replies/{reply.id}", headers=HX, data={"name": "hi", "text": "Hello!", "remove_file": "1"},
                      content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.get(SavedReply, reply.id).file_path is None
