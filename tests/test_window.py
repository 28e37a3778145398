"""The reply-window policy at every boundary (keloa_web/window.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from keloa_web import window

T0 = datetime(2026, 11, 1, 12, 0, 0)
S = timedelta(seconds=1)
H = timedelta(hours=1)

# Lengths an operator whose Meta terms differ may set: 7 days untagged, then humans tagged forever.
DEFAULT = {"untagged_hours": 168, "human_agent_hours": 0}
# Meta's documented values, Keloa's defaults: 24 h untagged, then tagged until day 7.
META = {"untagged_hours": 24, "human_agent_hours": 168}

CASES = [
    # (id, config, seconds after the customer's last message or None, sender, allowed, tag, phase, ends after)
    ("no-message-human", DEFAULT, None, "human", False, None, "closed", None),
    ("no-message-ai", DEFAULT, None, "ai", False, None, "closed", None),
    ("just-wrote-human", DEFAULT, 0, "human", True, None, "open", 168 * H),
    ("just-wrote-ai", DEFAULT, 0, "ai", True, None, "open", 168 * H),
    ("1s-before-limit-ai", DEFAULT, 168 * 3600 - 1, "ai", True, None, "open", 168 * H),
    ("1s-before-limit-human", DEFAULT, 168 * 3600 - 1, "human", True, None, "open", 168 * H),
    ("at-limit-ai", DEFAULT, 168 * 3600, "ai", False, None, "human_agent_only", None),
    ("at-limit-human", DEFAULT, 168 * 3600, "human", True, "HUMAN_AGENT", "human_agent_only", None),
    ("1s-after-limit-human", DEFAULT, 168 * 3600 + 1, "human", True, "HUMAN_AGENT", "human_agent_only", None),
    ("unlimited-human-a-year-later", DEFAULT, 365 * 86400, "human", True, "HUMAN_AGENT", "human_agent_only", None),
    ("unlimited-ai-a-year-later", DEFAULT, 365 * 86400, "ai", False, None, "human_agent_only", None),
    ("meta-23h59m59s-ai", META, 24 * 3600 - 1, "ai", True, None, "open", 24 * H),
    ("meta-24h-ai", META, 24 * 3600, "ai", False, None, "human_agent_only", 168 * H),
    ("meta-24h-human", META, 24 * 3600, "human", True, "HUMAN_AGENT", "human_agent_only", 168 * H),
    ("meta-7d-minus-1s-human", META, 168 * 3600 - 1, "human", True, "HUMAN_AGENT", "human_agent_only", 168 * H),
    ("meta-7d-human", META, 168 * 3600, "human", False, None, "closed", None),
    ("meta-7d-plus-1s-human", META, 168 * 3600 + 1, "human", False, None, "closed", None),
    ("meta-7d-plus-1s-ai", META, 168 * 3600 + 1, "ai", False, None, "closed", None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_window_boundaries(case):
    _id, config, after, sender, allowed, tag, phase, ends_after = case
    last = None if after is None else T0
    now = T0 + timedelta(seconds=after or 0)
    d = window.decide(last, now, sender, **config)
    assert (d.allowed, d.tag, d.phase) == (allowed, tag, phase)
    assert d.ends_at == (T0 + ends_after if ends_after is not None else None)
    assert d.reason


META_CASES = [
    # (id, meta state, set how long after the last message (s) or None, age now (s), sender, allowed, tag, phase)
    ("refused-untagged-inside-keloa-window", "untagged_refused", 25 * 3600, 26 * 3600, "human", True, "HUMAN_AGENT",
     "human_agent_only"),
    ("refused-untagged-stops-ai", "untagged_refused", 25 * 3600, 26 * 3600, "ai", False, None, "human_agent_only"),
    ("refused-tagged-closes", "closed", 8 * 86400, 8 * 86400 + 1, "human", False, None, "closed"),
    ("older-than-last-message-ignored", "closed", -1, 60, "human", True, None, "open"),
    ("no-timestamp-ignored", "closed", None, 60, "ai", True, None, "open"),
]


@pytest.mark.parametrize("case", META_CASES, ids=[c[0] for c in META_CASES])
def test_what_meta_said_outranks_the_clock_until_the_customer_writes_again(case):
    _id, state, said_after, age, sender, allowed, tag, phase = case
    said_at = None if said_after is None else T0 + timedelta(seconds=said_after)
    d = window.decide(T0, T0 + timedelta(seconds=age), sender, meta_state=state, meta_state_at=said_at, **DEFAULT)
    assert (d.allowed, d.tag, d.phase) == (allowed, tag, phase)


def test_closed_reason_suggests_another_channel():
    d = window.decide(T0, T0 + 8 * 24 * H, "human", **META)
    assert "re-engage by email or another channel" in d.reason


def test_unknown_sender_is_a_programming_error():
    with pytest.raises(ValueError):
        window.decide(T0, T0, "robot", **DEFAULT)


@pytest.mark.parametrize("left,text", [
    (timedelta(days=2, hours=4, minutes=5), "2 d 4 h"), (timedelta(hours=3, minutes=12), "3 h 12 min"),
    (timedelta(minutes=9, seconds=3), "9 min"), (timedelta(seconds=45), "45 s"), (-S, "0 s"),
])
def test_countdown(left, text):
    assert window.countdown(T0 + left, T0) == text


def test_the_defaults_are_metas_documented_rule_and_the_summary_says_it(app):
    assert (app.config["WINDOW_UNTAGGED_HOURS"], app.config["WINDOW_HUMAN_AGENT_HOURS"]) == (24, 168)
    assert window.summary() == ("AI and teammates for 24 h after the customer's last message; "
                                "then teammates only, tagged Human agent, until day 7.")
    assert window.summary({"WINDOW_UNTAGGED_HOURS": 168, "WINDOW_HUMAN_AGENT_HOURS": 0}) == (
        "AI and teammates for 7 days after the customer's last message; "
        "then teammates only, tagged Human agent, with no end.")


@pytest.mark.parametrize("after_hours,sender,allowed,tag,phase", [
    (30, "ai", True, None, "open"),            # a day past the standard 24 h: still open after an ad
    (30, "human", True, None, "open"),
    (167, "ai", True, None, "open"),
    (168, "ai", False, None, "closed"),        # 7 days after the ad message, and after day 7 overall
])
def test_a_message_from_a_click_to_direct_ad_keeps_the_window_open_up_to_7_days(after_hours, sender, allowed,
                                                                                 tag, phase):
    now = T0 + timedelta(hours=after_hours)
    d = window.decide(T0, now, sender, **META, ad_message_at=T0, ad_hours=168)
    assert (d.allowed, d.tag, d.phase) == (allowed, tag, phase)
    plain = window.decide(T0, now, sender, **META)
    assert plain.phase != "open"  # without the ad, the standard 24 h has passed
