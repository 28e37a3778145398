"""End to end with the Meta sandbox: a customer writes, Meta delivers, the worker stores it."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment, Contact, Message
from tests import factories, helpers


def _message(mid: str) -> Message | None:
    db.session.rollback()
    return db.session.scalar(select(Message).where(Message.mid == mid))


def test_sandbox_customer_text_and_image_land_with_profile(sandbox, app, live_server, settings, agent_client):
    with db.session_scope() as s:
        channel = factories.sandbox_channel(s, sandbox)
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": ["messages", "message_reactions"]})
    worker = helpers.start_worker(settings)
    try:
        text = sandbox.control("POST", "customer/send", json={
            "account": "keloa.coffee", "customer": "leo", "type": "text", "text": "Do you ship <b>beans</b>?"})
        image = sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "leo", "type": "image"})
        helpers.wait_until(lambda: _message(text["mid"]) and _message(image["mid"]), timeout=20,
                           message="both messages to arrive")
        helpers.wait_until(lambda: _message(image["mid"]).attachments[0].status != "pending", timeout=20,
                           message="the image download")
        att = _message(image["mid"]).attachments[0]
        assert att.status == "stored", att.error
        assert att.content_type.startswith("image/") and storage.resolve(att.local_path).stat().st_size == att.size
        m = _message(text["mid"])
        assert (m.text, m.channel_id, m.direction) == ("Do you ship <b>beans</b>?", channel.id, "in")

        def profile():
            db.session.rollback()
            return db.session.scalar(select(Contact).where(Contact.igsid == text["igsid"], Contact.name.is_not(None)))

        contact = helpers.wait_until(profile, timeout=20, message="the profile lookup")
        assert (contact.name, contact.username) == ("Leo Park", "leopark") and contact.profile_error is None
        assert contact.picture_path and storage.resolve(contact.picture_path).is_file()
        # the profile signals Meta returns beside the name, kept and shown beside it
        assert (contact.follower_count, contact.is_verified_user, contact.is_user_follow_business) == (87, False, False)
        conv_id = _message(text["mid"]).conversation_id
        page = agent_client.get(f"/inbox/c/{conv_id}").get_data(as_text=True)
        assert "87 followers" in page and "Does not follow @keloa.coffee" in page and ">Verified<" not in page

        path, att_id = storage.resolve(att.local_path), att.id
        sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "leo", "type": "unsend"})
        helpers.wait_until(lambda: _message(image["mid"]).deleted, timeout=20, message="the unsend")
        db.session.rollback()
        assert db.session.scalar(select(Attachment).where(Attachment.id == att_id)) is None
        helpers.wait_until(lambda: not path.exists(), timeout=5, message="the unsent image's file removed (just after the commit)")
    finally:
        helpers.stop_process(worker)


def test_an_edit_without_text_marks_the_message_edited_and_fetches_its_new_text(sandbox, app, live_server,
                                                                                settings, agent_client):
    """Real edit deliveries have come as {"mid", "num_edit": 0} with no text. Each marks the message
    edited once (a repeated delivery changes nothing), and the worker reads the new text from the
    message node; where Graph cannot give it, the thread says "Edited on Instagram"."""
    with db.session_scope() as s:
        factories.sandbox_channel(s, sandbox)
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": ["messages"]})
    sandbox.control("POST", "faults", json={"edit_style": "bare", "duplicates": True})
    worker = helpers.start_worker(settings)
    try:
        sent = sandbox.control("POST", "customer/send", json={
            "account": "keloa.coffee", "customer": "leo", "type": "text", "text": "Two lattes plz"})
        helpers.wait_until(lambda: _message(sent["mid"]), timeout=20, message="the message")
        edit = sandbox.control("POST", "customer/send", json={
            "account": "keloa.coffee", "customer": "leo", "type": "edit", "text": "Three lattes please"})
        assert edit["event"]["message_edit"] == {"mid": sent["mid"], "num_edit": 0}
        helpers.wait_until(lambda: _message(sent["mid"]).text == "Three lattes please", timeout=20,
                           message="the edited text, fetched from Graph")
        m = _message(sent["mid"])
        assert m.edit_count == 1 and m.edited_at is not None and not (m.extra or {}).get("edit_text")
        html = agent_client.get(f"/inbox/c/{m.conversation_id}").get_data(as_text=True)
        assert "Three lattes please" in html and "· Edited</span>" in html

        # Graph refuses the message node (a token Meta no longer accepts): the thread says so.
        sandbox.control("POST", "tokens/revoke", json={"user": "ana", "reason": "password"})
        sandbox.control("POST", "customer/send", json={
            "account": "keloa.coffee", "customer": "leo", "type": "edit", "text": "Four lattes"})
        helpers.wait_until(lambda: (_message(sent["mid"]).extra or {}).get("edit_text") == "unavailable",
                           timeout=20, message="the refused look-up")
        m = _message(sent["mid"])
        assert m.edit_count == 2 and m.text == "Three lattes please"
        html = agent_client.get(f"/inbox/c/{m.conversation_id}").get_data(as_text=True)
        assert "Edited on Instagram" in html and "open Instagram to read it" in html
    finally:
        helpers.stop_process(worker)
