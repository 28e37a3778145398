"""Webhook bodies against the real samples, signatures, retries, unsubscription, fault modes."""
import hashlib
import hmac
import json
import os
import time

import pytest

from .conftest import APP_SECRET, BOOKS_PAGE, COFFEE_IG, COFFEE_PAGE

pytestmark = pytest.mark.timeout(30)
SAMPLES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "meta_samples")


def sample(prefix):
    name = [f for f in os.listdir(SAMPLES) if f.startswith(prefix)][0]
    with open(os.path.join(SAMPLES, name)) as fh:
        return json.load(fh)["payload"]


def shape(obj, prefix=""):
    """Key paths of a JSON value, list items merged: {"entry[].messaging[].sender.id", ...}."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= shape(v, p)
    elif isinstance(obj, list):
        for v in obj:
            out |= shape(v, prefix + "[]")
    return out


def event_shape(body):
    return shape(body["entry"][0]["messaging"][0]) if "entry" in body else shape(body)


def act(sb, receiver, n_before=None, **kw):
    n = len(receiver.posts()) if n_before is None else n_before
    res = sb.customer(account="keloa.coffee", customer="maya", **kw)
    posts = receiver.wait_posts(n + 1)
    return res, json.loads(posts[n]["body"])


CASES = [  # customer action, sample file prefix
    ({"type": "text", "text": "Omg"}, "00"),
    ({"type": "image"}, "01"),
    ({"type": "story_reply", "text": "Hello story"}, "03"),
    ({"type": "story_mention"}, "12"),
    ({"type": "react", "reaction": "love"}, "08"),
    ({"type": "postback"}, "10"),
    ({"type": "referral"}, "11"),
    ({"type": "ephemeral"}, "14"),
    ({"type": "unsupported"}, "15"),
    ({"type": "share_reel"}, "16"),
    ({"type": "ig_story"}, "17"),
]


@pytest.mark.parametrize("action,prefix", CASES, ids=[c[1] for c in CASES])
def test_event_shapes_match_samples(sb, coffee, receiver, action, prefix):
    _, body = act(sb, receiver, **action)
    want = sample(prefix)
    if "entry" in want and "object" in want:
        assert shape(body) == shape(want)
    else:
        assert event_shape(body) == event_shape(want)
    entry = body["entry"][0]
    assert isinstance(entry["time"], int) and entry["id"] == COFFEE_IG
    ev = entry["messaging"][0]
    assert isinstance(ev["timestamp"], int) and ev["timestamp"] > 1.7e12
    assert ev["sender"]["id"] != COFFEE_IG and ev["recipient"]["id"] == COFFEE_IG


def test_more_shapes(sb, coffee, receiver):
    res, body = act(sb, receiver, type="text", text="first")
    _, reply = act(sb, receiver, type="text", text="reply", reply_to=res["mid"])
    assert event_shape(reply) == event_shape(sample("18"))
    _, unsend = act(sb, receiver, type="unsend")
    assert shape(unsend) == shape(sample("06"))
    assert unsend["entry"][0]["messaging"][0]["message"]["is_deleted"] is True
    _, edit = act(sb, receiver, type="edit", mid=res["mid"], text="first, edited")
    assert edit["entry"][0]["messaging"][0]["message_edit"] == {"mid": res["mid"], "text": "first, edited", "num_edit": 1}
    _, react = act(sb, receiver, type="react")
    _, unreact = act(sb, receiver, type="unreact")
    assert event_shape(unreact) == event_shape(sample("20"))
    sb.control("faults", {"share_style": "both"})
    _, share = act(sb, receiver, type="share_post", text="Build a workspace")
    assert event_shape(share) == event_shape(sample("13"))
    types = [a["type"] for a in share["entry"][0]["messaging"][0]["message"]["attachments"]]
    assert types == ["share", "ig_post"]


def test_read_receipts_with_and_without_ids(sb, coffee, receiver):
    sb.control("faults", {"read_without_ids": "never"})
    _, with_ids = act(sb, receiver, type="seen")
    assert shape(with_ids) == shape(sample("09"))
    sb.control("faults", {"read_without_ids": "always"})
    _, bare = act(sb, receiver, type="seen")
    ev = bare["entry"][0]["messaging"][0]
    assert set(ev) == {"timestamp", "read"} and ev["read"]["mid"]
    assert bare["entry"][0]["id"] == COFFEE_IG


def test_echo_shapes(sb, coffee, receiver):
    _, pt = coffee
    rid = [t for t in sb.state()["threads"] if t["customer"] == "maya"][0]["igsid"]
    sb.graph("POST", "me/messages", pt, json_body={"recipient": {"id": rid}, "message": {"text": "hello"}})
    media_url = sb.customer(account="keloa.coffee", customer="maya", type="image")["event"]["message"]["attachments"][0]["payload"]["url"]
    sb.graph("POST", "me/messages", pt, json_body={"recipient": {"id": rid}, "message": {
        "attachment": {"type": "image", "payload": {"url": media_url}}}})
    posts = receiver.wait_posts(3)
    echoes = [json.loads(p["body"]) for p in posts]
    echoes = [e for e in echoes if e["entry"][0]["messaging"][0]["message"].get("is_echo")]
    assert shape(echoes[0]) == shape(sample("00")) | {"entry[].messaging[].message.is_echo"}
    assert shape(echoes[1]) == shape(sample("01")) | {"entry[].messaging[].message.is_echo"}
    ev = echoes[0]["entry"][0]["messaging"][0]
    assert ev["sender"]["id"] == COFFEE_IG == echoes[0]["entry"][0]["id"] and ev["recipient"]["id"] == rid


def test_signatures_cover_the_exact_bytes(sb, coffee, receiver):
    act(sb, receiver, type="image")
    post = receiver.posts()[-1]
    raw = post["body"]
    want256 = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    want1 = "sha1=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    assert post["headers"]["X-Hub-Signature-256"] == want256
    assert post["headers"]["X-Hub-Signature"] == want1
    assert b"http:\\/\\/" in raw  # Meta escapes slashes: re-serialising parsed JSON would break the signature
    assert json.dumps(json.loads(raw), separators=(",", ":")).encode() != raw


def test_dashboard_test_event_uses_changes(sb, receiver):
    sb.control("webhook/test-event", {"field": "messages"})
    body = json.loads(receiver.wait_posts(1)[0]["body"])
    want = sample("19")
    assert shape(body["entry"]) == shape(want["entry"]) and body["object"] == "instagram"
    assert body["entry"][0]["id"] == "0"


def test_raw_webhook_signed_or_not(sb, receiver):
    sb.control("webhook/raw", {"body": {"object": "instagram", "entry": []}})
    sb.control("webhook/raw", {"raw": '{"object":"instagram","entry":[]}', "signature": "invalid"})
    sb.control("webhook/raw", {"raw": "{}", "signature": "none"})
    posts = receiver.wait_posts(3)
    assert posts[0]["headers"]["X-Hub-Signature-256"] == "sha256=" + hmac.new(
        APP_SECRET.encode(), posts[0]["body"], hashlib.sha256).hexdigest()
    assert posts[1]["headers"]["X-Hub-Signature-256"] != "sha256=" + hmac.new(
        APP_SECRET.encode(), posts[1]["body"], hashlib.sha256).hexdigest()
    assert "X-Hub-Signature-256" not in posts[2]["headers"]


def test_retries_until_200(sb, coffee, receiver):
    receiver.status = 500
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="retry me")
    receiver.wait_posts(3)
    receiver.status = 200
    d = sb.wait(lambda: [x for x in sb.deliveries("delivered")])
    codes = [a["status_code"] for a in d[0]["attempts"]]
    assert codes[0] == 500 and codes[-1] == 200 and len(codes) >= 3
    bodies = {p["body"] for p in receiver.posts()}
    assert len(bodies) == 1  # the same body every time


def test_slow_answer_counts_as_failure(sb, coffee, receiver):
    receiver.delay = 1.3
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="slow")
    receiver.wait_posts(1)
    d = sb.wait(lambda: [x for x in sb.deliveries() if x["attempts"]])
    assert d[0]["attempts"][0]["status_code"] is None and "Timeout" in d[0]["attempts"][0]["error"]
    receiver.delay = 0
    sb.wait(lambda: sb.deliveries("delivered"))


def test_nothing_from_before_a_reset_arrives_after_it(sb, coffee, receiver):
    """A reset waits for the POSTs already under way: the next test's receiver sees none of them."""
    receiver.delay = 0.3
    for n in range(3):
        sb.customer(account="keloa.coffee", customer="maya", type="text", text=f"before the reset {n}")
    # The first goes alone; the other two are formed together while it is answered, so when the
    # second is in flight the third is due behind it.
    receiver.wait_posts(2)
    sb.control("reset", {"settings": True})
    receiver.clear()
    time.sleep(1.5)
    assert receiver.posts() == []


