"""Conversations API backfill, the 20-message detail limit, its rate limit, profile consent, media expiry."""
import time

import pytest
import requests

from .conftest import COFFEE_IG, COFFEE_PAGE
from .test_sandbox_oauth import assert_meta_error

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pt(sb):
    sb.control("config", {"SANDBOX_CONVERSATIONS_RATE_PER_SECOND": 1000})
    return sb.issue("ana")["page_tokens"][COFFEE_PAGE]


def test_list_conversations_and_messages(sb, pt):
    convs = sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt, platform="instagram").json()
    assert len(convs["data"]) == 2 and set(convs["data"][0]) == {"id", "updated_time"}
    assert convs["data"][0]["updated_time"].endswith("+0000")
    maya = [t for t in sb.state()["threads"] if t["customer"] == "maya"][0]
    one = sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt, platform="instagram", user_id=maya["igsid"]).json()
    assert [c["id"] for c in one["data"]] == [maya["conversation_id"]]
    assert sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt).json() == {"data": []}  # messenger
    paged = sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt, platform="instagram", limit=1).json()
    assert len(paged["data"]) == 1 and "next" in paged["paging"]
    node = sb.graph("GET", maya["conversation_id"], pt, fields="messages").json()
    msgs = node["messages"]["data"]
    assert node["id"] == maya["conversation_id"] and len(msgs) == 24 and set(msgs[0]) == {"id", "created_time"}
    # newest first; the 20 newest can be read in detail, older ones fail like Meta's "deleted" answer
    detail = sb.graph("GET", msgs[0]["id"], pt, fields="id,created_time,from,to,message").json()
    assert detail["message"] == "Do you sell gift cards?" and detail["from"]["username"] == "maya.lopez"
    assert detail["to"]["data"][0] == {"username": "keloa.coffee", "id": COFFEE_IG}
    assert sb.graph("GET", msgs[19]["id"], pt, fields="message").status_code == 200
    assert_meta_error(sb.graph("GET", msgs[20]["id"], pt, fields="message"), 100)


def test_story_and_attachment_fields(sb, pt):
    res = sb.customer(account="keloa.coffee", customer="leo", type="story_reply", text="Nice shot")
    node = sb.graph("GET", res["mid"], pt, fields="id,created_time,from,message,story").json()
    assert set(node["story"]["reply_to"]) == {"link", "id"} and node["message"] == "Nice shot"
    res = sb.customer(account="keloa.coffee", customer="leo", type="story_mention")
    assert set(sb.graph("GET", res["mid"], pt, fields="story").json()["story"]["mention"]) == {"link", "id"}
    res = sb.customer(account="keloa.coffee", customer="leo", type="image")
    att = sb.graph("GET", res["mid"], pt, fields="attachments").json()["attachments"]["data"][0]
    assert requests.get(att["image_data"]["url"], timeout=5).status_code == 200
    first = sb.customer(account="keloa.coffee", customer="leo", type="text", text="a")["mid"]
    second = sb.customer(account="keloa.coffee", customer="leo", type="text", text="b", reply_to=first)["mid"]
    assert sb.graph("GET", second, pt, fields="reply_to").json()["reply_to"] == {"mid": first, "is_self_reply": True}


def test_conversations_rate_limit(sb):
    pt = sb.issue("ana")["page_tokens"][COFFEE_PAGE]
    codes = [sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt, platform="instagram") for _ in range(3)]
    assert [c.status_code for c in codes[:2]] == [200, 200]
    assert_meta_error(codes[2], 613, 2534040)
    time.sleep(1.05)
    assert sb.graph("GET", f"{COFFEE_PAGE}/conversations", pt, platform="instagram").status_code == 200


def test_profile_needs_consent(sb, pt):
    res = sb.customer(account="keloa.coffee", customer="leo", type="comment")
    assert_meta_error(sb.graph("GET", res["igsid"], pt, fields="name,username,profile_pic"), 230)
    sb.customer(account="keloa.coffee", customer="leo", type="text", text="hi")
    prof = sb.graph("GET", res["igsid"], pt, fields="name,username,profile_pic,follower_count,"
                                                    "is_user_follow_business,is_business_follow_user").json()
    assert prof["name"] == "Leo Park" and prof["username"] == "leopark"
    assert requests.get(prof["profile_pic"], timeout=5).headers["Content-Type"] == "image/png"
    zoe = [t for t in sb.state()["threads"] if t["customer"] == "zoe"][0]["igsid"]
    assert sb.graph("GET", zoe, pt, fields="name,username").json() == {"name": None, "username": "zoe_z"}
    # another account's token cannot read it
    books = sb.issue("ana")["page_tokens"]["104000000000102"]
    assert_meta_error(sb.graph("GET", res["igsid"], books, fields="name"), 100, 33)


def test_media_urls_expire(sb, pt):
    img = sb.customer(account="keloa.coffee", customer="leo", type="image")["event"]["message"]["attachments"][0]["payload"]["url"]
    story = sb.customer(account="keloa.coffee", customer="leo", type="story_mention")["event"]["message"]["attachments"][0]["payload"]["url"]
    assert requests.get(img, timeout=5).status_code == 200 and requests.get(story, timeout=5).status_code == 200
    assert requests.get(img.replace("signature=", "signature=x"), timeout=5).status_code == 403
    sb.control("clock", {"advance_seconds": 86401})
    assert requests.get(story, timeout=5).status_code == 403
    assert requests.get(img, timeout=5).status_code == 200
    sb.control("clock", {"advance_days": 2})
    assert requests.get(img, timeout=5).status_code == 403
    unsent = sb.customer(account="keloa.coffee", customer="leo", type="image")
    url = unsent["event"]["message"]["attachments"][0]["payload"]["url"]
    sb.customer(account="keloa.coffee", customer="leo", type="unsend", mid=unsent["mid"])
    assert requests.get(url, timeout=5).status_code == 404


def test_graph_gives_fresh_attachment_urls(sb, pt):
    res = sb.customer(account="keloa.coffee", customer="leo", type="image")
    webhook_url = res["event"]["message"]["attachments"][0]["payload"]["url"]
    sb.control("clock", {"advance_days": 4})
    assert requests.get(webhook_url, timeout=5).status_code == 403
    sb.customer(account="keloa.coffee", customer="leo", type="text", text="still here")
    att = sb.graph("GET", res["mid"], pt, fields="attachments").json()["attachments"]["data"][0]
    assert att["mime_type"] == "image/png" and att["size"] > 0
    assert requests.get(att["image_data"]["url"], timeout=5).status_code == 200
