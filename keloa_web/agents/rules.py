"""When the AI stays quiet: hand-off keywords and the per-conversation quiet rules."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.db import utcnow
from keloa_web.models import Agent, Conversation, Message


def handoff_keywords(agent: Agent) -> list[str]:
    return [k.strip() for k in re.split(r"[,\n]", agent.handoff_keywords or "") if k.strip()]


def wants_human(agent: Agent, text: str | None) -> str | None:
    """The hand-off keyword in `text`, matched as whole words regardless of case, if any."""
    if not text:
        return None
    for keyword in handoff_keywords(agent):
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, flags=re.IGNORECASE):
            return keyword
    return None