def test_unsubscribed_after_an_hour_of_failures(sb, coffee, receiver):
    _, pt = coffee
    receiver.status = 503
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="anyone?")
    receiver.wait_posts(2)
    sb.control("clock", {"advance_seconds": 3601})
    sb.wait(lambda: sb.deliveries("dropped"))
    assert sb.graph("GET", f"{COFFEE_PAGE}/subscribed_apps", pt).json() == {"data": []}
    res = sb.customer(account="keloa.coffee", customer="maya", type="text", text="lost")
    assert res["delivery"]["status"] == "suppressed" and "not subscribed" in res["delivery"]["reason"]


def test_duplicates_fault(sb, coffee, receiver):
    sb.control("faults", {"duplicates": True})
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="twice")
    posts = receiver.wait_posts(2)
    assert posts[0]["body"] == posts[1]["body"]


def test_shuffle_fault(sb, coffee, receiver):
    sb.control("faults", {"shuffle": True, "shuffle_window_ms": 1000})
    for i in range(5):
        sb.customer(account="keloa.coffee", customer="maya", type="text", text=f"n{i}")
    posts = receiver.wait_posts(5)
    stamps = [json.loads(p["body"])["entry"][0]["messaging"][0]["message"]["text"] for p in posts]
    assert sorted(stamps) == [f"n{i}" for i in range(5)] and stamps != sorted(stamps)


