"""The one reply-window policy: may this conversation be answered now, by whom, and tagged how?

The composer, the send job and the AI job all ask `decide` (or `for_conversation`); no other
module knows the rule. Phases, measured from the customer's last message:

    open              everyone may send untagged          until last + WINDOW_UNTAGGED_HOURS (or, after
                                                          a message from a Click-to-Direct ad, until
                                                          that message + WINDOW_AD_HOURS if later)
    human_agent_only  only a person, tagged HUMAN_AGENT   until last + WINDOW_HUMAN_AGENT_HOURS (0: forever)
    closed            nobody (the customer must write first)

Meta has the last word: when it refused an untagged message (`untagged_refused`) or a tagged
one (`closed`) after the customer's last message, that outranks Keloa's own clock until the
customer writes again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from keloa_web.models import WindowState

HUMAN_AGENT = "HUMAN_AGENT"
SENDERS = ("human", "ai")

REENGAGE = "Instagram no longer accepts replies here: re-engage by email or another channel."

# (phase, sender) -> (allowed, tag, reason). The whole rule, in one table.
RULES: dict[tuple[str, str], tuple[bool, str | None, str]] = {
    ("open", "human"): (True, None, "The customer wrote recently: replies go out normally."),
    ("open", "ai"): (True, None, "The customer wrote recently: the AI agent may reply."),
    ("human_agent_only", "human"): (
        True, HUMAN_AGENT, "Past the standard window: only a teammate may answer, tagged Human agent."),
    ("human_agent_only", "ai"): (
        False, None, "Past the standard window: AI replies are off, a teammate must answer (tagged Human agent)."),
    ("closed", "human"): (False, None, REENGAGE),
    ("closed", "ai"): (False, None, REENGAGE),
}
NEVER_WROTE = "The customer has not written yet: Instagram only lets businesses answer messages."


@dataclass(frozen=True)
class WindowDecision:
    allowed: bool
    tag: str | None  # "HUMAN_AGENT" when the message must carry the tag
    reason: str  # for a person to read
    phase: str  # open | human_agent_only | closed
    ends_at: datetime | None  # when the current phase ends; None: it does not end on its own

    @property
    def tagged(self) -> bool:
        return self.tag == HUMAN_AGENT


def _phase(last: datetime | None, now: datetime, untagged_hours: int, human_agent_hours: int,
           meta_state: str | None, ad_at: datetime | None = None, ad_hours: int = 0) -> tuple[str, datetime | None]:
    if last is None:
        return "closed", None
    open_until = last + timedelta(hours=untagged_hours)
    if ad_at is not None and ad_hours > 0:  # a message from a Click-to-Direct ad: up to 7 days from it
        open_until = max(open_until, ad_at + timedelta(hours=ad_hours))
    human_until = last + timedelta(hours=human_agent_hours) if human_agent_hours > 0 else None
    if meta_state == WindowState.CLOSED:
        return "closed", None
    if now < open_until and meta_state != WindowState.UNTAGGED_REFUSED:
        return "open", open_until
    if human_until is None or now < human_until:
        return "human_agent_only", human_until
    return "closed", None


def decide(last_customer_at: datetime | None, now: datetime, sender: str, *, untagged_hours: int,
           human_agent_hours: int, meta_state: str | None = None,
           meta_state_at: datetime | None = None, ad_message_at: datetime | None = None,
           ad_hours: int = 0) -> WindowDecision:
    """Whether `sender` ("human" or "ai") may send now. Datetimes are naive UTC.

    `meta_state` is what Meta last said ("untagged_refused" or "closed") at `meta_state_at`; it
    only counts if it is newer than the customer's last message (a new message reopens the window).
    """
    if sender not in SENDERS:
        raise ValueError(f"sender must be one of {SENDERS}, not {sender!r}")
    if meta_state and (last_customer_at is None or meta_state_at is None or meta_state_at < last_customer_at):
        meta_state = None
    phase, ends_at = _phase(last_customer_at, now, untagged_hours, human_agent_hours, meta_state,
                            ad_message_at, ad_hours)
    allowed, tag, reason = RULES[(phase, sender)]
    if last_customer_at is None:
        reason = NEVER_WROTE
    return WindowDecision(allowed=allowed, tag=tag, reason=reason, phase=phase, ends_at=ends_at)


def for_conversation(conversation, sender: str, now: datetime | None = None, config=None) -> WindowDecision:
    """`decide` for a Conversation row, with the lengths from the app's config."""
    from flask import current_app

    from keloa_web.db import utcnow

    config = config if config is not None else current_app.config
    return decide(
        conversation.last_customer_message_at, now or utcnow(), sender,
        untagged_hours=int(config["WINDOW_UNTAGGED_HOURS"]),
        human_agent_hours=int(config["WINDOW_HUMAN_AGENT_HOURS"]),
        meta_state=conversation.meta_window_state, meta_state_at=conversation.meta_window_state_at,
        ad_message_at=conversation.ad_message_at, ad_hours=int(config.get("WINDOW_AD_HOURS", 0)),
    )


