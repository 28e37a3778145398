"""The getting-started checklist on the inbox: five first steps, each ticked by what the
database already says (nothing to store), hidden once all are done."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from keloa_web.models import AuthorType, Channel, ChannelStatus, Direction, Invite, Message, User


@dataclass(frozen=True)
class Step:
    label: str
    done: bool
    href: str


def checklist(session: Session) -> list[Step] | None:
    """The steps, or None when every one is done."""
    def any_(*where) -> bool:
        return bool(session.scalar(select(exists().where(*where))))

    steps = [
        Step("Connect an Instagram account", any_(Channel.status == ChannelStatus.ACTIVE), url_for("integrations.index")),
        Step("Receive a message from a customer", any_(Message.direction == Direction.IN), url_for("inbox.index")),
        Step("Reply from Keloa", any_(Message.direction == Direction.OUT, Message.author_type == AuthorType.USER),
             url_for("inbox.index")),
        Step("Attach an AI agent to the account", any_(Channel.agent_id.is_not(None)), url_for("agents.index")),
        Step("Invite a teammate", (session.scalar(select(func.count()).select_from(User)) or 0) > 1
             or any_(Invite.id.is_not(None)), url_for("team.index")),
    ]
    return None if all(s.done for s in steps) else steps
