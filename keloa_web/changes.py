"""The change feed the live inbox polls: one row per conversation touched."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.live import bus
from keloa_web.models import Change


def touch(session: Session, conversation_id: int) -> None:
    """Record that a conversation changed (new message, reaction, receipt, status...); open tabs
    are woken when the transaction commits (keloa_web/live/bus.py)."""
    session.add(Change(conversation_id=conversation_id))
    bus.mark(session)


def latest_id(session: Session) -> int:
    return session.scalar(select(func.max(Change.id))) or 0


def changed_since(session: Session, cursor: int, limit: int = 500) -> tuple[int, set[int]]:
    """(new cursor, ids of conversations changed after `cursor`)."""
    rows = session.execute(
        select(Change.id, Change.conversation_id).where(Change.id > cursor).order_by(Change.id).limit(limit)
    ).all()
    if not rows:
        return cursor, set()
    return rows[-1][0], {r[1] for r in rows}
