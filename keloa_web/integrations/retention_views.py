"""An account's data retention page: how long its conversations (or only their media) are kept.
Saving shows first what the setting would delete at once (the dry run of
keloa_web/operations/retention.py), and asks to confirm when anything would go."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.integrations.views import bp, get_channel
from keloa_web.models import RetentionScope
from keloa_web.operations import retention


def _page(channel, status=200, **extra):
    context = {"days": "" if channel.retention_days is None else channel.retention_days,
               "scope": channel.retention_scope, "error": None, "preview": None} | extra
    return render_template("integrations/retention.html", channel=channel, max_days=retention.MAX_DAYS,
                           **context), status


@bp.get("/channels/<int:channel_id>/retention")
@admin_required
def retention_show(channel_id: int):
    return _page(get_channel(channel_id))


@bp.post("/channels/<int:channel_id>/retention")
@admin_required
def retention_save(channel_id: int):
    channel = get_channel(channel_id)
    raw, scope = request.form.get("days", "").strip(), request.form.get("scope", "")
    if scope not in tuple(RetentionScope):
        scope = RetentionScope.CONVERSATIONS
    if raw == "":
        channel.retention_days = None
        db.session.commit()
        flash(f"{channel.label} keeps its conversations and media until you delete them.", "success")
        return redirect(url_for("integrations.retention_show", channel_id=channel.id))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= retention.MAX_DAYS:
        return _page(channel, 400, days=raw, scope=scope,
                     error=f"Enter a number of days from 1 to {retention.MAX_DAYS}, or leave it empty to keep everything.")
    days = int(raw)
    preview = retention.preview(db.session, channel, days, scope)
    nothing = not (preview.conversations or preview.files)
    if not nothing and request.form.get("confirmed") != f"{days}:{scope}":
        return _page(channel, 200, days=days, scope=scope, preview=preview)
    channel.retention_days, channel.retention_scope = days, scope
    db.session.commit()
    what = "media files" if scope == RetentionScope.MEDIA else "conversations"
    now = ""
    if not nothing:
        try:
            retention.purge_now.enqueue(channel.id)
            now = "; what is older now is being deleted"
        except Exception:  # noqa: BLE001 - Redis down: the daily run does it
            now = "; what is older now goes at its next daily run"
    flash(f"{channel.label} keeps {what} for {days} day{'' if days == 1 else 's'}. The worker deletes what is older once a day{now}.", "success")
    return redirect(url_for("integrations.retention_show", channel_id=channel.id))
