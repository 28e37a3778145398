"""Sender actions: "Seen" for the customer's latest message, and "typing…" while the AI composes."""
from __future__ import annotations

import hashlib
import logging

from keloa_web.db import db
from keloa_web.graph import GraphError, for_channel
from keloa_web.jobs import enqueue_once, job
from keloa_web.mids import latest_customer_mid
from keloa_web.models import Channel, Contact, Conversation
from keloa_web.sends.failures import needs_reconnect

log = logging.getLogger(__name__)


@job("sends", timeout=60)
def mark_seen(conversation_id: int) -> None:
    """Tell Instagram the business has seen the customer's latest message (once per message)."""
    with db.session_scope(write=False) as s:
        conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            return
        channel = s.get(Channel, conversation.channel_id)
        mid = latest_customer_mid(s, conversation_id)
        if not (channel and channel.read_receipts and channel.can_send and mid) or mid == conversation.last_marked_seen_mid:
            return
        api = for_channel(channel)
        igsid = s.get(Contact, conversation.contact_id).igsid
        channel_id = channel.id
    if not api.token:
        return
    try:
        api.post(api.messages, json={"recipient": {"id": igsid}, "sender_action": "mark_seen"})
    except GraphError as exc:
        if exc.token_invalid:
            with db.session_scope() as s:
                needs_reconnect(s, s.get(Channel, channel_id), f"Instagram refused the access token: {exc.message}")
            return
        raise  # kept in RQ's failed registry; a later open of the conversation tries again
    with db.session_scope() as s:
        s.get(Conversation, conversation_id).last_marked_seen_mid = mid


def typing(conversation_id: int, on: bool) -> bool:
    """Show (or stop showing) "typing…" to the customer while the AI composes, if the channel
    can send; best effort: a refusal never stops the answer. True if Meta accepted it."""
    with db.session_scope(write=False) as s:
        conversation = s.get(Conversation, conversation_id)
        channel = s.get(Channel, conversation.channel_id) if conversation else None
        if not (channel and channel.can_send):
            return False
        api = for_channel(channel)
        igsid = s.get(Contact, conversation.contact_id).igsid
    if not api.token:
        return False
    try:
        api.post(api.messages, json={
            "recipient": {"id": igsid}, "sender_action": "typing_on" if on else "typing_off"})
    except GraphError as exc:
        log.info("typing indicator for conversation %s not shown: %s", conversation_id, exc)
        return False
    return True


def enqueue_mark_seen(conversation: Conversation, channel: Channel, mid: str | None) -> bool:
    """Queue one mark_seen if the toggle is on and this customer message was not marked yet."""
    if not (channel.read_receipts and channel.can_send and mid) or mid == conversation.last_marked_seen_mid:
        return False
    return enqueue_once(mark_seen, conversation.id,
                        job_id=f"mark-seen-{conversation.id}-{hashlib.sha1(mid.encode()).hexdigest()[:16]}")
