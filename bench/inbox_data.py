"""A large inbox for benchmark (3): 50,000 conversations and 1,000,000 messages in SQLite.

Built once per schema revision with plain sqlite3 `executemany` (minutes would go to the ORM) and
cached under bench/out/. Columns the generator does not set get their model default, so new columns
added by later migrations are filled too.
"""
from __future__ import annotations

import hashlib
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench import common

VERSION = 2
WORDS = ("order delivery vegan latte cake table booking refund size colour lisbon porto price shipping "
         "tomorrow sunday hours gift card voucher thanks hello question available stock return").split()
THREAD_MESSAGES = 200


def _head_revision() -> str:
    out = subprocess.run([sys.executable, "-m", "alembic", "heads"], cwd=common.ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite://"})
    return "-".join(sorted(line.split()[0] for line in out.stdout.splitlines() if line.strip()))


def _defaults(table) -> dict:
    """Values for NOT NULL columns without a value of ours: the model's scalar default or 0/''."""
    out = {}
    stamp = "2026-01-01 00:00:00.000000"
    for col in table.columns:
        if col.primary_key or col.nullable:
            continue
        default = col.default
        if default is not None and default.is_scalar:
            out[col.name] = default.arg
        elif default is not None and default.is_callable:
            out[col.name] = stamp
        else:
            out[col.name] = 0 if str(col.type).upper().startswith(("INT", "BIG", "BOOL")) else ""
    return out


def _insert(conn: sqlite3.Connection, table, rows: list[dict]) -> None:
    if not rows:
        return
    base = _defaults(table)
    cols = list(dict.fromkeys([*base, *rows[0]]))
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, ([r.get(c, base.get(c)) for c in cols] for r in rows))


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


# Labels on conversations: "VIP" on 1 in 10, "Wholesale" on 1 in 500 (a filter that finds few).
LABEL_NAMES = {1: "VIP", 2: "Wholesale"}
LABELLED = {1: 10, 2: 500}


