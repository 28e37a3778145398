"""Customer profiles from the Graph profile lookup: name, username and a cached picture."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from keloa_web import changes
from keloa_web.db import db, utcnow
from keloa_web.graph import GraphError, GraphUnavailable, for_channel
from keloa_web.media import download, storage
from keloa_web.jobs import enqueue_once, job
from keloa_web.models import AttachmentType, Channel, Contact, Conversation
from keloa_web.webhooks.parse import clean

REFRESH_AFTER = timedelta(days=1)
# The profile lookup (REFERENCE.md, profiles): name and picture, and the signals Meta returns beside
# them where it has them; absent ones stay unknown (None), never False.
PROFILE_FIELDS = ("name,username,profile_pic,follower_count,is_verified_user,is_user_follow_business,"
                  "is_business_follow_user")
SIGNALS = ("follower_count", "is_verified_user", "is_user_follow_business", "is_business_follow_user")


def sweep_unfetched_profiles() -> None:
    """Contacts whose lookup job was never queued (Redis was down after the commit)."""
    now = utcnow()
    with db.session_scope(write=False) as session:
        ids = session.scalars(select(Contact.id).where(
            Contact.profile_fetched_at.is_(None), Contact.created_at < now - timedelta(minutes=10),
            Contact.created_at > now - timedelta(days=2)).limit(200)).all()
    for contact_id in ids:
        enqueue_once(fetch_profile, contact_id, job_id=f"profile-{contact_id}")


@job("default")
def fetch_profile(contact_id: int) -> str:
    """Look the customer up at most once a day; a failure is recorded and never blocks messages."""
    with db.session_scope(write=False) as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return "gone"
        if contact.profile_fetched_at and contact.profile_fetched_at > utcnow() - REFRESH_AFTER:
            return "fresh"
        channel = session.get(Channel, contact.channel_id)
        api, igsid = for_channel(channel), contact.igsid
    if not api.token:
        return _save(contact_id, error="No access token for this account: reconnect it under Integrations.")
    try:
        profile = api.get(igsid, fields=PROFILE_FIELDS)
    except GraphUnavailable as exc:  # try again with the next message, not tomorrow
        return _save(contact_id, error=f"Instagram could not be reached: {exc}", final=False)
    except GraphError as exc:
        return _save(contact_id, error=f"Instagram did not share this profile: {exc}")
    picture, error = None, None
    if profile.get("profile_pic"):
        try:
            data, content_type = download.fetch(clean(profile["profile_pic"]), AttachmentType.IMAGE)
            picture = storage.save(data, content_type, folder="profiles")
        except (download.MediaRefused, download.MediaUnavailable) as exc:
            error = f"Profile picture not saved: {exc}"
    return _save(contact_id, name=clean(profile.get("name"), 200), username=clean(profile.get("username"), 120),
                 picture=picture, error=error, signals=_signals(profile))


def _signals(profile: dict) -> dict:
    out = {}
    count = profile.get("follower_count")
    if isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 2**63:
        out["follower_count"] = count
    for name in SIGNALS[1:]:
        if isinstance(profile.get(name), bool):
            out[name] = profile[name]
    return out


def _save(contact_id: int, name=None, username=None, picture=None, error=None, final: bool = True,
          signals: dict | None = None) -> str:
    with db.session_scope() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            storage.delete(picture)
            return "gone"
        # A failure Meta gave an answer for waits a day; an unreachable Graph is tried after an hour.
        contact.profile_fetched_at = utcnow() - (timedelta(0) if final else REFRESH_AFTER - timedelta(hours=1))
        contact.name = name or contact.name
        contact.username = username or contact.username
        if picture:
            storage.delete(contact.picture_path)
            contact.picture_path = picture
        contact.profile_error = error
        for key, value in (signals or {}).items():
            setattr(contact, key, value)
        conv_id = session.scalar(select(Conversation.id).where(Conversation.contact_id == contact_id))
        if conv_id:
            changes.touch(session, conv_id)
    return "error" if error else "ok"
