"""Test data factories (CTFd's `gen_*` shape): each takes a session and keyword overrides.

`meta_dialog`/`connect_account` instead connect a channel for real, through Keloa's "Connect
Instagram" flow and the sandbox's login dialog (they take a helpers.Client)."""
from __future__ import annotations

import itertools
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests

from keloa_web.crypto import encrypt
from keloa_web.db import utcnow
from keloa_web.models import Agent, Channel, Contact, Conversation, KnowledgeEntry, Message, Reaction

_seq = itertools.count(1)


def gen_channel(session, token: str | None = "page-token", **kw) -> Channel:
    n = next(_seq)
    channel = Channel(**{"ig_account_id": f"17841{n:011d}", "ig_username": f"shop{n}", "page_id": f"1040{n:011d}",
                         "page_name": f"Shop {n}", "page_token_enc": encrypt(token) if token else None, **kw})
    session.add(channel)
    session.flush()
    return channel


def gen_contact(session, channel: Channel, **kw) -> Contact:
    n = next(_seq)
    contact = Contact(**{"channel_id": channel.id, "igsid": f"99{n:013d}", "name": f"Customer {n}",
                         "username": f"customer{n}", **kw})
    session.add(contact)
    session.flush()
    return contact


def gen_conversation(session, channel: Channel | None = None, contact: Contact | None = None,
                     last_customer_ago: timedelta | None = timedelta(minutes=5), **kw) -> Conversation:
    """A conversation whose customer last wrote `last_customer_ago` ago (None: never)."""
    channel = channel or gen_channel(session)
    contact = contact or gen_contact(session, channel)
    last = utcnow() - last_customer_ago if last_customer_ago is not None else None
    conv = Conversation(**{"channel_id": channel.id, "contact_id": contact.id, "last_customer_message_at": last,
                           "last_activity_at": last or utcnow(), **kw})
    session.add(conv)
    session.flush()
    return conv


def gen_message(session, conversation: Conversation, direction: str = "in", **kw) -> Message:
    n = next(_seq)
    defaults = {"conversation_id": conversation.id, "channel_id": conversation.channel_id, "direction": direction,
                "text": f"Message {n}", "mid": f"aWdfZAG1{n:08d}" if direction != "note" else None,
                "author_type": {"in": "customer", "out": "user", "note": "user"}[direction],
                "status": "received" if direction == "in" else "sent", "sent_at": utcnow()}
    message = Message(**{**defaults, **kw})
    session.add(message)
    session.flush()
    return message


def gen_reaction(session, message: Message, igsid: str, emoji: str = "❤️", **kw) -> Reaction:
    reaction = Reaction(**{"channel_id": message.channel_id, "mid": message.mid, "reactor_igsid": igsid,
                           "reaction": "love", "emoji": emoji, **kw})
    session.add(reaction)
    session.flush()
    return reaction


def sandbox_channel(session, sandbox, account: str = "keloa.coffee", user: str = "ana", **kw) -> Channel:
    """A channel for a sandbox IG account, with a real Page token issued by the sandbox."""
    state = sandbox.state()
    ig = next(a for a in state["accounts"] if account in (a["username"], a["key"], a["id"]))
    tokens = sandbox.control("POST", "tokens/issue", json={"user": user})
    return gen_channel(session, token=tokens["page_tokens"][ig["page_id"]], ig_account_id=ig["id"],
                       ig_username=ig["username"], page_id=ig["page_id"], page_name=ig.get("name", ""), **kw)


def sandbox_conversation(session, sandbox, channel: Channel, customer: str = "maya", text: str = "Hi there",
                         **kw) -> Conversation:
    """The customer writes in the sandbox (which starts Meta's window); Keloa gets the matching rows."""
    sent = sandbox.control("POST", "customer/send", json={"account": channel.ig_account_id, "customer": customer,
                                                         "type": "text", "text": text})
    igsid = sent["event"]["sender"]["id"]
    contact = gen_contact(session, channel, igsid=igsid, name=customer.title(), username=customer)
    conv = gen_conversation(session, channel, contact, last_customer_ago=timedelta(0), **kw)
    gen_message(session, conv, "in", text=text, mid=sent["mid"])
    return conv


