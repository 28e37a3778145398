"""Channel lifecycle: connect (create or update), disconnect, needs reconnect. Others call these."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web import crypto
from keloa_web.db import db, utcnow
from keloa_web.graph import ChannelApi, GraphError, for_channel, page_api
from keloa_web.integrations.meta import WEBHOOK_FIELDS, MetaLogin, PageInfo
from keloa_web.models import Channel, ChannelStatus, Login

# Instagram Login subscribes the account itself, with Instagram-object field names (Meta's
# "Instagram webhook fields and permissions"): `messaging_seen` here is what `message_reads` is on a Page.
INSTAGRAM_WEBHOOK_FIELDS = ("messages", "message_reactions", "messaging_postbacks", "messaging_referral",
                            "messaging_seen", "message_edit")

log = logging.getLogger(__name__)


def subscribe(api: ChannelApi) -> None:
    """Subscribe the Page (Facebook Login) or the account (Instagram Login) to the fields Keloa
    handles (Meta may drop a Page's subscription after failed deliveries)."""
    fields = INSTAGRAM_WEBHOOK_FIELDS if api.login == Login.INSTAGRAM else WEBHOOK_FIELDS
    with db.released():
        api.post(api.subscribed_apps, data={"subscribed_fields": ",".join(fields)})


def subscribe_page(page_id: str, page_token: str) -> None:
    subscribe(page_api(page_id, page_token))


def first_conversations_call(ig_account_id: str, api: ChannelApi) -> str | None:
    """One Conversations API call for the account; None if Meta answered, else what went wrong.

    Meta's Instagram Messaging overview: a creator account "must send an API request using the
    Instagram Conversations API before the account can receive webhooks". Keloa makes it on every
    connect and reconnect, for every account (a business account does not mind), and records it
    on the channel with `record_conversations_call`."""
    from keloa_web.integrations import ratelimit

    try:
        with db.released():
            ratelimit.wait_turn(ig_account_id)
            api.get(api.conversations, platform="instagram", limit=1)
    except (GraphError, TimeoutError) as exc:
        return getattr(exc, "message", None) or str(exc)
    return None


def record_conversations_call(channel: Channel, error: str | None) -> None:
    if error is None:
        channel.conversations_api_at, channel.conversations_api_error = utcnow(), None
    else:
        channel.conversations_api_error = error[:500]


def existing_channel(session: Session, ig_account_id: str) -> Channel | None:
    return session.scalar(select(Channel).where(Channel.ig_account_id == ig_account_id))


def upsert_channel(session: Session, login: MetaLogin, page: PageInfo) -> tuple[Channel, bool]:
    """Create the channel, or update the one for this Instagram account (reconnect restores it)."""
    channel = existing_channel(session, page.ig_id)
    created = channel is None
    if created:
        channel = Channel(ig_account_id=page.ig_id)
        session.add(channel)
    channel.ig_username = page.ig_username or ""
    channel.ig_name = page.ig_name
    channel.ig_picture_url = page.ig_picture_url
    channel.login = Login.FACEBOOK
    channel.page_id = page.id
    channel.page_name = page.name
    channel.page_token_enc = crypto.encrypt(page.token)
    channel.meta_user_id = login.user_id
    channel.meta_user_token_enc = crypto.encrypt(login.token)
    channel.token_scopes = channel.token_issued_at = channel.token_expires_at = None  # Page tokens do not expire
    _activate(channel, created)
    session.flush()
    log.info("Channel %s (@%s) connected by Meta user %s", channel.id, channel.ig_username, login.user_id)
    return channel, created


def upsert_instagram_channel(session: Session, account, token) -> tuple[Channel, bool]:
    """Instagram Login: create the channel, or take over the one for this account (connected before
    through its Page, or through Instagram): one account is one channel, matched on its id."""
    channel = existing_channel(session, account.ig_id)
    created = channel is None
    if created:
        channel = Channel(ig_account_id=account.ig_id)
        session.add(channel)
    channel.ig_username = account.username
    channel.ig_name = account.name
    channel.ig_picture_url = account.picture_url
    channel.login = Login.INSTAGRAM
    channel.page_id = ""
    channel.page_name = ""
    channel.page_token_enc = crypto.encrypt(token.access_token)
    channel.meta_user_id = account.app_scoped_id
    channel.meta_user_token_enc = None
    channel.token_scopes = ",".join(token.scopes)
    channel.token_issued_at, channel.token_expires_at = token.issued_at, token.expires_at
    channel.token_refresh_failures, channel.token_refresh_error = 0, None
    _activate(channel, created)
    session.flush()
    log.info("Channel %s (@%s) connected with Instagram Login", channel.id, channel.ig_username)
    return channel, created


def _activate(channel: Channel, created: bool) -> None:
    if not created and channel.status != ChannelStatus.ACTIVE:
        channel.connected_at = utcnow()
    channel.status = ChannelStatus.ACTIVE
    channel.status_reason = None


def leave_other_login(session: Session, ig_account_id: str, login: str) -> tuple[str | None, str | None]:
    """Before an account's channel switches to `login`, unsubscribe it at Meta the way it was
    connected before (best effort), so that the old app stops delivering its messages too.

    Returns (the old way's name for the flash message, or None when there was nothing to switch;
    why the old subscription could not be removed, or None)."""
    channel = existing_channel(session, ig_account_id)
    if channel is None or channel.login == login or channel.status == ChannelStatus.DISCONNECTED:
        return None, None
    before = f"its Facebook Page {channel.page_name}" if channel.login == Login.FACEBOOK else "Instagram Login"
    old = for_channel(channel)
    if not old.token:
        return before, "its token there is no longer readable"
    try:
        with db.released():
            old.delete(old.subscribed_apps)
    except GraphError as exc:
        log.info("Channel %s: the previous login's subscription was not removed: %s", channel.id, exc)
        return before, exc.message
    return before, None


def page_token(channel: Channel) -> str | None:
    return crypto.decrypt(channel.page_token_enc)


def mark_needs_reconnect(session: Session, channel_id: int, reason: str) -> bool:
    """Meta said the channel's token is no longer valid (error 190 and friends, app removed).

    Sends and AI replies stop (`Channel.can_send`); history stays. Returns True if the status changed.
    A disconnected channel stays disconnected.
    """
    channel = session.get(Channel, channel_id)
    if channel is None or channel.status != ChannelStatus.ACTIVE:
        return False
    channel.status = ChannelStatus.NEEDS_RECONNECT
    channel.status_reason = reason[:500]
    log.warning("Channel %s needs reconnect: %s", channel_id, reason)
    return True


def token_reason(exc: GraphError) -> str:
    return f"Meta no longer accepts this connection's access token: {exc.message}"


def disconnect(session: Session, channel: Channel) -> str | None:
    """Unsubscribe the Page (or, with Instagram Login, the account) at Meta, then disconnect here
    whatever Meta said.

    Returns a warning to show when Meta could not be told (dead token, Meta unreachable).
    """
    warning = None
    api = for_channel(channel)
    where = ("Instagram: Settings → Website permissions → Apps and websites" if channel.instagram_login
             else "Facebook Settings → Business integrations")
    if api.token and channel.status != ChannelStatus.DISCONNECTED:
        try:
            with db.released():
                api.delete(api.subscribed_apps)
        except GraphError as exc:
            if exc.token_invalid:
                warning = ("Meta no longer accepts this connection's token, so Keloa could not remove the "
                           "webhook subscription there. Keloa is disconnected; to clean up at Meta, "
                           f"remove the app in {where}.")
            else:
                warning = (f"Meta did not confirm removing the webhook subscription ({exc}). Keloa is "
                           "disconnected and ignores this account's messages; you can also remove the app "
                           f"in {where}.")
    channel.status = ChannelStatus.DISCONNECTED
    channel.status_reason = "Disconnected by an admin"
    channel.page_token_enc = None
    channel.meta_user_token_enc = None
    log.info("Channel %s disconnected", channel.id)
    return warning
