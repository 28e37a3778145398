"""The page to play the customer, and `python -m meta_sandbox` as a real process."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from .conftest import COFFEE_PAGE

pytestmark = pytest.mark.timeout(30)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_customer_page_sends_and_shows_business_messages(sb, coffee, receiver):
    r = requests.get(sb.url + "/", timeout=5)
    assert r.status_code == 200 and "keloa.coffee" in r.text and "Maya Lopez" in r.text
    r = requests.post(sb.url + "/customer/act", data={"account": "keloa.coffee", "customer": "leo", "type": "text",
                                                      "text": "<b>hi</b> & bye"}, timeout=5)
    assert r.status_code == 200 and "&lt;b&gt;hi&lt;/b&gt; &amp; bye" in r.text and "<b>hi</b>" not in r.text
    body = json.loads(receiver.wait_posts(1)[0]["body"])
    assert body["entry"][0]["messaging"][0]["message"]["text"] == "<b>hi</b> & bye"
    for kind in ("image", "video", "audio", "story_reply", "story_mention", "share_post", "share_reel"):
        r = requests.post(sb.url + "/customer/act", data={"account": "keloa.coffee", "customer": "leo", "type": kind},
                          timeout=5)
        assert r.status_code == 200, kind
    assert "<video" in r.text and "<audio" in r.text
    _, pt = coffee
    leo = [t for t in sb.state()["threads"] if t["customer"] == "leo"][0]["igsid"]
    sb.graph("POST", "me/messages", pt, json_body={"recipient": {"id": leo}, "messaging_type": "MESSAGE_TAG",
                                                   "tag": "HUMAN_AGENT", "message": {"text": "Agent Ana here"}})
    page = requests.get(sb.url + "/customer", params={"account": "keloa.coffee", "customer": "leo"}, timeout=5).text
    assert "Agent Ana here" in page and "HUMAN_AGENT" in page
    r = requests.post(sb.url + "/customer/act", data={"account": "keloa.coffee", "customer": "leo", "type": "react"},
                      timeout=5)
    assert "customer reacted" in r.text
    r = requests.post(sb.url + "/customer/act", data={"account": "nope", "customer": "leo", "type": "text"}, timeout=5)
    assert "unknown account" in r.text


def test_cli_runs_the_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "meta_sandbox", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                state = requests.get(base + "/_sandbox/state", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError("sandbox did not start")
        assert state["settings"]["SANDBOX_PUBLIC_URL"] == base
        assert state["settings"]["SANDBOX_APP_SECRET"] == "sandbox-app-secret"
        toks = requests.post(base + "/_sandbox/tokens/issue", json={"user": "ana"}, timeout=5).json()
        assert requests.get(f"{base}/v25.0/{COFFEE_PAGE}", params={"access_token": toks["access_token"]},
                            timeout=5).json()["name"] == "Keloa Coffee"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_customer_page_inline_reply_and_icebreaker(sb, coffee, receiver):
    maya_biz = [m for m in sb.control("customer/send", {"account": "keloa.coffee", "customer": "maya", "type": "seen"})
                ["event"]["read"].values()][0]
    requests.post(sb.url + "/customer/act", data={"account": "keloa.coffee", "customer": "maya", "type": "text",
                                                  "text": "about that", "reply_to": maya_biz}, timeout=5)
    requests.post(sb.url + "/customer/act", data={"account": "keloa.coffee", "customer": "maya", "type": "postback",
                                                  "text": "Opening hours?"}, timeout=5)
    bodies = [json.loads(p["body"])["entry"][0]["messaging"][0] for p in receiver.wait_posts(3)]
    assert bodies[1]["message"]["reply_to"] == {"mid": maya_biz}
    assert bodies[2]["postback"]["title"] == "Opening hours?"