def gen_agent(session, **kw) -> Agent:
    # Tests of answers compare the answer itself; the disclosure (on for every agent made in the
    # app) has tests of its own, which pass disclose=True.
    agent = Agent(**{"name": f"Agent {next(_seq)}", "disclose": False, **kw})
    session.add(agent)
    session.flush()
    return agent


def gen_entry(session, agent: Agent, title: str, body: str, examples: list[str] | None = None) -> KnowledgeEntry:
    """An entry saved as the knowledge page saves one: its language and vectors computed."""
    from keloa_web.agents.retrieval import prepare

    entry = KnowledgeEntry(agent_id=agent.id, title=title, body=body, examples="\n".join(examples or []))
    prepare(entry)
    session.add(entry)
    session.flush()
    return entry


def meta_dialog(client, sandbox, *, user: str = "ana", decline: tuple[str, ...] = (), pages: list[str] | None = None,
                cancel: bool = False, rerequest: bool = False):
    """Start "Connect through Facebook" in Keloa and answer the sandbox's login dialog as `user`.

    Returns the callback URL (path and query) the dialog redirected to; the caller GETs it with `client`.
    `pages` are sandbox page keys to share (default: all of the user's Pages).
    """
    resp = client.post("/integrations/meta/login", data={"rerequest": "1"} if rerequest else {})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    dialog_url = resp.headers["Location"]
    assert dialog_url.startswith(sandbox.base)
    query = parse_qs(urlsplit(dialog_url).query)
    state = sandbox.state()
    meta_user = next(u for u in state["users"] if u["key"] == user)
    page_ids = list(meta_user["page_tasks"]) if pages is None else [
        next(p["id"] for p in state["pages"] if p["key"] == key) for key in pages]
    form = {"user": meta_user["id"], "action": "cancel" if cancel else "allow",
            "perm": [s for s in query["scope"][0].split(",") if s not in decline],
            f"pages_{meta_user['id']}": page_ids}
    answer = requests.post(dialog_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    target = urlsplit(answer.headers["Location"].split("#", 1)[0])
    return f"{target.path}?{target.query}"


def connect_account(client, sandbox, *, user: str = "ana", page: str = "coffee", backfill: bool = False):
    """Sign in with Meta through the sandbox and connect one Page; returns the response of the connect POST."""
    callback = meta_dialog(client, sandbox, user=user)
    resp = client.get(callback)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/meta/pages"), resp.headers
    page_id = next(p["id"] for p in sandbox.state()["pages"] if p["key"] == page)
    return client.post(f"/integrations/meta/pages/{page_id}/connect", data={"backfill": "1"} if backfill else {})


def instagram_dialog(client, sandbox, *, account: str = "studio", decline: tuple[str, ...] = (), cancel: bool = False,
                     backfill: bool = False):
    """Start "Connect with Instagram" in Keloa and answer the sandbox's Instagram window as `account`.

    Returns the callback URL (path and query) Instagram redirected to; the caller GETs it with `client`.
    """
    resp = client.post("/integrations/instagram/login", data={"backfill": "1"} if backfill else {})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    window = resp.headers["Location"]
    assert window.startswith(f"{sandbox.base}/instagram/oauth/authorize?"), window
    query = parse_qs(urlsplit(window).query)
    ig = next(a for a in sandbox.state()["accounts"] if account in (a["key"], a["username"], a["id"]))
    form = {"account": ig["id"], "action": "cancel" if cancel else "allow",
            "perm": [s for s in query["scope"][0].split(",") if s not in decline]}
    answer = requests.post(window, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    target = urlsplit(answer.headers["Location"].split("#", 1)[0])
    return f"{target.path}?{target.query}"


def connect_with_instagram(client, sandbox, *, account: str = "studio", backfill: bool = False):
    """Connect an account through Instagram Login in the sandbox; returns the callback's response."""
    return client.get(instagram_dialog(client, sandbox, account=account, backfill=backfill))
