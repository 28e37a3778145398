"""(5) A burst of 1,000 replies across two accounts through the sandbox, its rate limits on."""
from __future__ import annotations

import os
import time

from sqlalchemy import func, select

from bench import common

ACCOUNTS = ("keloa.coffee", "keloa.books")
CUSTOMERS = ("maya", "leo", "zoe")
WORKERS = int(os.environ.get("BENCH_SEND_WORKERS", "4"))


def _setup_conversations(sandbox: common.Sandbox) -> list[int]:
    """Channels with real sandbox Page tokens; each customer writes first, so the window is open."""
    from keloa_web.db import db, utcnow
    from keloa_web.crypto import encrypt
    from keloa_web.models import Channel, Contact, Conversation

    state = sandbox.control("GET", "state")
    tokens = sandbox.control("POST", "tokens/issue", json={"user": "ana"})["page_tokens"]
    conv_ids = []
    with db.session_scope() as s:
        for username in ACCOUNTS:
            ig = next(a for a in state["accounts"] if a["username"] == username)
            channel = Channel(ig_account_id=ig["id"], ig_username=username, page_id=ig["page_id"],
                              page_name=username, page_token_enc=encrypt(tokens[ig["page_id"]]))
            s.add(channel)
            s.flush()
            for customer in CUSTOMERS:
                sent = sandbox.control("POST", "customer/send", json={
                    "account": ig["id"], "customer": customer, "type": "text", "text": "hi"})
                contact = Contact(channel_id=channel.id, igsid=sent["igsid"], name=customer)
                s.add(contact)
                s.flush()
                conv = Conversation(channel_id=channel.id, contact_id=contact.id, last_customer_message_at=utcnow(),
                                    last_activity_at=utcnow())
                s.add(conv)
                s.flush()
                conv_ids.append(conv.id)
    return conv_ids


def run(ctx: common.Context) -> list[common.Row]:
    total = 300 if ctx.quick else 1000
    sandbox = common.Sandbox(ctx)  # default limits: 100 text sends/s per account
    db_url = common.sqlite_url(ctx, "sends.db")
    common.migrate(db_url)
    env = common.keloa_env(ctx, db_url, common.start_redis(ctx), **sandbox.keloa_settings())
    with common.InProcessApp(env) as app:
        from keloa_web.db import db
        from keloa_web.models import Conversation, Message
        from keloa_web.sends import outbox

        conv_ids = _setup_conversations(sandbox)
        rate = app.config["SEND_RATE_PER_SECOND"]
        common.start_workers(ctx, env, WORKERS, "sends")
        time.sleep(2)  # workers up before the clock starts
        with db.session_scope() as s:
            convs = [s.get(Conversation, cid) for cid in conv_ids]
            for n in range(total):
                outbox.create_outgoing(s, convs[n % len(convs)], text=f"Reply number {n}", author_type="user")
        start = time.monotonic()

        def counts():
            with db.session_scope(write=False) as s:
                return dict(s.execute(select(Message.status, func.count()).where(Message.direction == "out")
                                      .group_by(Message.status)).all())

        deadline = start + 120
        while time.monotonic() < deadline:
            status = counts()
            if not status.get("queued") and not status.get("sending"):
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        status = counts()

    sent = sandbox.control("GET", "sent")["data"]
    delivered = sum(1 for m in sent if (m.get("text") or "").startswith("Reply number"))
    calls = sandbox.control("GET", "calls")["data"]
    limited = sum(1 for c in calls if "2534040" in str(c.get("error") or "") or "613" in str(c.get("error") or ""))
    per_account = total / len(ACCOUNTS)
    minimum = per_account / rate
    ok = delivered == total and status.get("sent") == total and limited == 0
    return [
        common.Row("sends", f"{total} replies, 2 accounts, total time", elapsed, "s", minimum,
                   f"{per_account:.0f}/account at {rate}/s", "≤ 1.5× minimum", elapsed <= 1.5 * minimum and ok,
                   f"{WORKERS} workers; statuses {status}", higher_is_better=False),
        common.Row("sends", "delivered to the sandbox", delivered, f"of {total}", goal="all", ok=delivered == total),
        common.Row("sends", "rate-limit errors from the sandbox", limited, "", goal="0", ok=limited == 0),
    ]
