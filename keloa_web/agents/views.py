"""AI agents for admins: list, create, edit, delete, and "Try it" without sending anything."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from sqlalchemy import func, or_, select

from keloa_web import crypto
from keloa_web.agents import embeddings, language
from keloa_web.agents.backends import MIN_MARGIN, Answer, generate, retrieve
from keloa_web.agents.forms import AgentForm, EntryForm, NewAgentForm, TryForm
from keloa_web.agents.rules import wants_human
from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import hx_redirect, is_htmx, render_page
from keloa_web.models import Agent, Channel, KnowledgeEntry, KnowledgeGap
from keloa_web.models.agents import DEFAULT_DISCLOSURE

bp = Blueprint("agents", __name__, url_prefix="/agents")
ENTRIES_SHOWN = 200


def get_agent(agent_id: int) -> Agent:
    return db.session.get(Agent, agent_id) or abort(404)


def _index_page(form: NewAgentForm, status: int = 200):
    entries = dict(db.session.execute(
        select(KnowledgeEntry.agent_id, func.count()).group_by(KnowledgeEntry.agent_id)).all())
    channels: dict[int, list[Channel]] = {}
    for channel in db.session.scalars(select(Channel).where(Channel.agent_id.is_not(None))):
        channels.setdefault(channel.agent_id, []).append(channel)
    agents = db.session.scalars(select(Agent).order_by(func.lower(Agent.name))).all()
    return render_page("agents/index.html", block="agents_body", status=status, agents=agents, form=form,
                       entries=entries, channels=channels)


def entries_for(agent: Agent, q: str = "") -> list[KnowledgeEntry]:
    stmt = select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent.id)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(KnowledgeEntry.title.ilike(like), KnowledgeEntry.body.ilike(like)))
    return db.session.scalars(stmt.order_by(func.lower(KnowledgeEntry.title)).limit(ENTRIES_SHOWN)).all()


def open_gaps(agent: Agent) -> int:
    return db.session.scalar(select(func.count()).where(KnowledgeGap.agent_id == agent.id,
                                                        KnowledgeGap.closed_at.is_(None))) or 0


def edit_page(agent: Agent, *, form: AgentForm | None = None, entry_form: EntryForm | None = None,
              try_form: TryForm | None = None, result=None, block: str | list[str] | None = None,
              status: int = 200, q: str = "", **extra):
    return render_page(
        "agents/edit.html", block=block, status=status, agent=agent,
        form=form or AgentForm(obj=agent, formdata=None), entry_form=entry_form or EntryForm(formdata=None),
        try_form=try_form or TryForm(formdata=None), result=result, entries=entries_for(agent, q), q=q,
        entry_count=db.session.scalar(select(func.count()).where(KnowledgeEntry.agent_id == agent.id)),
        channels=db.session.scalars(select(Channel).where(Channel.agent_id == agent.id)).all(),
        default_disclosure=DEFAULT_DISCLOSURE, semantic_ready=embeddings.available(), min_margin=MIN_MARGIN,
        language_names=language.NAMES, open_gaps=open_gaps(agent), **extra,
    )


@bp.get("/")
@admin_required
def index():
    return _index_page(NewAgentForm(formdata=None))


@bp.post("/")
@admin_required
def agent_create():
    form = NewAgentForm()
    if not form.validate_on_submit():
        return _index_page(form, status=400)
    agent = Agent(name=form.name.data.strip())
    db.session.add(agent)
    db.session.commit()
    flash(f"Agent \u201c{agent.name}\u201d created. Add knowledge entries, then attach it to a channel "
          "under Integrations.", "success")
    if is_htmx():
        return hx_redirect("agents.agent_edit", agent_id=agent.id)
    return redirect(url_for("agents.agent_edit", agent_id=agent.id))


@bp.get("/<int:agent_id>")
@admin_required
def agent_edit(agent_id: int):
    return edit_page(get_agent(agent_id))


def _key_stays_with_its_address(agent: Agent, form: AgentForm) -> bool:
    """A stored API key is only sent to the base URL it was entered for: a new base URL needs the
    key typed again (or removed), else the key would go to whatever server the URL names."""
    new_url = (form.base_url.data or "").strip().rstrip("/")
    old_url = (agent.base_url or "").rstrip("/")
    if agent.api_key_enc and new_url and new_url != old_url and not form.api_key.data \
            and not form.clear_api_key.data:
        form.api_key.errors.append("Enter the API key again: the base URL changed, and the stored key is not "
                                   "sent to a new address.")
        return False
    return True


@bp.post("/<int:agent_id>")
@admin_required
def agent_update(agent_id: int):
    agent = get_agent(agent_id)
    form = AgentForm()
    valid = form.validate_on_submit()
    if not (_key_stays_with_its_address(agent, form) and valid):
        flash("Nothing was saved: correct the fields marked below.", "error")
        return edit_page(agent, form=form, block="agent_settings", status=400)
    for name in ("instructions", "handoff_keywords", "quiet_minutes", "min_score", "backend", "temperature",
                 "timeout_seconds", "disclose"):
        setattr(agent, name, getattr(form, name).data)
    agent.disclosure_text = (form.disclosure_text.data or "").strip() or None
    agent.name = form.name.data.strip()
    agent.base_url = (form.base_url.data or "").strip() or None
    agent.model = (form.model.data or "").strip() or None
    if form.api_key.data:
        agent.api_key_enc = crypto.encrypt(form.api_key.data.strip())
    elif form.clear_api_key.data:
        agent.api_key_enc = None
    db.session.commit()
    flash("Agent saved.", "success")
    return edit_page(agent, block="agent_settings")


@bp.post("/<int:agent_id>/delete")
@admin_required
def agent_delete(agent_id: int):
    agent = get_agent(agent_id)
    name = agent.name
    db.session.delete(agent)  # channels keep running without AI (agent_id SET NULL)
    db.session.commit()
    flash(f"Agent \u201c{name}\u201d deleted. Channels it served no longer answer with AI.", "info")
    if is_htmx():
        return hx_redirect("agents.index")
    return redirect(url_for("agents.index"))


@bp.post("/<int:agent_id>/try")
@admin_required
def agent_try(agent_id: int):
    agent = get_agent(agent_id)
    form = TryForm()
    if not form.validate_on_submit():
        return edit_page(agent, try_form=form, block="try_box", status=400)
    keyword = wants_human(agent, form.message.data)
    candidates = []
    if keyword:
        result = Answer(handoff=f"The message contains the hand-off keyword \u201c{keyword}\u201d: the AI stays "
                                "quiet and flags the conversation for a teammate.")
    else:
        question, candidates, parts = retrieve(db.session, agent, form.message.data.strip())
        with db.released():  # never wait for the model while holding a database lock
            result = generate(agent, question, [], candidates, parts=parts)
    return edit_page(agent, try_form=form, result=result, candidates=candidates, block="try_box")


from keloa_web.agents import knowledge, unanswered  # noqa: E402,F401  (register their routes on bp)
