"""One handler per kind of event. Each is idempotent on Meta's ids and safe in any order.

Updates that may arrive before their message (an unsend, an edit) create the message row early,
marked `extra["early"]`; the message itself then fills that row in instead of adding another.
"""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.mids import mark_customer_seen
from keloa_web.models import (
    Attachment, AttachmentStatus, AuthorType, Conversation, ConversationStatus, Direction, Message, MessageKind,
    MessageStatus, PendingRead, Reaction,
)
from keloa_web.webhooks import parse
from keloa_web.webhooks.apply import Ctx
from keloa_web.describe import preview
from keloa_web.webhooks.edits import mark_text_unknown


def on_message(ctx: Ctx) -> None:
    msg = ctx.data["message"]
    record(ctx, parse.mid_of(msg) or parse.synthetic_mid("message", ctx.data), parse.content(msg))


def on_postback(ctx: Ctx) -> None:
    postback = ctx.data["postback"]
    content = parse.Content(kind=MessageKind.POSTBACK, text=parse.clean(postback.get("title"), 1000),
                            extra={"payload": parse.clean(postback.get("payload"), 1000)})
    record(ctx, parse.mid_of(postback) or parse.synthetic_mid("postback", ctx.data), content)


def on_referral(ctx: Ctx) -> None:
    referral = ctx.data["referral"]
    content = parse.content({"referral": referral})
    if content.kind != MessageKind.STORY_MENTION:
        content.kind = MessageKind.REFERRAL
    record(ctx, parse.synthetic_mid("referral", ctx.data), content)


def record(ctx: Ctx, mid: str, content: parse.Content) -> None:
    """Store one message (a webhook's, or one the history import read) and update its conversation."""
    existing = ctx.message(mid)
    early = (existing.extra or {}).get("early") if existing is not None else None
    pending_edit = (existing.extra or {}).get("edit_text") if existing is not None else None
    if existing is not None and not early:
        return  # a duplicate, or the echo of a message Keloa sent (its mid was recorded by the send job)
    contact = ctx.contact()
    if contact is None:
        ctx.fx.notes.append(f"Message {mid[:40]} has no customer id: ignored.")
        return
    conv = ctx.conversation(contact)
    m = existing or Message(conversation=conv, channel_id=ctx.channel.id, mid=mid)
    m.direction = Direction.OUT if ctx.outbound else Direction.IN
    m.author_type = AuthorType.INSTAGRAM if ctx.outbound else AuthorType.CUSTOMER
    m.status = MessageStatus.SENT if ctx.outbound else MessageStatus.RECEIVED
    m.sent_at = ctx.at
    m.kind = content.kind
    if not m.deleted:  # an unsent message keeps no content, whenever the unsend arrived
        keep_text = early == "edit" and m.edit_count > 0 and m.text is not None
        m.text = m.text if keep_text else content.text
        m.link_url, m.link_title = content.link_url, content.link_title
        m.story_id, m.story_url = content.story_id, content.story_url
        m.reply_to_mid = content.reply_to_mid
        for kind, url in content.media:
            att = Attachment(type=kind, source_url=url, status=AttachmentStatus.PENDING if url else AttachmentStatus.FAILED,
                             error=None if url else "Instagram sent no link for this file.")
            m.attachments.append(att)
            if url:
                ctx.fx.attachments.append(att)
    m.extra = (content.extra or None) if not m.deleted else None
    if existing is None:
        ctx.add_message(m)
        _bump(ctx, conv, m)
        if ctx.outbound and (conv.first_reply_at is None or m.sent_at < conv.first_reply_at):
            conv.first_reply_at = m.sent_at  # answered from the Instagram app
    else:
        _refresh_newest(ctx, conv)  # the early row carried the unsend/edit time, not the message's
    if pending_edit and not m.deleted:  # a bare edit arrived first: its text is still to be read
        m.extra = {**(m.extra or {}), "edit_text": pending_edit}
    _owner(ctx, conv)
    if not ctx.outbound:
        if conv.last_customer_message_at is None or m.sent_at > conv.last_customer_message_at:
            conv.last_customer_message_at = m.sent_at
        referral = (m.extra or {}).get("referral") or {}
        if m.kind != MessageKind.REFERRAL and str(referral.get("source", "")).upper() == "ADS":
            if conv.ad_message_at is None or m.sent_at > conv.ad_message_at:
                conv.ad_message_at = m.sent_at  # sent from a Click-to-Direct ad: a longer window
        if not ctx.history:  # an imported old message is not news: unread, status and the AI stay as they are
            if m.kind != MessageKind.REFERRAL:
                conv.unread_count = (conv.unread_count or 0) + 1
                if not m.deleted and not ctx.standby:  # another app answers standby threads, not Keloa's AI
                    ctx.fx.customer_messages.append(m)
            conv.status = ConversationStatus.OPEN  # a resolved, pending or snoozed one too
            conv.snoozed_until = None
    _apply_pending_read(ctx, m, conv)


