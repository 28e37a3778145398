"""Knowledge entries of one agent: add, edit, delete and search (routes on the agents blueprint)."""
from __future__ import annotations

from flask import abort, flash, request

from keloa_web.agents.forms import EntryForm
from keloa_web.agents.retrieval import prepare
from keloa_web.agents.views import bp, edit_page, get_agent
from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.models import Agent, KnowledgeEntry


def _entry(agent: Agent, entry_id: int) -> KnowledgeEntry:
    entry = db.session.get(KnowledgeEntry, entry_id)
    if entry is None or entry.agent_id != agent.id:
        abort(404)
    return entry


def add_entry(agent: Agent, form: EntryForm) -> KnowledgeEntry:
    """A new entry from a valid form, its language and vectors computed (in the caller's transaction)."""
    entry = KnowledgeEntry(agent_id=agent.id, title=form.title.data.strip(), body=form.body.data.strip(),
                           examples=form.example_text)
    prepare(entry)
    db.session.add(entry)
    db.session.flush()
    return entry


@bp.get("/<int:agent_id>/knowledge")
@admin_required
def knowledge_search(agent_id: int):
    return edit_page(get_agent(agent_id), block="knowledge_list", q=request.args.get("q", "")[:200])


@bp.post("/<int:agent_id>/knowledge")
@admin_required
def knowledge_create(agent_id: int):
    agent = get_agent(agent_id)
    form = EntryForm()
    if not form.validate_on_submit():
        return edit_page(agent, entry_form=form, block="knowledge", status=400)
    add_entry(agent, form)
    db.session.commit()
    flash(f"Added \u201c{form.title.data.strip()}\u201d.", "success")
    return edit_page(agent, block="knowledge")


@bp.post("/<int:agent_id>/knowledge/<int:entry_id>")
@admin_required
def knowledge_update(agent_id: int, entry_id: int):
    agent = get_agent(agent_id)
    entry = _entry(agent, entry_id)
    form = EntryForm()
    if not form.validate_on_submit():
        flash(f"\u201c{entry.title}\u201d was not changed: correct the fields marked below.", "error")
        return edit_page(agent, block="knowledge", status=400, editing_id=entry.id, editing_form=form)
    entry.title, entry.body, entry.examples = form.title.data.strip(), form.body.data.strip(), form.example_text
    prepare(entry)
    db.session.commit()
    flash(f"Saved \u201c{entry.title}\u201d.", "success")
    return edit_page(agent, block="knowledge")


@bp.post("/<int:agent_id>/knowledge/<int:entry_id>/delete")
@admin_required
def knowledge_delete(agent_id: int, entry_id: int):
    agent = get_agent(agent_id)
    entry = _entry(agent, entry_id)
    db.session.delete(entry)
    db.session.commit()
    flash(f"Deleted \u201c{entry.title}\u201d.", "info")
    return edit_page(agent, block="knowledge")
