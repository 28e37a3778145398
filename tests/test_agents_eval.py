"""The evaluation set in bench/eval/: its data files are well formed and its harness counts right.

These tests do not hold the agent to the goals (bench/eval/run.py measures them): they check that
what the benchmark reports can be trusted.
"""
from __future__ import annotations

import pytest

from bench.eval import run as ev

BUSINESSES = ev.load_all()


def test_three_businesses_a_shop_a_cafe_and_a_service():
    assert {b.key for b in BUSINESSES} >= {"shop", "cafe", "salon"}


@pytest.mark.parametrize("business", BUSINESSES, ids=lambda b: b.key)
def test_data_file_is_well_formed(business):
    assert ev.problems(business) == []
    assert 12 <= len(business.entries) <= 25
    assert sum(c.answerable for c in business.cases) >= 60
    assert sum(not c.answerable for c in business.cases) >= 20
    languages = {c.language for c in business.cases}
    assert {"pt", "es"} <= languages
    share = sum(c.language != "en" for c in business.cases) / len(business.cases)
    assert 0.1 <= share <= 0.3
    # the kinds of message the evaluation is about are all there
    tags = {t for c in business.cases for t in c.tags}
    assert {"multi", "followup", "greeting", "person", "paraphrase"} <= tags
    assert any(c.previous for c in business.cases)
    assert any(len(c.expect) > 1 for c in business.cases if c.answerable)


def test_problems_are_reported():
    broken = ev.Business("x", "X", [ev.Entry("a", "A", "a body"), ev.Entry("a", "B", "b body", "fr")],
                         [ev.Case("q?", ["nope"]), ev.Case("", ev.HANDOFF), ev.Case("q?", ["a"])])
    found = " ".join(ev.problems(broken))
    assert "duplicate entry ids" in found and "'nope'" in found and "language" in found
    assert "empty message" in found and "twice" in found


def test_counting():
    one = ev.Case("do you take paypal", ["payment"])
    two = ev.Case("paypal? and shipping?", ["payment", "shipping"])
    none = ev.Case("hiii", ev.HANDOFF)
    outcomes = [ev.Outcome(one, "payment", 1.0), ev.Outcome(one, "shipping", 2.0), ev.Outcome(one, None, 3.0),
                ev.Outcome(two, "shipping", 4.0), ev.Outcome(none, None, 5.0), ev.Outcome(none, "payment", 6.0)]
    assert [o.verdict for o in outcomes] == ["right", "wrong", "handed_off", "right", "unanswerable_handed_off",
                                             "guessed"]
    t = ev.tally(outcomes)
    assert (t.answerable, t.right, t.wrong, t.handed_off, t.unanswerable, t.unanswerable_handed_off, t.guessed) \
        == (4, 2, 1, 1, 2, 1, 1)
    assert t.pct("right") == 50.0 and t.pct("guessed") == 50.0
    assert t.p95_ms == 6.0


def test_plain_bm25_threshold_is_the_best_single_one():
    cases = [ev.Case("a", ["x"]), ev.Case("b", ["y"]), ev.Case("c", ev.HANDOFF)]
    # 0.0 gets two right and guesses once; 3.0 gets one right and hands off the unanswerable one:
    # as many correct outcomes, fewer replies that should not have been sent
    scored = [("x", 3.0), ("y", 1.0), ("x", 2.0)]
    assert ev.best_threshold(cases, scored) == 3.0
    assert ev.best_threshold(cases[:2], scored[:2]) == 0.0


