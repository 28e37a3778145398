"""Retrieval as customers write in DMs: their language, chat filler, and words that tell intent."""
from __future__ import annotations

from keloa_web.agents import language
from keloa_web.agents.backends import answer
from keloa_web.agents.retrieval import search
from keloa_web.db import db
from keloa_web.models import Agent
from tests.factories import gen_agent, gen_entry

SHIPPING_COST = ("UK: Royal Mail Tracked 48, £3.95, free on orders over £50. Europe: £7.50, free over £90. "
                 "USA, Canada, Australia and New Zealand: £12, free over £120.")
WHERE_WE_SHIP = ("We send our jewellery to the UK, every EU country, Norway, Switzerland, the USA, Canada, "
                 "Australia and New Zealand. Sorry, we can't currently send to Latin America, Asia or Africa.")
WIFI = ("Free Wi-Fi; the password is printed on your receipt. Laptops are welcome on weekdays. On Saturdays "
        "and Sundays we ask you to keep laptops closed between 10:00 and 15:00.")
PARKING = ("Não temos estacionamento próprio. O parque mais próximo é o da Praça da Figueira, a 5 minutos a pé. "
           "As bicicletas podem ficar no suporte em frente à porta.")
CAKES = ("Fazemos bolos de aniversário por encomenda, com pelo menos 72 horas de antecedência: bolo de chocolate "
         "ou de cenoura, 8 fatias €28, 12 fatias €38.")


def _agent(*entries: tuple[str, str]) -> Agent:
    agent = gen_agent(db.session, name="Shop")
    for title, body in entries:
        gen_entry(db.session, agent, title, body)
    db.session.commit()
    return db.session.get(Agent, agent.id)


def _shop() -> Agent:
    return _agent(
        ("Shipping costs", SHIPPING_COST),
        ("Where we ship", WHERE_WE_SHIP),
        ("Returns", "Send it back unworn within 30 days of delivery for a refund; return postage is yours."),
        ("Gift wrapping", "Every order comes in a recycled box; add gift wrap and a handwritten note for £3."),
    )


def _cafe() -> Agent:
    return _agent(
        ("Opening hours", "Tuesday to Friday 8:00-18:00, Saturday and Sunday 9:00-19:00. Closed on Mondays."),
        ("Wi-Fi and laptops", WIFI),
        ("Dogs", "Dogs are welcome on the terrace and inside; we bring a bowl of water."),
        ("Estacionamento", PARKING),
        ("Encomendas de bolos", CAKES),
    )


def test_language_detection_of_messages_and_entries():
    assert language.detect("quanto custa o envio para portugal?") == "pt"
    assert language.detect("cuánto cuesta el envío a españa?") == "es"
    assert language.detect("how much is shipping to the us?") == "en"
    assert language.of_entry(f"Estacionamento\n{PARKING}") == "pt"


def test_portuguese_question_answered_from_portuguese_entry(app):
    agent = _cafe()
    result = answer(db.session, agent, "vocês têm estacionamento?")
    assert result.text == PARKING
    result = answer(db.session, agent, "fazem bolos de aniversário?")
    assert result.text == CAKES


def test_portuguese_question_never_answered_from_an_english_entry(app):
    """No setting lets the agent answer a Portuguese question in English: with no Portuguese entry
    on the subject it hands off, even when an English entry shares a word ("laptops")."""
    agent = _cafe()
    hits = search(db.session, agent.id, "posso trabalhar com o meu laptop aí durante a tarde?")
    assert all(h.title in ("Estacionamento", "Encomendas de bolos") for h in hits)
    assert answer(db.session, agent, "posso trabalhar com o meu laptop aí durante a tarde?").handoff


def test_how_much_picks_the_cost_entry_over_where_we_ship(app):
    agent = _shop()
    hits = search(db.session, agent.id, "how much is shipping to the us?")
    assert hits[0].title == "Shipping costs"
    assert answer(db.session, agent, "how much is shipping to the us?").text == SHIPPING_COST
    # ...and a question about where still goes to where.
    assert search(db.session, agent.id, "do you ship to norway?")[0].title == "Where we ship"


def test_chat_filler_does_not_lower_the_confidence(app):
    agent = _cafe()
    result = answer(db.session, agent, "whats ur wifi password pls")
    assert result.text == WIFI
    assert answer(db.session, agent, "hiii quick q, whats the wifi password roughly? thx").text == WIFI


def test_a_question_no_entry_answers_is_still_handed_off(app):
    agent = _cafe()
    for question in ("do you sell tea leaves to take home?", "hiii do u guys have a loyalty card pls",
                     "quanto custa um bilhete de comboio?", "hola!"):
        result = answer(db.session, agent, question)
        assert result.text is None and result.handoff, question


def test_several_questions_in_one_message_are_matched_one_by_one(app):
    agent = _shop()
    question = "hi! can i send a necklace back if i dont like it and do you do gift wrap with a handwritten note?"
    assert answer(db.session, agent, question).text is not None
