from datetime import timedelta
from playwright.sync_api import sync_playwright
from keloa_web.db import db, utcnow
from tests import factories

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_shot(live_server, admin, agent_user):
    with db.session_scope() as s:
        ch = factories.gen_channel(s, ig_username="keloa.coffee", display_name=None, ai_enabled=True)
        names = [("Maya Lopez", "maya.lopez", "Do you have oat milk? 🥛", 2), ("Leo Park", "leopark", "Is the café open on Sunday?", 0),
                 (None, "zoe_z", "Replied to your story", 1), ("Sam Rivera", "samr", "Thanks, see you tomorrow!", 0)]
        convs = []
        for i, (n, u, t, unread) in enumerate(names):
            c = factories.gen_contact(s, ch, name=n, username=u)
            conv = factories.gen_conversation(s, ch, c, last_customer_ago=timedelta(minutes=5 + i * 300), last_message_preview=t, unread_count=unread)
            convs.append(conv)
        conv = convs[0]
        now = utcnow()
        factories.gen_message(s, conv, "in", text="Hi! Do you have oat milk? 🥛", sent_at=now - timedelta(days=1, hours=2))
        factories.gen_message(s, conv, "out", text="We do, and almond too.", author_type="user", author_user_id=admin.id, sent_at=now - timedelta(days=1, hours=1))
        m = factories.gen_message(s, conv, "in", kind="story_reply", text="Love this latte art", story_url="http://127.0.0.1:9/story.png", sent_at=now - timedelta(minutes=40))
        factories.gen_message(s, conv, "note", text="Regular customer, offer the loyalty card.", author_user_id=admin.id, sent_at=now - timedelta(minutes=30))
        out = factories.gen_message(s, conv, "out", text="Thank you! Come by for one on the house ☕", author_type="user", author_user_id=admin.id, sent_at=now - timedelta(minutes=20))
        factories.gen_message(s, conv, "out", text="(AI) We open at 8am.", author_type="ai", status="failed", error="Instagram could not be reached after 5 attempts (timeout). Check your connection, then retry.", sent_at=now - timedelta(minutes=10))
        factories.gen_reaction(s, out, conv.contact.igsid)
        s.get(type(conv), conv.id).customer_seen_at = now - timedelta(minutes=15)
        factories.gen_message(s, conv, "in", text="Deal! 😍", sent_at=now - timedelta(minutes=5))
        cid = conv.id
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, vp in (("laptop", {"width": 1366, "height": 800}), ("phone", {"width": 390, "height": 844})):
            ctx = b.new_context(viewport=vp)
            page = ctx.new_page()
            page.goto(f"{live_server}/login")
            page.fill("input[name=email]", "owner@example.com")
            page.fill("input[name=password]", "correct horse battery")
            with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST"):
                page.click("button[type=submit]")
            page.goto(f"{live_server}/inbox/c/{cid}")
            page.wait_for_timeout(800)
            page.screenshot(path=f"/tmp/shots/{name}-thread.png")
            page.goto(f"{live_server}/inbox")
            page.wait_for_timeout(500)
            page.screenshot(path=f"/tmp/shots/{name}-list.png")
            ctx.close()
        b.close()
