"""PostgreSQL where pg_trgm cannot be created (the database user may not create extensions, or
contrib is not installed): the migrations still complete and search still finds everything, by
reading the table."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from keloa_web.db import db
from tests import helpers

pytestmark = pytest.mark.postgres


@pytest.fixture()
def settings(settings, postgres_url):
    import psycopg

    role = f"keloa_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')  # no CREATE on the database: no extensions
        conn.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    plain_url = postgres_url.replace("://postgres@", f"://{role}@", 1)
    helpers.migrate(plain_url)
    settings["DATABASE_URL"] = plain_url
    yield settings
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = \'{role}\'')
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def test_migrations_complete_without_pg_trgm_and_search_reads_the_table(app, agent_client):
    from tests.test_inbox import _conv

    assert db.session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")) == 0
    assert db.session.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%_trgm'")) == 0
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == helpers.head_revision()
    with db.session_scope() as s:
        hit = _conv(s, name="Ana", username="ana", text="A voucher please")
        named = _conv(s, name="Voucher Fan", username="vf", text="hello")
        miss = _conv(s, name="Cy", username="cy", text="no match here")
    html = agent_client.get("/inbox", query_string={"q": "voucher"}, htmx=True).get_data(as_text=True)
    assert [c.id for c in (hit, named, miss) if f'id="conv-{c.id}"' in html] == [hit.id, named.id]
