"""The Reports page (admins see the team; a teammate sees their own figures on the accounts they may
see), its CSV exports, and a conversation's transcript export (CSV or JSON) from the thread."""
from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, request
from flask_login import current_user
from sqlalchemy import select

from keloa_web import access
from keloa_web.db import db
from keloa_web.describe import describe
from keloa_web.htmx import render_page
from keloa_web.ids import parse_id
from keloa_web.inbox.snooze import reader_zone
from keloa_web.models import Channel, Label, Message, User
from keloa_web.reports import charts, measures, periods

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _zone():
    return reader_zone(current_user.time_zone or request.args.get("tz"))


def _filter() -> tuple[measures.Filter | None, periods.Period | None, str | None, dict]:
    args = request.args
    zone = _zone()
    chosen = {"period": args.get("period", "30d"), "from": args.get("from", ""), "to": args.get("to", ""),
              "account": args.get("account", ""), "label": args.get("label", ""), "teammate": args.get("teammate", "")}
    if chosen["from"] and chosen["to"] and chosen["period"] != "custom":
        chosen["period"] = "custom"  # days typed in mean those days, whatever the menu still says
    try:
        period = periods.resolve(chosen["period"], zone, chosen["from"], chosen["to"])
    except periods.PeriodError as exc:
        return None, None, str(exc), chosen
    visible = access.visible_channel_ids(db.session, current_user.id)
    f = measures.Filter(start=period.start, end=period.end, zone=zone, channel_ids=visible,
                        channel_id=parse_id(chosen["account"]), label_id=parse_id(chosen["label"]),
                        user_id=parse_id(chosen["teammate"]))
    if not current_user.is_admin:
        f.user_id = current_user.id  # a teammate's own figures
    chosen["period"] = period.key
    return f, period, None, chosen


def _options() -> dict:
    visible = access.visible_channel_ids(db.session, current_user.id)
    accounts = db.session.scalars(select(Channel).order_by(Channel.id)).all()
    return {"accounts": [c for c in accounts if visible is None or c.id in visible],
            "labels": db.session.scalars(select(Label).order_by(Label.name)).all(),
            "teammates": db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
            if current_user.is_admin else []}


@bp.get("/")
def index():
    f, period, error, chosen = _filter()
    report = measures.compute(db.session, f) if f is not None else None
    chart = {}
    if report is not None:
        chart["opened"] = charts.bars([(d, o) for d, o, _ in report.per_day], "Conversations opened per day")
        chart["incoming"] = charts.line([(d, n) for d, _, n in report.per_day], "Customer messages per day")
        chart["heatmap"] = charts.heatmap(report.heatmap, measures.DAYS,
                                          "Customer messages by weekday and hour")
    return render_page("reports/index.html", status=400 if error else 200, report=report, period=period,
                       error=error, chosen=chosen, presets=periods.PRESETS, chart=chart, humane=measures.humane,
                       days=measures.DAYS, **_options())


def _csv(rows: list[list], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _cell(value):
    """A spreadsheet never runs what a customer wrote: a cell starting like a formula is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/<any(summary, days, teammates, hours, handoffs):table>.csv")
def export(table: str):
    f, period, error, _chosen = _filter()
    if error:
        return Response(error, status=400, mimetype="text/plain")
    r = measures.compute(db.session, f)
    name = f"keloa-{table}-{period.first}-{period.last}.csv"
    if table == "days":
        return _csv([["day", "conversations opened", "customer messages"], *r.per_day], name)
    if table == "teammates":
        return _csv([["teammate", "replies"], *r.replies_by], name)
    if table == "hours":
        return _csv([["weekday", *[f"{h:02d}" for h in range(24)]],
                     *[[measures.DAYS[d], *row] for d, row in enumerate(r.heatmap)]], name)
    if table == "handoffs":
        return _csv([["reason", "hand-offs"], *r.handoff_reasons], name)
    secs = lambda d: int(d.total_seconds()) if d is not None else ""  # noqa: E731
    return _csv([
        ["measure", "value"],
        ["conversations opened", r.opened], ["customer messages", r.messages_in], ["messages sent", r.messages_out],
        ["first response median (s)", secs(r.first_response.median)], ["first response p90 (s)", secs(r.first_response.p90)],
        ["resolutions", r.resolved], ["resolution median (s)", secs(r.resolution.median)],
        ["resolution p90 (s)", secs(r.resolution.p90)], ["AI replies", r.ai_replies], ["AI hand-offs", r.handoffs],
        ["AI answers corrected", r.ai_corrected], ["hand-offs after an AI answer", r.ai_then_handoff],
        ["first answered within 24 h", r.window_in_24h], ["answered only with a Human agent reply", r.window_human_agent],
        ["unanswered until the window closed", r.window_lost], ["waiting, window still open", r.window_waiting],
        ["failed sends", r.sends_failed], ["unknown sends", r.sends_unknown],
    ], name)


@bp.get("/transcript/<int:conv_id>.<any(csv, json):fmt>")
def transcript(conv_id: int, fmt: str):
    """Every message and note of one conversation, oldest first (the reader must see its account)."""
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    messages = db.session.scalars(select(Message).where(Message.conversation_id == conv.id)
                                  .order_by(Message.sent_at, Message.id)).all()
    names = dict(db.session.execute(select(User.id, User.name)).all())
    rows = [{"sent_at": m.sent_at.isoformat() + "Z", "direction": m.direction, "author": _author(m, conv, names),
             "kind": m.kind, "text": describe(m), "status": m.status,
             "deleted": m.deleted} for m in messages]
    base = f"keloa-conversation-{conv.id}"
    if fmt == "json":
        return Response(json.dumps({"conversation": conv.id, "customer": conv.contact.label, "messages": rows},
                                   ensure_ascii=False, indent=1), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{base}.json"',
                                 "Cache-Control": "no-store"})
    return _csv([list(rows[0].keys()) if rows else ["sent_at"], *[list(r.values()) for r in rows]], f"{base}.csv")


def _author(m: Message, conv, names: dict) -> str:
    if m.author_type == "customer":
        return conv.contact.label
    if m.author_type == "user":
        return names.get(m.author_user_id, "a teammate")
    return {"ai": "AI agent", "instagram": "Instagram app", "system": "Keloa"}.get(m.author_type, m.author_type)