def test_batching(sb, coffee, receiver):
    sb.control("faults", {"batch": True, "batch_window_ms": 1000})
    for i in range(3):
        sb.customer(account="keloa.coffee", customer="maya", type="text", text=f"b{i}")
    body = json.loads(receiver.wait_posts(1)[0]["body"])
    assert [e["messaging"][0]["message"]["text"] for e in body["entry"]] == ["b0", "b1", "b2"]


def test_paused_deliveries_resume(sb, coffee, receiver):
    sb.control("faults", {"deliveries": False})
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="later")
    time.sleep(0.3)
    assert receiver.posts() == []
    sb.control("faults", {"deliveries": True})
    receiver.wait_posts(1)


def test_gating(sb, receiver):
    toks = sb.issue("ana")
    # not subscribed yet
    res = sb.customer(account="keloa.coffee", customer="leo", type="text", text="hi")
    assert res["delivery"]["status"] == "suppressed"
    # DM access off: nothing arrives even when subscribed
    sb.subscribe(toks["page_tokens"]["104000000000105"], "104000000000105")
    res = sb.customer(account="quiet.studio", customer="leo", type="text", text="hi")
    assert "Allow access to messages" in res["delivery"]["reason"]
    # creator: needs one Conversations API call first
    sb.subscribe(toks["page_tokens"][BOOKS_PAGE], BOOKS_PAGE)
    res = sb.customer(account="keloa.books", customer="leo", type="text", text="hi")
    assert "Conversations API" in res["delivery"]["reason"]
    sb.graph("GET", f"{BOOKS_PAGE}/conversations", toks["page_tokens"][BOOKS_PAGE], platform="instagram")
    res = sb.customer(account="keloa.books", customer="leo", type="text", text="hi again")
    assert res["delivery"]["status"] == "queued"
    receiver.wait_posts(1)
    # app-level field list
    sb.subscribe(toks["page_tokens"][COFFEE_PAGE], COFFEE_PAGE)
    sb.control("app/subscriptions", {"fields": ["messages"]})
    res = sb.customer(account="keloa.coffee", customer="maya", type="seen")
    assert res["delivery"]["status"] == "suppressed" and "messaging_seen" in res["delivery"]["reason"]


def test_business_writes_from_the_instagram_app(sb, coffee, receiver):
    res = sb.control("business/send", {"account": "keloa.coffee", "customer": "maya", "text": "typed on my phone"})
    body = json.loads(receiver.wait_posts(1)[0]["body"])
    ev = body["entry"][0]["messaging"][0]
    assert ev["sender"]["id"] == COFFEE_IG and ev["message"] == {"mid": res["mid"], "text": "typed on my phone",
                                                                 "is_echo": True}
    assert sb.control("sent", method="GET")["data"] == []