def build(path: Path, conversations: int, messages: int) -> None:
    from keloa_web.models import Channel, Label

    common.migrate(f"sqlite:///{path}")
    rng = random.Random(42)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    channels = [{"id": 1, "ig_account_id": "17841400000000101", "ig_username": "keloa.coffee", "page_id": "104000000000101",
                 "page_name": "Keloa Coffee", "status": "active"},
                {"id": 2, "ig_account_id": "17841400000000102", "ig_username": "keloa.books", "page_id": "104000000000102",
                 "page_name": "Keloa Books", "status": "active"}]
    _insert(conn, Channel.__table__, channels)
    start = datetime(2025, 1, 1)
    span = (datetime(2026, 11, 20) - start).total_seconds()
    # 1,000 long threads of 200 messages, the rest spread evenly over the other conversations.
    long_threads = min(1000, conversations // 50)
    rest = messages - long_threads * THREAD_MESSAGES
    per_conv = [THREAD_MESSAGES] * long_threads + [rest // (conversations - long_threads)] * (conversations - long_threads)
    per_conv[-1] += messages - sum(per_conv)
    contacts, convs, msgs, changes, tagged = [], [], [], [], []
    _insert(conn, Label.__table__, [{"id": n, "name": name, "color": "blue"} for n, name in LABEL_NAMES.items()])
    msg_id = 0
    for cid in range(1, conversations + 1):
        channel = 1 + cid % 2
        first = start + timedelta(seconds=rng.random() * span * 0.9)
        # 1 in 10 also wrote to the other account (a new IGSID there): the contact panel finds it by username.
        username = f"customer_{cid - 1}" if cid % 10 == 8 else f"customer_{cid}"
        contacts.append({"id": cid, "channel_id": channel, "igsid": str(700000000000000 + cid),
                         "name": f"Customer {cid}", "username": username})
        first_reply = None
        when = first
        for n in range(per_conv[cid - 1]):
            msg_id += 1
            when += timedelta(seconds=30 + rng.random() * 3600)
            inbound = n % 3 != 2
            first_reply = first_reply or (None if inbound else _ts(when))
            text = " ".join(rng.choice(WORDS) for _ in range(4 + rng.randrange(10)))
            msgs.append({"id": msg_id, "conversation_id": cid, "channel_id": channel, "mid": f"mid.{msg_id:09d}",
                         "direction": "in" if inbound else "out", "kind": "text", "text": text,
                         "author_type": "customer" if inbound else "user", "status": "received" if inbound else "sent",
                         "sent_at": _ts(when), "created_at": _ts(when)})
        convs.append({"id": cid, "channel_id": channel, "contact_id": cid,
                      "status": "open" if cid % 4 else "resolved", "unread_count": cid % 3,
                      "last_customer_message_at": _ts(when), "last_activity_at": _ts(when),
                      "last_message_preview": msgs[-1]["text"][:200] if per_conv[cid - 1] else "", "created_at": _ts(first),
                      "first_reply_at": first_reply})
        changes.append({"conversation_id": cid, "at": _ts(when)})
        for label_id, every in LABELLED.items():
            if cid % every == 0:
                tagged.append({"conversation_id": cid, "label_id": label_id})
        if len(msgs) >= 50_000:
            _flush(conn, contacts, convs, msgs, changes, tagged)
    _flush(conn, contacts, convs, msgs, changes, tagged)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def _flush(conn, contacts, convs, msgs, changes, tagged) -> None:
    from keloa_web.models import Change, Contact, Conversation, Message, conversation_labels

    for table, rows in ((Contact.__table__, contacts), (Conversation.__table__, convs),
                        (Message.__table__, msgs), (Change.__table__, changes), (conversation_labels, tagged)):
        _insert(conn, table, rows)
        rows.clear()


def cached(quick: bool) -> tuple[Path, int, int]:
    """Path of the generated database for this schema (built on first use), with its sizes."""
    conversations, messages = (5_000, 100_000) if quick else (50_000, 1_000_000)
    path = common.OUT / f"inbox-v{VERSION}-{_head_revision()}-{conversations}-{messages}.db"
    if not path.exists():
        common.OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        t0 = time.monotonic()
        build(tmp, conversations, messages)
        tmp.rename(path)
        print(f"  generated {path.name} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return path, conversations, messages


PG_TABLES = ("channels", "contacts", "conversations", "messages", "changes", "labels", "conversation_labels")


def postgres(admin_url: str, quick: bool) -> str:
    """A PostgreSQL database holding the same inbox, for this run only (returns its URL).

    The data is loaded once per schema revision into a template database (COPY from the SQLite
    file, the trigram indexes built after the rows are in), then each run copies the template:
    `CREATE DATABASE … TEMPLATE` copies files instead of inserting a million rows again.
    """
    import psycopg

    source, conversations, messages = cached(quick)
    revision = _head_revision()
    template = f"keloa_inbox_v{VERSION}_{hashlib.sha1(revision.encode()).hexdigest()[:10]}_{messages}"
    run_db = "keloa_bench_inbox"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
    if not exists:
        t0 = time.monotonic()
        _load_template(admin_url, source, template)
        print(f"  loaded {template} into PostgreSQL in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
        # FILE_COPY (PostgreSQL 15+) copies the files; the default logs every page to the WAL,
        # whose flushing would then run during the measurements. CHECKPOINT: the same, up front.
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        conn.execute(f'CREATE DATABASE "{run_db}" TEMPLATE "{template}"{strategy}')
        conn.execute("CHECKPOINT")
    return admin_url.rsplit("/", 1)[0] + f"/{run_db}"


def _load_template(admin_url: str, source: Path, template: str) -> None:
    import psycopg

    loading = template + "_loading"
    url = common.fresh_postgres(admin_url, loading)
    # The schema without the trigram indexes, the rows, then the rest (GIN builds far faster at once).
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "0006_send_drains"], cwd=common.ROOT, check=True,
                   env={"PATH": "/usr/bin:/bin", "DATABASE_URL": url}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    lite = sqlite3.connect(source)
    with psycopg.connect(url) as conn:
        for table in PG_TABLES:
            pg_cols = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))]
            cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})") if r[1] in pg_cols]
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    copy.write_row(row)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    lite.close()
    common.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{loading}" RENAME TO "{template}"')
