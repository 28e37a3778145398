"""A channel's ice breakers: the questions Instagram offers a customer who opens a new chat.

Saved at Meta with `POST /me/messenger_profile?platform=instagram` (Page token), removed with
`DELETE … fields=["ice_breakers"]`; a question a customer taps arrives as a postback whose title is
the question, which the inbox shows and the AI agent answers like any question.
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.graph import GraphError, for_channel
from keloa_web.htmx import is_htmx, render_page
from keloa_web.describe import ICE_BREAKER_PAYLOAD
from keloa_web.integrations.views import bp, get_channel

MAX_QUESTIONS = 4  # Meta: "A maximum of 4 questions can be set"
MAX_LENGTH = 80
PAYLOAD = ICE_BREAKER_PAYLOAD + "{n}"


def _page(channel, questions: list[str], error: str | None = None, status: int = 200, bad: int | None = None):
    return render_page("integrations/ice_breakers.html", block="ice_breakers", channel=channel, questions=questions,
                       error=error, max_length=MAX_LENGTH, status=status, bad=bad)


@bp.get("/channels/<int:channel_id>/ice-breakers")
@admin_required
def ice_breakers_show(channel_id: int):
    channel = get_channel(channel_id)
    saved = [b["question"] for b in channel.ice_breakers or []]
    return _page(channel, saved + [""] * (MAX_QUESTIONS - len(saved)))


@bp.post("/channels/<int:channel_id>/ice-breakers")
@admin_required
def ice_breakers_save(channel_id: int):
    channel = get_channel(channel_id)
    typed = [(request.form.get(f"q{i}") or "").strip() for i in range(MAX_QUESTIONS)]
    questions = [q for q in typed if q]
    too_long = next((q for q in questions if len(q) > MAX_LENGTH), None)
    if too_long:
        return _page(channel, typed, f"Question {typed.index(too_long) + 1} is {len(too_long)} characters; Instagram "
                                     f"shows at most {MAX_LENGTH}. Nothing was saved.", 422, bad=typed.index(too_long))
    if len(set(questions)) != len(questions):
        return _page(channel, typed, "Two questions are the same. Nothing was saved.", 422)
    api = for_channel(channel)
    breakers = [{"question": q, "payload": PAYLOAD.format(n=i + 1)} for i, q in enumerate(questions)]
    try:
        with db.released():
            if breakers:
                api.post("me/messenger_profile", platform="instagram", json={
                    "platform": "instagram", "ice_breakers": [{"call_to_actions": breakers, "locale": "default"}]})
            else:
                api.delete("me/messenger_profile", platform="instagram", fields='["ice_breakers"]')
    except GraphError as exc:
        db.session.rollback()
        return _page(channel, typed, f"Instagram refused the ice breakers: {exc.message}. Nothing was changed.", 422)
    channel.ice_breakers = breakers or None
    db.session.commit()
    message = (f"Saved {len(breakers)} ice breaker{'' if len(breakers) == 1 else 's'} for @{channel.ig_username}."
               if breakers else f"Removed the ice breakers of @{channel.ig_username}.")
    flash(message, "success")
    if is_htmx():
        return _page(channel, [b["question"] for b in breakers] + [""] * (MAX_QUESTIONS - len(breakers)))
    return redirect(url_for("integrations.ice_breakers_show", channel_id=channel.id))
