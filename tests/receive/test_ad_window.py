"""A customer's first message after clicking a Click-to-Direct ad carries `referral.source: ADS`;
Meta's policy keeps the standard window open up to 7 days from that message."""
from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select

from keloa_web.db import db, utcnow
from keloa_web.models import Conversation
from tests import helpers
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000777"


def test_a_message_from_an_ad_keeps_ai_and_teammates_untagged_for_7_days(app, client, agent_client, settings):
    channel(BIZ)
    sent = int((utcnow() - timedelta(hours=30)).timestamp() * 1000)
    ad = {"mid": "from-ad", "text": "Is the red one still in stock?",
          "referral": {"ref": "spring", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD",
                       "ads_context_data": {"ad_title": "Spring sale"}}}
    post(client, body(BIZ, messaging("ad-customer", BIZ, sent, message=ad)))
    post(client, body(BIZ, messaging("plain-customer", BIZ, sent, message={"mid": "plain", "text": "Hello?"})))
    helpers.run_worker_burst(settings)
    convs = {c.contact.igsid: c for c in db.session.scalars(select(Conversation))}
    assert convs["ad-customer"].ad_message_at is not None and convs["plain-customer"].ad_message_at is None

    page = html.unescape(agent_client.get(f"/inbox/c/{convs['ad-customer'].id}").get_data(as_text=True))
    assert "Reply window open" in page and "closes in 5 d" in page and "written from a Click-to-Direct ad" in page
    page = html.unescape(agent_client.get(f"/inbox/c/{convs['plain-customer'].id}").get_data(as_text=True))
    assert "Teammates only, tagged Human agent" in page
