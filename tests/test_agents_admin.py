"""The agents admin pages: create, edit, knowledge, Try it, errors, secrets and access."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Agent, KnowledgeEntry
from tests.factories import gen_agent, gen_channel, gen_entry

SETTINGS = {"name": "Coffee helper", "instructions": "Be warm.", "handoff_keywords": "human, manager",
            "quiet_minutes": "30", "min_score": "0.5", "backend": "knowledge_base", "base_url": "", "model": "",
            "api_key": "", "temperature": "0.3", "timeout_seconds": "20"}


def test_non_admins_get_403_everywhere(agent_client):
    agent = gen_agent(db.session, name="Private")
    db.session.commit()
    assert agent_client.get("/agents/").status_code == 403
    assert agent_client.get(f"/agents/{agent.id}").status_code == 403
    assert agent_client.post("/agents/", data={"name": "x"}).status_code == 403
    assert agent_client.post(f"/agents/{agent.id}/try", data={"message": "hi"}).status_code == 403
    assert agent_client.post(f"/agents/{agent.id}/knowledge", data={"title": "t", "body": "b"}).status_code == 403


def test_create_agent_then_it_is_listed(admin_client):
    resp = admin_client.post("/agents/", data={"name": "Coffee helper"})
    assert resp.status_code == 302
    agent = db.session.scalar(select(Agent))
    assert resp.headers["Location"].endswith(f"/agents/{agent.id}")
    assert agent.backend == "knowledge_base"
    page = admin_client.get("/agents/").get_data(as_text=True)
    assert "Coffee helper" in page and "Knowledge base" in page
    form = admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)
    assert '="None"' not in form and 'autocomplete="None"' not in form  # no Python None leaks into the markup


def test_create_agent_without_name_says_so(admin_client):
    resp = admin_client.post("/agents/", data={"name": "  "}, htmx=True)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "<html" not in body and "Give the agent a name." in body


def test_settings_errors_are_clear_and_keep_what_was_typed(admin_client):
    agent = gen_agent(db.session, name="Helper")
    db.session.commit()
    data = dict(SETTINGS, name="x" * 121, min_score="7", instructions="Keep this text", backend="openai",
                base_url="ftp://nowhere", model="")
    resp = admin_client.post(f"/agents/{agent.id}", data=data, htmx=True)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    assert "Field cannot be longer than 120 characters." in body
    assert "Between 0 and 1." in body
    assert "starting with http:// or https://" in body
    assert "A chat model needs a model name" in body
    assert "Keep this text" in body
    db.session.refresh(agent)
    assert agent.name == "Helper" and agent.backend == "knowledge_base"


def test_a_new_base_url_needs_the_api_key_again(admin_client):
    agent = gen_agent(db.session, name="Model")
    db.session.commit()
    data = dict(SETTINGS, name="Model", backend="openai", base_url="https://api.openai.com/v1", model="m",
                api_key="sk-stored-key")
    assert admin_client.post(f"/agents/{agent.id}", data=data).status_code == 200
    db.session.refresh(agent)
    stored = agent.api_key_enc

    moved = dict(data, name="Renamed", base_url="https://collector.example/v1", api_key="")
    resp = admin_client.post(f"/agents/{agent.id}", data=moved, htmx=True)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert ("Enter the API key again: the base URL changed, and the stored key is not sent to a new address."
            in body)
    assert "Nothing was saved" in body
    assert 'value="https://collector.example/v1"' in body and 'value="Renamed"' in body  # kept as typed
    db.session.refresh(agent)
    assert (agent.name, agent.base_url, agent.api_key_enc) == ("Model", "https://api.openai.com/v1", stored)

    # The same address (a trailing slash aside) keeps the key; a new address with its key saves.
    assert admin_client.post(f"/agents/{agent.id}", data=dict(data, base_url="https://api.openai.com/v1/",
                                                               api_key="")).status_code == 200
    assert admin_client.post(f"/agents/{agent.id}", data=dict(moved, api_key="sk-new-key")).status_code == 200
    db.session.refresh(agent)
    assert agent.base_url == "https://collector.example/v1" and agent.api_key_enc != stored
    assert agent.name == "Renamed"


def test_api_key_is_encrypted_and_never_shown(admin_client):
    agent = gen_agent(db.session, name="Model")
    db.session.commit()
    secret = "sk-test-very-secret-key-123"
    data = dict(SETTINGS, name="Model", backend="openai", base_url="http://127.0.0.1:9/v1", model="m", api_key=secret)
    resp = admin_client.post(f"/agents/{agent.id}", data=data)
    assert resp.status_code == 200 and secret not in resp.get_data(as_text=True)
    db.session.refresh(agent)
    assert agent.api_key_enc and secret not in agent.api_key_enc
    page = admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)
    assert secret not in page and agent.api_key_enc not in page
    assert "A key is set: type a new one to replace it" in page
    # Saving again with the field empty keeps the key; the checkbox removes it.
    admin_client.post(f"/agents/{agent.id}", data=dict(data, api_key=""))
    db.session.refresh(agent)
    assert agent.api_key_enc
    admin_client.post(f"/agents/{agent.id}", data=dict(data, api_key="", clear_api_key="y"))
    db.session.refresh(agent)
    assert agent.api_key_enc is None


def test_knowledge_add_search_edit_delete(admin_client):
    agent = gen_agent(db.session, name="KB")
    db.session.commit()
    resp = admin_client.post(f"/agents/{agent.id}/knowledge", htmx=True,
                             data={"title": "Opening hours", "body": "We open every day from 8am to 6pm."})
    assert resp.status_code == 200 and "Opening hours" in resp.get_data(as_text=True)
    admin_client.post(f"/agents/{agent.id}/knowledge", data={"title": "Shipping", "body": "We ship to Spain."})
    found = admin_client.get(f"/agents/{agent.id}/knowledge?q=spain", htmx=True).get_data(as_text=True)
    assert "Shipping" in found and "Opening hours" not in found and "<html" not in found
    assert "No entry mentions" in admin_client.get(f"/agents/{agent.id}/knowledge?q=bikes", htmx=True).get_data(as_text=True)
    entry = db.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == "Shipping"))
    bad = admin_client.post(f"/agents/{agent.id}/knowledge/{entry.id}", data={"title": "Shipping!", "body": ""},
                            htmx=True)
    assert bad.status_code == 400
    assert "Write the answer or article text." in bad.get_data(as_text=True)
    assert "Shipping!" in bad.get_data(as_text=True)  # what was typed is still there
    admin_client.post(f"/agents/{agent.id}/knowledge/{entry.id}", data={"title": "Shipping", "body": "Spain and Portugal."})
    db.session.refresh(entry)
    assert entry.body == "Spain and Portugal."
    entry_id = entry.id
    admin_client.post(f"/agents/{agent.id}/knowledge/{entry_id}/delete")
    assert db.session.get(KnowledgeEntry, entry_id) is None


def test_knowledge_entry_missing_or_oversize_fields(admin_client):
    agent = gen_agent(db.session, name="KB")
    db.session.commit()
    resp = admin_client.post(f"/agents/{agent.id}/knowledge", data={"title": "", "body": "x" * 20001}, htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Give the entry a title or question." in body and "cannot be longer than 20000" in body
    assert db.session.scalar(select(KnowledgeEntry)) is None


def test_try_it_answers_from_knowledge_and_explains_handoffs(admin_client):
    agent = gen_agent(db.session, name="KB", handoff_keywords="human, manager")
    gen_entry(db.session, agent, "Opening hours", "We open every day from 8am to 6pm.")
    gen_entry(db.session, agent, "Shipping", "We ship to Spain and Portugal within 3 days.")
    gen_entry(db.session, agent, "Returns", "You can return any item within 30 days.")
    db.session.commit()
    url = f"/agents/{agent.id}/try"
    body = admin_client.post(url, data={"message": "Hi! When do you open?"}, htmx=True).get_data(as_text=True)
    assert "The agent would reply" in body and "We open every day from 8am to 6pm." in body
    assert "Opening hours" in body and "<html" not in body
    body = admin_client.post(url, data={"message": "Do you sell bicycles?"}, htmx=True).get_data(as_text=True)
    assert "The agent would hand off to a teammate" in body
    body = admin_client.post(url, data={"message": "I want to talk to a manager"}, htmx=True).get_data(as_text=True)
    assert "hand-off keyword" in body and "manager" in body
    resp = admin_client.post(url, data={"message": ""}, htmx=True)
    assert resp.status_code == 400 and "Type a sample customer message." in resp.get_data(as_text=True)


def test_delete_agent_keeps_its_channels_without_ai(admin_client):
    agent = gen_agent(db.session, name="Old")
    gen_entry(db.session, agent, "t", "b")
    channel = gen_channel(db.session, agent_id=agent.id, ai_enabled=True)
    db.session.commit()
    resp = admin_client.post(f"/agents/{agent.id}/delete")
    assert resp.status_code == 302
    assert db.session.scalar(select(Agent)) is None and db.session.scalar(select(KnowledgeEntry)) is None
    db.session.refresh(channel)
    assert channel.agent_id is None
