"""Who is told about what. Each function runs in the transaction that made the event and writes a
Notification per teammate who wants it and may see the conversation's account (keloa_web/access.py);
the live stream delivers them to open tabs once that transaction commits (keloa_web/live/bus.py).

    a customer's first message      -> new_conversation, to everyone who sees the account
    a customer message, assigned    -> assigned_message, to the assignee
    @Name in an internal note       -> mention, to that teammate (not the writer)
    the AI hands off                -> handoff, to the assignee, or everyone who sees the account
    a reply fails                   -> failed_reply, to whoever wrote it (for the AI's: as a hand-off)
"""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from keloa_web import access
from keloa_web.live import bus
from keloa_web.models import (
    AuthorType, Contact, Conversation, Message, Notification, NotificationKind, User,
)
from keloa_web.notifications import prefs


def visible_to(s: Session, user_id: int, stmt):
    """`stmt` (a select over Notification) kept to `user_id`'s notifications about conversations they
    may still see: access taken away takes the notifications (and the customer's words in them) too."""
    from sqlalchemy import select

    stmt = stmt.where(Notification.user_id == user_id)
    allowed = access.conversation_condition(s, user_id)
    if allowed is None:
        return stmt
    return stmt.where(Notification.conversation_id.in_(select(Conversation.id).where(allowed)))


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _send(s: Session, conv: Conversation, kind: str, users: list[User], title: str, body: str = "") -> int:
    sent = 0
    for user in {u.id: u for u in users}.values():
        if not user.active or kind not in prefs.of(user).events:
            continue
        if not access.may_see_channel(s, user.id, conv.channel_id):
            continue
        s.add(Notification(user_id=user.id, kind=kind, conversation_id=conv.id, title=_short(title, 200),
                           body=_short(body, 300)))
        sent += 1
    if sent:
        bus.mark(s)
    return sent


def _who(s: Session, conv: Conversation) -> str:
    contact = conv.contact if conv.contact is not None else s.get(Contact, conv.contact_id)
    return contact.label if contact is not None else "A customer"


def _everyone(s: Session, conv: Conversation) -> list[User]:
    return access.members_with_access(s, conv.channel_id)


def new_conversation(s: Session, conv: Conversation, preview: str) -> int:
    # A first message usually comes before Instagram's profile lookup: no name to give yet.
    who = _who(s, conv)
    title = "New conversation" + (f": {who}" if who != "Instagram user" else f" on {_account(s, conv)}")
    return _send(s, conv, NotificationKind.NEW_CONVERSATION, _everyone(s, conv), title, preview)


def _account(s: Session, conv: Conversation) -> str:
    from keloa_web.models import Channel

    channel = s.get(Channel, conv.channel_id)
    return channel.label if channel is not None else "Instagram"


def customer_message(s: Session, conv: Conversation, preview: str) -> int:
    if conv.assignee_id is None:
        return 0
    user = s.get(User, conv.assignee_id)
    return _send(s, conv, NotificationKind.ASSIGNED_MESSAGE, [user] if user else [], f"{_who(s, conv)} wrote", preview)


def mentioned(s: Session, conv: Conversation, text: str, author: User) -> int:
    """Teammates named as @Full Name or @First in `text` (the highlight's rule, templating.mentions)."""
    if "@" not in text:
        return 0
    found = []
    for user in _everyone(s, conv):
        first = (user.name.split() or [""])[0]
        names = sorted({user.name, first} - {""}, key=len, reverse=True)
        if names and re.search(r"@(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", text, re.IGNORECASE):
            found.append(user)
    found = [u for u in found if u.id != author.id]
    return _send(s, conv, NotificationKind.MENTION, found, f"{author.name} mentioned you about {_who(s, conv)}", text)


def handed_off(s: Session, conv: Conversation, reason: str) -> int:
    user = s.get(User, conv.assignee_id) if conv.assignee_id else None
    return _send(s, conv, NotificationKind.HANDOFF, [user] if user else _everyone(s, conv),
                 f"{_who(s, conv)} needs a person", reason)


def reply_failed(s: Session, message: Message) -> int:
    conv = s.get(Conversation, message.conversation_id)
    if conv is None:
        return 0
    author = s.get(User, message.author_user_id) if message.author_user_id else None
    if author is not None and message.author_type == AuthorType.USER:
        users = [author]
    else:  # the AI's (or the Instagram app's) reply: whoever has the conversation, else everyone
        assignee = s.get(User, conv.assignee_id) if conv.assignee_id else None
        users = [assignee] if assignee else _everyone(s, conv)
    return _send(s, conv, NotificationKind.FAILED_REPLY, users, f"A reply to {_who(s, conv)} failed", message.error or "")