TINY = ev.Business("tiny", "Tiny Shop", [
    ev.Entry("payment", "Payment methods", "We accept Visa, Mastercard and PayPal."),
    ev.Entry("shipping", "Shipping costs", "Shipping to Portugal and Spain costs 5 euros; free over 50 euros."),
    ev.Entry("hours", "Opening hours", "Our shop opens Monday to Friday from 9am to 6pm."),
], [
    ev.Case("Do you accept PayPal?", ["payment"]),            # a known right answer
    ev.Case("What are your opening hours?", ["shipping"]),    # the agent answers; marked as a known wrong one
    ev.Case("Can I talk to a person?", ev.HANDOFF),           # the hand-off keyword
    ev.Case("Do you sell tea?", ev.HANDOFF),                  # nothing about it
    ev.Case("and on saturdays?", ["hours"], previous=["when does the shop open on monday"]),
])


def test_builtin_agent_on_the_job_code_path(tmp_path):
    with ev.BuiltIn(tmp_path) as builtin:
        builtin.add(TINY)
        outcomes = builtin.run(TINY)
    assert [o.reply for o in outcomes[:4]] == ["payment", "hours", None, None]
    assert [o.verdict for o in outcomes[:4]] == ["right", "wrong", "unanswerable_handed_off",
                                                 "unanswerable_handed_off"]
    assert "asked for a person" in outcomes[2].detail
    assert all(o.ms > 0 for o in outcomes)


def test_plain_bm25_on_a_tiny_base():
    outcomes, threshold = ev.run_plain(TINY)
    assert outcomes[0].reply == "payment"
    assert threshold >= 0
    assert ev.tally(outcomes).answerable == 3


def test_the_benchmark_rows(tmp_path):
    result = ev.evaluate([TINY], tmp_path)
    rows = ev._rows(result, [TINY])
    measures = [r.measure for r in rows]
    assert "all: answerable, answered right" in measures and "all: time per answer, p95" in measures
    right = next(r for r in rows if r.measure == "all: answerable, answered right")
    assert right.goal == ">= 90 %" and right.baseline_label == "plain BM25"
    assert right.value == pytest.approx(100 * ev.tally(result.builtin["tiny"]).right / 3, abs=0.1)


def test_a_few_real_cases_per_business(tmp_path):
    subset = []
    for b in BUSINESSES:
        cases = [c for c in b.cases if c.answerable][:3] + [c for c in b.cases if not c.answerable][:2]
        subset.append(ev.Business(b.key, b.name, b.entries, cases))
    with ev.BuiltIn(tmp_path) as builtin:
        for b in subset:
            builtin.add(b)
        for b in subset:
            outcomes = builtin.run(b)
            ids = {e.id for e in b.entries}
            assert all(o.reply is None or o.reply in ids for o in outcomes)
            t = ev.tally(outcomes)
            assert (t.answerable, t.unanswerable) == (3, 2)
            assert t.right + t.wrong + t.handed_off == 3 and t.unanswerable_handed_off + t.guessed == 2
            assert all(o.detail for o in outcomes)  # the score or the reason, for --failures


def test_the_same_cases_through_a_chat_model_fed_by_the_same_retrieval(tmp_path):
    """The local Chat Completions test server as the model: every prompt carries the frame, the
    customer's words and the retrieved entries; a HANDOFF answer counts as a hand-off."""
    from tests.chat_stub import ChatStub

    with ChatStub() as chat:
        chat.mode = "first_entry"
        rows = ev.evaluate_model([TINY], tmp_path, chat.base_url, "stub-model")
    by = {r.measure.removeprefix("model stub-model: "): r.value for r in rows}
    assert by["answerable, an expected entry in the prompt"] == pytest.approx(100 * 2 / 3, abs=0.1)
    assert by["answerable, answered from the right entry"] == pytest.approx(100 * 2 / 3, abs=0.1)
    # the stub answers whenever the prompt has an entry: "do you sell tea?" found none, so it handed off
    assert by["unanswerable, handed off"] >= 50
    assert len(chat.requests) == 4  # the request for a person never reaches the model
    system = chat.requests[0]["messages"][0]["content"]
    assert "reply with exactly HANDOFF" in system and "Knowledge base entries:\n[1] " in system
    assert chat.requests[0]["messages"][-1] == {"role": "user", "content": TINY.cases[0].message}