def _owner(ctx: Ctx, conv: Conversation) -> None:
    """Who owns the thread, as the event's channel says: standby[] means another app does; an event
    on the normal channel after that means this app does again."""
    if ctx.standby:
        if conv.standby_since is None or ctx.at > conv.standby_since:
            conv.standby_since = ctx.at
    elif conv.standby_since is not None and ctx.at > conv.standby_since and not ctx.history:
        conv.standby_since = None  # (the Conversations API does not say who owns the thread)
    ctx.fx.touched.add(conv)


def on_handover(ctx: Ctx) -> None:
    """messaging_handovers: thread control passed to this app, or taken from it."""
    from flask import current_app

    contact = ctx.contact()
    if contact is None:
        ctx.fx.notes.append("Handover event without a customer id: ignored.")
        return
    conv = ctx.conversation(contact)
    mine = str(current_app.config.get("META_APP_ID") or "")
    passed = ctx.data.get("pass_thread_control") if isinstance(ctx.data.get("pass_thread_control"), dict) else None
    taken = ctx.data.get("take_thread_control") if isinstance(ctx.data.get("take_thread_control"), dict) else None
    if passed is not None and str(passed.get("new_owner_app_id")) == mine:
        conv.standby_since = None
    elif taken is not None and str(taken.get("previous_owner_app_id")) == mine:
        conv.standby_since = ctx.at if conv.standby_since is None or ctx.at > conv.standby_since else conv.standby_since
    if conv.last_activity_at is None:
        conv.last_activity_at = ctx.at
    ctx.fx.touched.add(conv)


def _bump(ctx: Ctx, conv: Conversation, m: Message) -> None:
    """Keep the conversation's preview on its newest message, whatever order events arrive in."""
    if conv.last_activity_at is None or m.sent_at >= conv.last_activity_at:
        conv.last_activity_at = m.sent_at
        conv.last_message_preview = preview(m)
    ctx.fx.touched.add(conv)


def _refresh_newest(ctx: Ctx, conv: Conversation) -> None:
    newest = ctx.session.scalar(select(Message).where(Message.conversation_id == conv.id)
                                .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))
    conv.last_activity_at = newest.sent_at
    conv.last_message_preview = preview(newest)
    ctx.fx.touched.add(conv)


def _early(ctx: Ctx, mid: str, **fields) -> Message | None:
    """Create the row of a message not received yet, so that its unsend or edit is kept."""
    contact = ctx.contact()
    if contact is None:
        return None
    conv = ctx.conversation(contact)
    m = Message(conversation=conv, channel_id=ctx.channel.id, mid=mid, kind=MessageKind.TEXT, sent_at=ctx.at,
                direction=Direction.OUT if ctx.outbound else Direction.IN,
                author_type=AuthorType.INSTAGRAM if ctx.outbound else AuthorType.CUSTOMER,
                status=MessageStatus.SENT if ctx.outbound else MessageStatus.RECEIVED, **fields)
    ctx.add_message(m)
    _bump(ctx, conv, m)
    return m


def _not_theirs(ctx: Ctx, m: Message) -> str | None:
    """Why this edit or unsend may not change `m`, or None: an Instagram user edits and unsends only
    their own messages (the customer theirs, the business its replies), in their own conversation.
    Meta should never send anything else; Keloa does not rely on it."""
    side = Direction.OUT if ctx.outbound else Direction.IN
    if m.direction != side:
        return "the message is not the sender's"
    if ctx.customer is not None and ctx.conversation_of(m).contact.igsid != ctx.customer:
        return "the message belongs to another conversation"
    return None


def on_delete(ctx: Ctx) -> None:
    mid = parse.mid_of(ctx.data["message"])
    if not mid:
        ctx.fx.notes.append("Unsend without a message id: ignored.")
        return
    m = ctx.message(mid)
    if m is None:
        if _early(ctx, mid, deleted=True, extra={"early": "delete"}) is None:
            ctx.fx.notes.append(f"Unsend of unknown message {mid[:40]} without a customer id: ignored.")
        return
    if m.deleted:
        return
    why = _not_theirs(ctx, m)
    if why:
        ctx.fx.notes.append(f"Ignored an unsend of message {mid[:40]}: {why}.")
        return
    wipe(ctx.session, m, ctx.fx.files)
    conv = ctx.conversation_of(m)
    if conv.last_activity_at is None or m.sent_at >= conv.last_activity_at:
        conv.last_message_preview = preview(m)
    ctx.fx.touched.add(conv)


