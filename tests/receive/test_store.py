"""Intake's hand-made insert (keloa_web/webhooks/store.py) stores a webhook body exactly as the ORM
would: the same values in every column, in the same stored form, on SQLite and on PostgreSQL."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import select, text

from keloa_web.db import db
from keloa_web.models import WebhookEvent
from keloa_web.webhooks.store import store_event
from tests import helpers

# What intake stores: a valid body, one that is not JSON (kept with its reason), one of another
# object, and bytes that are not UTF-8; times with and without microseconds.
EVENTS = [
    (datetime(2025, 3, 1, 12, 30, 45, 123456), b'{"object":"instagram","entry":[]}', "instagram", "pending", None),
    (datetime(2025, 3, 1, 12, 30, 46), b"not json {", None, "failed",
     "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (datetime(2025, 12, 31, 23, 59, 59, 999999), b'{"object":"page","entry":[{"id":"1"}]}', "page", "pending", None),
    (datetime(2026, 1, 2, 3, 4, 5, 6), b'\xff\xfe{"caf\xc3\xa9": "\xe2\x80\x9cq\xe2\x80\x9d"}\x00', None, "failed",
     "The body is not valid JSON: caf\u00e9 \u201cquoted\u201d"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, settings):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        helpers.migrate(url)
        settings["DATABASE_URL"] = url
    return settings


def _stored(ids: list[int]) -> list[tuple]:
    """The rows as the database holds them (no column types applied on the way back), by body."""
    columns = [c.name for c in WebhookEvent.__table__.columns if c.name != "id"]
    rows = db.session.execute(text(f"SELECT {', '.join(columns)} FROM webhook_events WHERE id IN "
                                   f"({', '.join(str(i) for i in ids)})")).all()
    return sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows),
                  key=lambda row: row[columns.index("body")])


def test_the_fast_insert_stores_what_the_orm_stores(app):
    with ThreadPoolExecutor(4) as pool:  # together, as intake's requests arrive (PostgreSQL batches them)
        list(pool.map(lambda event: store_event(*event), EVENTS * 3))
    fast_ids = db.session.scalars(select(WebhookEvent.id)).all()
    with db.session_scope() as s:
        orm = [WebhookEvent(received_at=at, body=body, object_type=kind, status=status, error=error)
               for at, body, kind, status, error in EVENTS * 3]
        s.add_all(orm)
    orm_ids = [event.id for event in orm]
    db.session.rollback()

    assert len(fast_ids) == len(orm_ids) == 12
    assert _stored(fast_ids) == _stored(orm_ids)
    # And read back through the ORM, each is the event that was received.
    fast = db.session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(fast_ids))).all()
    assert sorted((e.received_at, e.body, e.object_type, e.status, e.error, e.attempts) for e in fast) == \
        sorted((at, body, kind, status, error, 0) for at, body, kind, status, error in EVENTS * 3)
