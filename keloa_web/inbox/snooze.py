"""Snooze and pending: when a snooze ends, its presets in the reader's time zone, and the periodic
task that wakes snoozed conversations.

A snoozed conversation leaves the Open list until `snoozed_until` (or, with none, until the customer
writes); a pending one until the customer writes. A customer message opens either at once
(keloa_web/webhooks/handlers.py). `wake_snoozed` runs every minute on the worker (keloa_web/jobs.py
SCHEDULE) and opens those whose time has come, with a note saying so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from keloa_web import changes, window
from keloa_web.db import db, utcnow
from keloa_web.inbox import activity
from keloa_web.models import Conversation, ConversationStatus

PRESETS = {  # form value -> label
    "1h": "In 1 hour",
    "3h": "In 3 hours",
    "tomorrow": "Tomorrow, 9:00",
    "monday": "Next Monday, 9:00",
    "reply": "Until the customer writes",
}
MAX_AHEAD = timedelta(days=90)
WAKE_BATCH = 500


class SnoozeError(ValueError):
    """A snooze time that cannot be: the message says why, for the person who chose it."""


def reader_zone(name: str | None) -> ZoneInfo:
    """The reader's time zone as their browser names it (Intl), UTC when missing or unknown."""
    if not name or len(name) > 64:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "../x", a name too long for a file, NUL…
        return ZoneInfo("UTC")


def until(preset: str, custom: str, zone: ZoneInfo, now: datetime | None = None) -> datetime | None:
    """The UTC time (naive, as stored) a snooze ends; None for "until the customer writes"."""
    now = now or utcnow()
    local_now = now.replace(tzinfo=timezone.utc).astimezone(zone)
    if preset == "reply":
        return None
    if preset in ("1h", "3h"):
        return now + timedelta(hours=int(preset[0]))
    if preset == "tomorrow":
        local = datetime.combine(local_now.date() + timedelta(days=1), time(9), zone)
    elif preset == "monday":
        days = (7 - local_now.weekday()) % 7 or 7
        local = datetime.combine(local_now.date() + timedelta(days=days), time(9), zone)
    elif preset == "custom":
        try:
            local = datetime.fromisoformat(custom[:32]).replace(tzinfo=zone)
        except ValueError:
            raise SnoozeError("Choose a date and time to snooze until.") from None
    else:
        raise SnoozeError("Choose how long to snooze it.")
    at = local.astimezone(timezone.utc).replace(tzinfo=None)
    if at <= now:
        raise SnoozeError("That time has passed: choose a later one.")
    if at - now > MAX_AHEAD:
        raise SnoozeError("Snooze for up to 90 days.")
    return at


@dataclass
class WakeCheck:
    closes_first: bool  # Instagram's window for a person closes before the conversation wakes
    closes_at: datetime | None  # when it closes (UTC), if it does


def wake_check(conv: Conversation, at: datetime | None) -> WakeCheck:
    """Whether a person could still reply when a snooze ending at `at` wakes the conversation."""
    if at is None:
        return WakeCheck(False, None)  # it wakes when the customer writes, which opens the window again
    return WakeCheck(not window.for_conversation(conv, "human", now=at).allowed, _human_deadline(conv))


def _human_deadline(conv: Conversation) -> datetime | None:
    """When a person can no longer reply (the end of the Human agent days), if that is ahead."""
    decision = window.for_conversation(conv, "human")
    if decision.phase == "open" and decision.ends_at is not None:
        after = window.for_conversation(conv, "human", now=decision.ends_at + timedelta(seconds=1))
        return after.ends_at if after.phase == "human_agent_only" else decision.ends_at
    return decision.ends_at if decision.phase == "human_agent_only" else None


def wake_snoozed() -> None:
    """Open the snoozed conversations whose time has come (periodic, every minute)."""
    now = utcnow()
    with db.session_scope() as s:
        due = s.scalars(select(Conversation).where(Conversation.status == ConversationStatus.SNOOZED,
                                                   Conversation.snoozed_until.is_not(None),
                                                   Conversation.snoozed_until <= now)
                        .order_by(Conversation.snoozed_until).limit(WAKE_BATCH)).all()
        for conv in due:
            conv.status, conv.snoozed_until = ConversationStatus.OPEN, None
            activity.record(s, conv, "Back from snooze: the time it was snoozed until has come.")
            changes.touch(s, conv.id)
