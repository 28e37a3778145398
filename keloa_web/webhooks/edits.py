"""The current text of a message the customer edited, when Meta's edit event did not carry it.

Real `message_edit` deliveries have been seen with `num_edit: 0` and no `text`. The message node
(`GET /{message-id}?fields=message`, Conversations API) returns the text as it is now, for the 20
newest messages of a conversation; older ones, or a refusal, leave the message marked "Edited on
Instagram" without its new words.
"""
from __future__ import annotations

from urllib.parse import quote

from rq import Retry

from keloa_web import changes
from keloa_web.db import db
from keloa_web.graph import GraphError, GraphUnavailable, for_channel
from keloa_web.integrations import ratelimit
from keloa_web.models import Channel, Message
from keloa_web.jobs import job
from keloa_web.webhooks.parse import clean

PENDING, UNAVAILABLE = "pending", "unavailable"


def mark_text_unknown(message: Message) -> None:
    """The edit said nothing of the new text: show "Edited on Instagram" until it is fetched."""
    message.extra = {**(message.extra or {}), "edit_text": PENDING}


@job("default", retry=Retry(max=2, interval=[5, 30]))
def fetch_edited_text(message_id: int) -> str:
    with db.session_scope(write=False) as session:
        message = session.get(Message, message_id)
        if message is None or message.deleted or not message.mid or (message.extra or {}).get("edit_text") != PENDING:
            return "skipped"
        channel = session.get(Channel, message.channel_id)
        api, mid, ig_id = for_channel(channel), message.mid, channel.ig_account_id
    text, state = None, UNAVAILABLE
    if api.token:
        try:
            ratelimit.wait_turn(ig_id)
            node = api.get(quote(mid, safe=""), fields="message")
            if isinstance(node.get("message"), str):
                text, state = clean(node["message"]), None
        except GraphUnavailable:
            raise  # RQ tries again
        except (GraphError, TimeoutError):
            pass  # older than the 20 newest, deleted, or refused: say so, do not guess
    with db.session_scope() as session:
        message = session.get(Message, message_id)
        if message is None or message.deleted or (message.extra or {}).get("edit_text") != PENDING:
            return "skipped"
        extra = dict(message.extra or {})
        if state is None:
            extra.pop("edit_text", None)
            message.text = text
        else:
            extra["edit_text"] = state
        message.extra = extra
        changes.touch(session, message.conversation_id)
    return "fetched" if state is None else "unavailable"
