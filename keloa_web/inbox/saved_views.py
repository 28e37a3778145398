"""Saved views: a named set of inbox filters in the sidebar, with how many conversations are in it
now (counted with the list's own conditions, so a view and its list never disagree).

Pages render the views' names; their counts come in a request of their own (`GET /inbox/views`),
made when the page loads and again whenever the live poll finds a change (it answers with the
`keloa-changes` event), so neither a page nor an idle poll pays for counting."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from keloa_web.inbox.queries import Filters, conditions
from keloa_web.models import Conversation, SavedView

MAX_VIEWS = 30


@dataclass
class Shown:
    view: SavedView
    filters: Filters
    count: int | None  # None: not counted (pages show the names; the counts come in their own request)

    @property
    def args(self) -> dict:
        return self.filters.as_args()


def query_of(filters: Filters) -> str:
    return urlencode(sorted(filters.as_args().items()))


def filters_of(view: SavedView) -> Filters:
    return Filters.from_args(dict(parse_qsl(view.query)))


def visible(session: Session, user_id: int) -> list[SavedView]:
    return session.scalars(select(SavedView).where(or_(SavedView.owner_id.is_(None), SavedView.owner_id == user_id))
                           .order_by(SavedView.owner_id.is_not(None), func.lower(SavedView.name))
                           .limit(MAX_VIEWS)).all()


def shown(session: Session, user_id: int, count: bool = False) -> list[Shown]:
    out = []
    for view in visible(session, user_id):
        filters = filters_of(view)
        n = session.scalar(select(func.count()).select_from(Conversation)
                           .where(*conditions(filters, user_id, session))) or 0 if count else None
        out.append(Shown(view, filters, n))
    return out
