"""Send API: bodies, windows, limits, media fetching, sender actions, echoes."""
import json

import pytest

from .conftest import BAKERY_PAGE, COFFEE_IG, COFFEE_PAGE, QUIET_PAGE
from .test_sandbox_oauth import assert_meta_error

pytestmark = pytest.mark.timeout(30)


def igsid(sb, customer="maya", account=COFFEE_IG):
    return [t for t in sb.state()["threads"] if t["customer"] == customer and t["account"] == account][0]["igsid"]


def send(sb, token, body, path="me/messages", form=False):
    if form:
        params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
        return sb.graph("POST", path, token, **params)
    return sb.graph("POST", path, token, json_body=body)


def test_text_send_echo_and_sent_log(sb, coffee, receiver):
    _, pt = coffee
    rid = igsid(sb)
    r = send(sb, pt, {"recipient": {"id": rid}, "message": {"text": "Hi Maya!"}}, path=f"{COFFEE_PAGE}/messages")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recipient_id"] == rid and body["message_id"]
    usage = json.loads(r.headers["X-Business-Use-Case-Usage"])
    assert COFFEE_IG in usage and usage[COFFEE_IG][0]["type"] == "instagram"
    sent = sb.control("sent", method="GET")["data"][-1]
    assert sent["text"] == "Hi Maya!" and sent["mid"] == body["message_id"] and sent["messaging_type"] == "RESPONSE"
    posts = receiver.wait_posts(1)
    echo = json.loads(posts[0]["body"])["entry"][0]["messaging"][0]
    assert echo["sender"] == {"id": COFFEE_IG} and echo["recipient"] == {"id": rid}
    assert echo["message"] == {"mid": body["message_id"], "text": "Hi Maya!", "is_echo": True}


def test_form_encoded_send(sb, coffee):
    _, pt = coffee
    r = send(sb, pt, {"recipient": {"id": igsid(sb)}, "message": {"text": "form"}, "messaging_type": "RESPONSE"},
             form=True)
    assert r.status_code == 200, r.text


def test_window_rules(sb, coffee):
    _, pt = coffee
    rid = igsid(sb)
    sb.control("clock", {"advance_hours": 25})
    err = assert_meta_error(send(sb, pt, {"recipient": {"id": rid}, "message": {"text": "late"}}), 10, 2534022)
    assert "outside of allowed window" in err["message"]
    tagged = {"recipient": {"id": rid}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
              "message": {"text": "a human here"}}
    assert send(sb, pt, tagged).status_code == 200
    assert sb.control("sent", method="GET")["data"][-1]["tag"] == "HUMAN_AGENT"
    sb.control("clock", {"advance_days": 7})
    assert_meta_error(send(sb, pt, tagged), 10, 2018278)
    # a new customer message reopens the window
    sb.customer(account="keloa.coffee", customer="maya", type="text", text="still there?")
    assert send(sb, pt, {"recipient": {"id": rid}, "message": {"text": "yes"}}).status_code == 200


def test_other_tags_and_bad_bodies(sb, coffee):
    _, pt = coffee
    rid = igsid(sb)
    assert_meta_error(send(sb, pt, {"recipient": {"id": rid}, "messaging_type": "MESSAGE_TAG",
                                    "tag": "ACCOUNT_UPDATE", "message": {"text": "x"}}), 100)
    assert_meta_error(send(sb, pt, {"recipient": {"id": rid}, "message": {"text": "é" * 501}}), 100)
    assert send(sb, pt, {"recipient": {"id": rid}, "message": {"text": "é" * 500}}).status_code == 200
    assert_meta_error(send(sb, pt, {"recipient": {"id": "999"}, "message": {"text": "x"}}), 100, 2534014)
    assert_meta_error(send(sb, pt, {"recipient": {"id": rid}}), 100)


def test_token_and_account_errors(sb):
    toks = sb.issue("ana")
    rid = igsid(sb)
    assert_meta_error(send(sb, toks["access_token"], {"recipient": {"id": rid}, "message": {"text": "x"}},
                           path=f"{COFFEE_PAGE}/messages"), 190)
    assert_meta_error(send(sb, toks["page_tokens"][BAKERY_PAGE], {"recipient": {"id": rid}, "message": {"text": "x"}}),
                      100, 2534013)
    sb.customer(account="quiet.studio", customer="leo", type="text", text="hello?")
    leo = igsid(sb, "leo", "17841400000000105")
    assert_meta_error(send(sb, toks["page_tokens"][QUIET_PAGE], {"recipient": {"id": leo}, "message": {"text": "x"}}),
                      200, 2534041)
    sb.control("users/ana/permissions", {"declined": ["instagram_manage_messages"]})
    assert_meta_error(send(sb, toks["page_tokens"][COFFEE_PAGE], {"recipient": {"id": rid}, "message": {"text": "x"}}), 10)


