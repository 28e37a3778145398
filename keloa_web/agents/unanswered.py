"""An agent's "Unanswered questions": what it handed off for lack of knowledge, and answers a
teammate corrected, each with "Add to knowledge base" (routes on the agents blueprint; the rows
come from keloa_web/agents/gaps.py)."""
from __future__ import annotations

from flask import abort, flash, request

from keloa_web.agents import gaps
from keloa_web.agents.forms import EntryForm
from keloa_web.agents.knowledge import add_entry
from keloa_web.agents.views import bp, get_agent
from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.models import Agent, GapKind


def _ids() -> list[int]:
    raw = request.form.get("gap_ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        abort(400)
    if not ids or len(ids) > 1000 or not all(0 < i < 2**31 for i in ids):
        abort(400)
    return ids


def page(agent: Agent, status: int = 200, failed: str | None = None, failed_form: EntryForm | None = None):
    return render_page(
        "agents/unanswered.html", block="unanswered_body",
        status=status, agent=agent,
        unanswered=gaps.groups(db.session, agent.id, GapKind.UNANSWERED),
        corrected=gaps.groups(db.session, agent.id, GapKind.CORRECTED),
        failed=failed, failed_form=failed_form,
    )


@bp.get("/<int:agent_id>/unanswered")
@admin_required
def unanswered(agent_id: int):
    return page(get_agent(agent_id))


@bp.post("/<int:agent_id>/unanswered/add")
@admin_required
def unanswered_add(agent_id: int):
    agent = get_agent(agent_id)
    ids = _ids()
    form = EntryForm()
    if not form.validate_on_submit():
        flash("The entry was not added: correct the fields marked below.", "error")
        return page(agent, status=400, failed=request.form.get("gap_ids"), failed_form=form)
    if not gaps.open_ids(db.session, agent.id, ids):
        flash("Nothing was added: these questions were already closed (in another tab, or by a teammate).",
              "error")
        return page(agent, status=409)
    entry = add_entry(agent, form)
    closed = gaps.close(db.session, agent.id, ids, entry_id=entry.id)
    db.session.commit()
    flash(f"Added \u201c{entry.title}\u201d to the knowledge base; {closed} question{'' if closed == 1 else 's'} "
          "closed. The agent answers it from now on.", "success")
    return page(agent)


@bp.post("/<int:agent_id>/unanswered/dismiss")
@admin_required
def unanswered_dismiss(agent_id: int):
    agent = get_agent(agent_id)
    closed = gaps.close(db.session, agent.id, _ids())
    db.session.commit()
    flash(f"Dismissed {closed} question{'' if closed == 1 else 's'}.", "info")
    return page(agent)