def _span(hours: int) -> str:
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} h"


def _day(hours: int) -> str:
    return f"day {hours // 24}" if hours % 24 == 0 else f"{hours} h"


def summary(config=None) -> str:
    """The rule in one sentence, from the configured lengths (Meta's: 24 h, then until day 7).

    The user's guide calls this the "7-day window"; this says what the 7 days really are."""
    from flask import current_app

    config = config if config is not None else current_app.config
    untagged, human = int(config["WINDOW_UNTAGGED_HOURS"]), int(config["WINDOW_HUMAN_AGENT_HOURS"])
    first = f"AI and teammates for {_span(untagged)} after the customer's last message"
    if human <= 0:
        return f"{first}; then teammates only, tagged Human agent, with no end."
    if human <= untagged:
        return f"{first}; then nobody until the customer writes again."
    return f"{first}; then teammates only, tagged Human agent, until {_day(human)}."


def countdown(ends_at: datetime | None, now: datetime, short: bool = False) -> str:
    """'2 d 4 h', '3 h 12 min', '45 s': the time left, for the composer; `short` (the list badge)
    drops the minutes once there are hours: '3 h'."""
    if ends_at is None:
        return ""
    left = max(0, int((ends_at - now).total_seconds()))
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h" if short else f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


PHASE_FILTERS = {  # the inbox's window filter: value -> label
    "open": "Window open",
    "human_agent_only": "Human agent only",
    "closing": "Human agent only, closes within 24 h",
    "closed": "Window closed",
}


def phase_where(phase: str, now: datetime, config=None):
    """SQL conditions on Conversation for the conversations in `phase` at `now`: `_phase` as columns
    (the inbox filters and saved views by window phase), so the rule still lives here only.
    "closing" is human_agent_only with its end less than 24 h away."""
    from flask import current_app
    from sqlalchemy import and_, false, not_, or_, true

    from keloa_web.models import Conversation

    config = config if config is not None else current_app.config
    untagged, human = int(config["WINDOW_UNTAGGED_HOURS"]), int(config["WINDOW_HUMAN_AGENT_HOURS"])
    ad_hours = int(config.get("WINDOW_AD_HOURS", 0))
    last = Conversation.last_customer_message_at
    said_after = and_(Conversation.meta_window_state_at.is_not(None), Conversation.meta_window_state_at >= last)
    meta_closed = and_(Conversation.meta_window_state == WindowState.CLOSED, said_after)
    refused = and_(Conversation.meta_window_state == WindowState.UNTAGGED_REFUSED, said_after)
    ad_open = (and_(Conversation.ad_message_at.is_not(None), Conversation.ad_message_at > now - timedelta(hours=ad_hours))
               if ad_hours > 0 else false())
    is_open = and_(last.is_not(None), not_(meta_closed), not_(refused),
                   or_(last > now - timedelta(hours=untagged), ad_open))
    in_human = last > now - timedelta(hours=human) if human > 0 else true()
    is_human = and_(last.is_not(None), not_(meta_closed), not_(is_open), in_human)
    if phase == "open":
        return is_open
    if phase == "human_agent_only":
        return is_human
    if phase == "closing":
        return and_(is_human, last <= now - timedelta(hours=human - 24)) if human > 24 else false()
    if phase == "closed":
        return or_(last.is_(None), and_(not_(is_open), not_(is_human)))
    raise ValueError(f"unknown window phase {phase!r}")