def wipe(session, m: Message, files: list[str]) -> None:
    """Meta's terms: an unsent message loses its text, media and links; the row says "unsent"."""
    m.deleted = True
    m.text = m.link_url = m.link_title = m.story_url = None
    m.extra = None
    for att in list(m.attachments):
        if att.local_path:
            files.append(att.local_path)
        m.attachments.remove(att)
        session.delete(att)


def on_edit(ctx: Ctx) -> None:
    edit = ctx.data["message_edit"]
    mid = parse.mid_of(edit)
    if not mid:
        ctx.fx.notes.append("Edit without a message id: ignored.")
        return
    text = parse.clean(edit.get("text")) if "text" in edit else None
    try:
        num = int(edit.get("num_edit"))
    except (TypeError, ValueError):
        num = None
    m = ctx.message(mid)
    if m is None:
        extra = {"early": "edit", **({} if text is not None else {"edit_text": "pending"})}
        early = _early(ctx, mid, text=text, edit_count=max(num or 0, 1), edited_at=ctx.at, extra=extra)
        if early is None:
            raise LookupError(f"Edit of message {mid[:40]} that Keloa has not received yet (no customer id).")
        if text is None:
            ctx.fx.edits.append(early)
        return
    if m.deleted:
        return
    why = _not_theirs(ctx, m)
    if why:
        ctx.fx.notes.append(f"Ignored an edit of message {mid[:40]}: {why}.")
        return
    # Every edit event marks the message edited; a repeated delivery applies once. Real events
    # have come with num_edit 0 and no text: then the event's time tells a new edit from a repeat.
    count = m.edit_count or 0  # None on a row created in this batch and not flushed yet
    if num:
        if num <= count:
            return  # this edit, or a later one, is already applied
    elif m.edited_at is not None and ctx.at <= m.edited_at:
        return
    m.edit_count = num if num else count + 1
    m.edited_at = ctx.at
    if text is not None:
        m.text = text
        if (m.extra or {}).get("edit_text"):
            m.extra = {k: v for k, v in m.extra.items() if k != "edit_text"}
    else:
        mark_text_unknown(m)
        ctx.fx.edits.append(m)
    conv = ctx.conversation_of(m)
    if m.sent_at >= conv.last_activity_at:
        conv.last_message_preview = preview(m)
    ctx.fx.touched.add(conv)


def on_reaction(ctx: Ctx) -> None:
    reaction = ctx.data["reaction"]
    mid, reactor = parse.mid_of(reaction), parse.ident(ctx.data.get("sender"))
    if not mid or not reactor:
        ctx.fx.notes.append("Reaction without a message or reactor id: ignored.")
        return
    active = str(reaction.get("action") or "react").lower() != "unreact"
    row = ctx.lookup.reaction(ctx.channel.id, mid, reactor)
    if row is None:
        row = Reaction(channel_id=ctx.channel.id, mid=mid, reactor_igsid=reactor, event_ts=ctx.ts)
        ctx.session.add(row)
        ctx.lookup.reactions[(ctx.channel.id, mid, reactor)] = row
    elif ctx.ts < row.event_ts or (ctx.ts == row.event_ts and (active or not row.active)):
        return  # the newest event wins; on a tie "unreact" wins, so any order converges
    row.event_ts, row.active = ctx.ts, active
    if active:
        row.reaction = parse.clean(reaction.get("reaction"), 32)
        row.emoji = parse.clean(reaction.get("emoji"), 32)
    m = ctx.message(mid)
    if m is not None:
        ctx.fx.touched.add(ctx.conversation_of(m))


def on_read(ctx: Ctx) -> None:
    mid = parse.mid_of(ctx.data["read"])
    if not mid:
        ctx.fx.notes.append("Read receipt without a message id: ignored.")
        return
    m = ctx.message(mid)
    if m is not None:
        conv = ctx.conversation_of(m)
        mark_customer_seen(conv, m)
        ctx.fx.touched.add(conv)
        return
    pending = ctx.lookup.pending_read(ctx.channel.id, mid)
    if pending is None:
        pending = PendingRead(channel_id=ctx.channel.id, mid=mid, event_ts=ctx.ts)
        ctx.session.add(pending)
        ctx.lookup.pending_reads[(ctx.channel.id, mid)] = pending
    else:
        pending.event_ts = max(pending.event_ts, ctx.ts)


def _apply_pending_read(ctx: Ctx, m: Message, conv: Conversation) -> None:
    pending = ctx.lookup.pending_read(m.channel_id, m.mid)
    if pending is not None:
        mark_customer_seen(conv, m)
        ctx.session.delete(pending)
        ctx.lookup.pending_reads[(m.channel_id, m.mid)] = None


HANDLERS = {
    "message": on_message, "echo": on_message, "postback": on_postback, "referral": on_referral, "handover": on_handover,
    "delete": on_delete, "edit": on_edit, "reaction": on_reaction, "read": on_read,
}