def test_rate_limit(sb, coffee):
    _, pt = coffee
    sb.control("config", {"SANDBOX_RATE_LIMIT_PER_SECOND": 3})
    rid = igsid(sb)
    codes = [send(sb, pt, {"recipient": {"id": rid}, "message": {"text": f"n{i}"}}) for i in range(5)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    err = assert_meta_error(codes[3], 613, 2534040)
    assert "rate limit" in err["message"]
    assert "X-Business-Use-Case-Usage" in codes[3].headers


def test_media_send_fetches_url(sb, coffee, receiver):
    _, pt = coffee
    rid = igsid(sb)
    png = open(__file__.replace("tests/sandbox/test_sandbox_send.py", "meta_sandbox/static/media/image.png"), "rb").read()
    receiver.files["pic.png"] = (png, "image/png")
    receiver.files["fake.png"] = (b"not an image at all", "text/plain")
    receiver.files["big.png"] = (b"\x89PNG" + b"\0" * (8 * 1024 * 1024 + 10), "image/png")
    ok = send(sb, pt, {"recipient": {"id": rid},
                       "message": {"attachment": {"type": "image", "payload": {"url": receiver.url + "/files/pic.png"}}}})
    assert ok.status_code == 200, ok.text
    sent = sb.control("sent", method="GET")["data"][-1]
    assert sent["attachments"][0]["type"] == "image"
    cdn = sent["attachments"][0]["payload"]["url"]
    assert cdn.startswith(sb.url + "/ig_messaging_cdn/?asset_id=")
    import requests
    assert requests.get(cdn, timeout=5).content == png
    bad = {"recipient": {"id": rid}, "message": {"attachment": {"type": "image", "payload": {"url": ""}}}}
    bad["message"]["attachment"]["payload"]["url"] = receiver.url + "/files/missing.png"
    assert_meta_error(send(sb, pt, bad), 100, 2018008)
    bad["message"]["attachment"]["payload"]["url"] = "http://127.0.0.1:1/nothing.png"
    assert_meta_error(send(sb, pt, bad), 100, 2018008)
    bad["message"]["attachment"]["payload"]["url"] = receiver.url + "/files/fake.png"
    assert_meta_error(send(sb, pt, bad), 100, 2018047)
    bad["message"]["attachment"]["type"] = "video"
    bad["message"]["attachment"]["payload"]["url"] = receiver.url + "/files/pic.png"
    assert_meta_error(send(sb, pt, bad), 100, 2018047)
    bad["message"]["attachment"] = {"type": "image", "payload": {"url": receiver.url + "/files/big.png"}}
    assert_meta_error(send(sb, pt, bad), 100, 2018109)


def test_reusable_attachment_upload(sb, coffee):
    _, pt = coffee
    res = sb.customer(account="keloa.coffee", customer="maya", type="audio")
    audio = res["event"]["message"]["attachments"][0]["payload"]["url"]
    r = sb.graph("POST", f"{COFFEE_PAGE}/message_attachments", pt, json_body={
        "platform": "instagram", "message": {"attachment": {"type": "audio", "payload": {"url": audio, "is_reusable": "true"}}}})
    assert r.status_code == 200, r.text
    att = r.json()["attachment_id"]
    r = send(sb, pt, {"recipient": {"id": igsid(sb)},
                      "message": {"attachment": {"type": "audio", "payload": {"attachment_id": att}}}})
    assert r.status_code == 200, r.text


def test_sender_actions_and_business_reactions(sb, coffee, receiver):
    _, pt = coffee
    rid = igsid(sb)
    for action in ("mark_seen", "typing_on", "typing_off"):
        r = send(sb, pt, {"recipient": {"id": rid}, "sender_action": action})
        assert r.status_code == 200 and r.json() == {"recipient_id": rid}
    mid = sb.customer(account="keloa.coffee", customer="maya", type="text", text="react to me")["mid"]
    receiver.wait_posts(1)
    r = send(sb, pt, {"recipient": {"id": rid}, "sender_action": "react",
                      "payload": {"message_id": mid, "reaction": "love"}}, form=True)
    assert r.status_code == 200 and r.json() == {"recipient_id": rid}
    r = send(sb, pt, {"recipient": {"id": rid}, "sender_action": "unreact", "payload": {"message_id": mid}})
    assert r.status_code == 200
    kinds = [s["sender_action"] for s in sb.control("sent", method="GET")["data"]]
    assert kinds == ["mark_seen", "typing_on", "typing_off", "react", "unreact"]
    assert_meta_error(send(sb, pt, {"recipient": {"id": rid}, "sender_action": "dance"}), 100)
    import time
    time.sleep(0.2)
    # No echo for sender actions or business reactions. (Count echoes, not posts: under load a slow
    # answer from the receiver can make the sandbox deliver the customer's message twice, as Meta does.)
    assert not [b for b in receiver.bodies() if b["entry"][0]["messaging"][0].get("message", {}).get("is_echo")]


def test_concurrent_sends_are_consistent(sb, coffee, receiver):
    from concurrent.futures import ThreadPoolExecutor
    _, pt = coffee
    rid = igsid(sb)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: send(sb, pt, {"recipient": {"id": rid}, "message": {"text": f"c{i}"}}),
                                range(24)))
    assert all(r.status_code == 200 for r in results)
    mids = {r.json()["message_id"] for r in results}
    assert len(mids) == 24
    receiver.wait_posts(24)
    assert {json.loads(p["body"])["entry"][0]["messaging"][0]["message"]["mid"] for p in receiver.posts()} == mids
    assert len(sb.control("sent", method="GET")["data"]) == 24


def test_audio_and_video_have_their_own_rate_bucket(sb, coffee):
    _, pt = coffee
    sb.control("config", {"SANDBOX_MEDIA_RATE_LIMIT_PER_SECOND": 1})
    url = sb.customer(account="keloa.coffee", customer="maya", type="audio")["event"]["message"]["attachments"][0]["payload"]["url"]
    body = {"recipient": {"id": igsid(sb)}, "message": {"attachment": {"type": "audio", "payload": {"url": url}}}}
    assert send(sb, pt, body).status_code == 200
    assert_meta_error(send(sb, pt, body), 613, 2534040)
    assert send(sb, pt, {"recipient": {"id": igsid(sb)}, "message": {"text": "text still fine"}}).status_code == 200
