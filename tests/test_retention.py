"""Retention per account: saving shows first what would be deleted, then the worker's purge deletes
the old conversations (messages, media files, reactions, the contact) or only the media files,
keeps the report on the account, and `python -m keloa_web purge` says the same as a dry run."""
from __future__ import annotations

from datetime import timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import func, select

from keloa_web.db import db, utcnow
from keloa_web.models import Attachment, Channel, Contact, Conversation, Message, Reaction
from keloa_web.operations import retention
from tests import factories
from tests.test_operations import run_cli


def _text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def _world(app):
    """An account with a conversation quiet for 100 days (a photo, a reaction) and a recent one."""
    media = Path(app.config["MEDIA_DIR"])
    channel = factories.gen_channel(db.session)
    old = factories.gen_conversation(db.session, channel, last_customer_ago=timedelta(days=100))
    old_msg = factories.gen_message(db.session, old, sent_at=utcnow() - timedelta(days=100))
    factories.gen_message(db.session, old, sent_at=utcnow() - timedelta(days=100))
    factories.gen_reaction(db.session, old_msg, old.contact.igsid)
    (media / "att").mkdir(parents=True, exist_ok=True)
    for name, message in (("old.jpg", old_msg),):
        (media / "att" / name).write_bytes(b"x" * 1500)
        db.session.add(Attachment(message_id=message.id, type="image", local_path=f"att/{name}", size=1500,
                                  status="stored"))
    new = factories.gen_conversation(db.session, channel, last_customer_ago=timedelta(days=2))
    new_msg = factories.gen_message(db.session, new, sent_at=utcnow() - timedelta(days=2))
    (media / "att" / "new.jpg").write_bytes(b"y" * 10)
    db.session.add(Attachment(message_id=new_msg.id, type="image", local_path="att/new.jpg", size=10, status="stored"))
    db.session.commit()
    return channel, old, new, media


def _run_queued_purges() -> None:
    from rq import Queue

    from keloa_web.jobs import get_redis

    for j in [j for j in Queue("default", connection=get_redis()).jobs if j.func_name.endswith("purge_now")]:
        j.perform()
        j.delete()


def test_saving_shows_what_would_go_then_the_purge_deletes_old_conversations(app, admin_client):
    channel, old, new, media = _world(app)
    old_id, old_contact, new_id = old.id, old.contact_id, new.id
    page = _text(admin_client.get("/integrations/"))
    assert f'href="/integrations/channels/{channel.id}/retention"' in page
    url = f"/integrations/channels/{channel.id}/retention"
    bad = admin_client.post(url, data={"days": "ninety", "scope": "conversations"})
    html = _text(bad)
    assert bad.status_code == 400 and "Enter a number of days from 1 to 3650" in html and 'value="ninety"' in html
    preview = _text(admin_client.post(url, data={"days": "90", "scope": "conversations"}))
    assert "Saving this deletes data at once." in preview
    assert "Would delete 1 conversation (2 messages, 1 media file (1.5 KB)) with no activity for 90 days." in preview
    assert 'name="confirmed" value="90:conversations"' in preview
    db.session.expire_all()
    assert db.session.get(Channel, channel.id).retention_days is None  # not saved yet
    resp = admin_client.post(url, data={"days": "90", "scope": "conversations", "confirmed": "90:conversations"})
    assert resp.status_code == 302
    _run_queued_purges()
    db.session.expire_all()
    assert db.session.get(Conversation, old_id) is None and db.session.get(Contact, old_contact) is None
    assert db.session.scalar(select(func.count()).select_from(Reaction)) == 0
    assert not (media / "att" / "old.jpg").exists() and (media / "att" / "new.jpg").exists()
    assert db.session.get(Conversation, new_id) is not None
    page = _text(admin_client.get(url))
    assert "Deleted 1 conversation (2 messages, 1 media file (1.5 KB)) with no activity for 90 days." in page
    assert 'value="90"' in page


def test_media_only_retention_removes_the_files_and_the_thread_says_so(app, admin_client):
    channel, old, new, media = _world(app)
    url = f"/integrations/channels/{channel.id}/retention"
    preview = _text(admin_client.post(url, data={"days": "30", "scope": "media"}))
    assert "Would delete 1 media file (1.5 KB) older than 30 days." in preview
    admin_client.post(url, data={"days": "30", "scope": "media", "confirmed": "30:media"})
    _run_queued_purges()
    assert not (media / "att" / "old.jpg").exists() and (media / "att" / "new.jpg").exists()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.conversation_id == old.id)) == 2
    thread = _text(admin_client.get(f"/inbox/c/{old.id}"))
    assert "Photo: Removed after 30 days, by this account's retention setting." in thread


def test_nothing_to_delete_saves_at_once_and_empty_keeps_everything(app, admin_client):
    channel, *_ = _world(app)
    url = f"/integrations/channels/{channel.id}/retention"
    resp = admin_client.post(url, data={"days": "365", "scope": "conversations"}, follow_redirects=True)
    assert "keeps conversations for 365 days" in _text(resp)
    resp = admin_client.post(url, data={"days": "", "scope": "conversations"}, follow_redirects=True)
    assert "keeps its conversations and media until you delete them" in _text(resp)


def test_the_purge_command_is_a_dry_run_unless_told_to_apply(app, settings):
    channel, old, _new, media = _world(app)
    old_id = old.id
    with db.session_scope() as s:
        s.get(Channel, channel.id).retention_days = 90
    dry = run_cli(settings, "purge")
    assert dry.returncode == 0, dry.stderr
    assert f"{channel.label}: Would delete 1 conversation (2 messages, 1 media file" in dry.stdout
    assert "Nothing was deleted: run with --apply" in dry.stdout
    assert (media / "att" / "old.jpg").exists()
    done = run_cli(settings, "purge", "--apply")
    assert f"{channel.label}: Deleted 1 conversation" in done.stdout
    db.session.expire_all()
    assert db.session.get(Conversation, old_id) is None
    assert retention.sweep(db.session, apply=False)[0].conversations == 0


def test_a_contacts_profile_picture_is_counted_and_deleted_with_the_conversation(app, admin_client):
    channel, old, _new, media = _world(app)
    (media / "pics").mkdir(parents=True, exist_ok=True)
    (media / "pics" / "maya.jpg").write_bytes(b"p" * 100)
    with db.session_scope() as s:
        s.get(Contact, old.contact_id).picture_path = "pics/maya.jpg"
    url = f"/integrations/channels/{channel.id}/retention"
    preview = _text(admin_client.post(url, data={"days": "90", "scope": "conversations"}))
    assert "Would delete 1 conversation (2 messages, 2 media files (1.5 KB))" in preview
    admin_client.post(url, data={"days": "90", "scope": "conversations", "confirmed": "90:conversations"})
    _run_queued_purges()
    assert not (media / "pics" / "maya.jpg").exists()
