"""Inbox search on PostgreSQL: the same answers as on SQLite, through pg_trgm indexes where the
extension can be created, and by reading the table where it cannot."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, text

from keloa_web.db import db
from tests import helpers
from tests.test_inbox import _conv
from tests.test_inbox import test_search_finds_the_same_conversations_whether_the_term_is_rare_or_common as test_search_on_postgresql  # noqa: F401
from tests.test_inbox import test_text_search_follows_edits_and_unsends as test_search_follows_edits_on_postgresql  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture()
def settings(settings, postgres_url):
    return helpers.on_postgres(settings, postgres_url)


def _explain(stmt) -> str:
    from sqlalchemy.dialects import postgresql

    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return "\n".join(r[0] for r in db.session.execute(text(f"EXPLAIN {compiled}")))


@contextlib.contextmanager
def _statements():
    """The SQL statements run inside the block, with their parameters."""
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _plan_of(statement, parameters) -> str:
    return "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters))


def test_a_common_term_walks_the_list_testing_each_conversation(app, agent_user, monkeypatch):
    """Not a hash of every matching message first: the walk stops when the page is full."""
    from sqlalchemy import select

    from keloa_web import search
    from keloa_web.inbox import queries
    from keloa_web.models import Conversation
    from keloa_web.search import postgres

    from datetime import timedelta

    from sqlalchemy import insert

    from keloa_web.db import utcnow
    from keloa_web.models import Contact, Message

    with db.session_scope() as s:  # an inbox big enough for the planner's choices to be real ones
        channel_id = _conv(s, name="Ana", username="ana", text="hello").channel_id
        contacts = s.scalars(insert(Contact).returning(Contact.id), [
            {"channel_id": channel_id, "igsid": f"c{n}", "name": f"Customer {n}", "username": f"customer{n}"}
            for n in range(1000)]).all()
        now = utcnow()
        convs = s.scalars(insert(Conversation).returning(Conversation.id), [
            {"channel_id": channel_id, "contact_id": c, "last_activity_at": now - timedelta(minutes=n)}
            for n, c in enumerate(contacts)]).all()
        s.execute(insert(Message), [
            {"conversation_id": c, "channel_id": channel_id, "mid": f"m{c}.{n}", "direction": "in",
             "text": "a voucher for me" if n % 3 == 0 else "hello there", "sent_at": now}
            for c in convs for n in range(20)])
    db.session.execute(text("ANALYZE"))
    # The probe for a common word reads the table until it has enough, rather than gathering
    # every match through the index first.
    with _statements() as seen:
        assert len(postgres.probe(db.session, "voucher", 2001)) == 2001
    plan = _plan_of(*seen[0])
    assert plan.splitlines()[1].strip().startswith("->  Seq Scan on messages"), plan
    monkeypatch.setattr(search, "PROBE_LIMIT", -1)  # every term counts as common
    stmt = (select(Conversation).where(*queries.conditions(queries.Filters(q="voucher", status="all"), agent_user.id,
                                                       db.session))
            .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(51))
    plan = _explain(stmt)
    assert "Index Scan Backward using ix_conversations_activity on conversations" in plan, plan
    assert "Index Cond: (conversation_id = conversations.id)" in plan, plan


def test_search_terms_are_answered_by_trigram_indexes(app, agent_user):
    """A rare term's probe (ILIKE with its escape) can use the GIN trigram index; so can names."""
    from keloa_web.inbox import queries

    indexes = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")))
    assert indexes == {"ix_messages_text_trgm", "ix_contacts_name_trgm", "ix_contacts_username_trgm"}
    db.session.execute(text("SET enable_seqscan = off"))  # a tiny table would be read whole anyway
    with _statements() as seen:
        queries.conversation_page(db.session, queries.Filters(q="voucher", status="all"), agent_user.id)
    plans = [_plan_of(statement, parameters) for statement, parameters in seen]
    assert any("ix_messages_text_trgm" in p for p in plans), plans
    assert any("ix_contacts_name_trgm" in p and "ix_contacts_username_trgm" in p for p in plans), plans


def test_spaces_indexed_as_q_never_make_a_false_match(agent_client):
    """The index holds "voucher gift" as "voucherqgift"; a search for either finds only its own text."""
    with db.session_scope() as s:
        spaced = _conv(s, name="Ana", username="ana", text="A Voucher Gift, please")
        joined = _conv(s, name="Bo", username="bo", text="the voucherqgift code")

    def found(q):
        html = agent_client.get("/inbox", query_string={"q": q, "status": "all"}, htmx=True).get_data(as_text=True)
        return [c.id for c in (spaced, joined) if f'id="conv-{c.id}"' in html]

    assert found("voucher gift") == [spaced.id]
    assert found("voucherqgift") == [joined.id]
    assert found("er g") == [spaced.id] and found("erqg") == [joined.id]
