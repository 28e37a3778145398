"""A teammate's notification preferences: which events, which sound, desktop notifications, and
email when away. Kept as JSON on the user; anything missing takes the default (everything on)."""
from __future__ import annotations

from dataclasses import dataclass, field

from keloa_web.models import NotificationKind, User

EVENTS = {  # kind -> what the Settings page calls it
    NotificationKind.NEW_CONVERSATION: "A new conversation (on an account I see)",
    NotificationKind.ASSIGNED_MESSAGE: "A new message in a conversation assigned to me",
    NotificationKind.MENTION: "Someone mentions me in an internal note",
    NotificationKind.HANDOFF: "The AI hands a conversation to a person",
    NotificationKind.FAILED_REPLY: "A reply I sent (or the AI's) failed",
}
SOUNDS = {"chime": "Chime", "pop": "Pop", "off": "No sound"}


@dataclass
class Prefs:
    events: set[str] = field(default_factory=lambda: set(EVENTS))
    sound: str = "chime"
    desktop: bool = True
    email: bool = True

    def as_json(self) -> dict:
        return {"events": sorted(self.events), "sound": self.sound, "desktop": self.desktop, "email": self.email}


def of(user: User) -> Prefs:
    raw = user.notify_prefs or {}
    prefs = Prefs()
    if isinstance(raw.get("events"), list):
        prefs.events = {e for e in raw["events"] if e in EVENTS}
    if raw.get("sound") in SOUNDS:
        prefs.sound = raw["sound"]
    for key in ("desktop", "email"):
        if isinstance(raw.get(key), bool):
            setattr(prefs, key, raw[key])
    return prefs


def from_form(form) -> Prefs:
    return Prefs(events={e for e in form.getlist("events") if e in EVENTS},
                 sound=form.get("sound") if form.get("sound") in SOUNDS else "chime",
                 desktop=form.get("desktop") == "1", email=form.get("email") == "1")
