"""The placeholders of a saved reply, filled for one conversation when a teammate inserts it."""
from __future__ import annotations

import re

from keloa_web.models import Channel, Contact, User

PLACEHOLDERS = {
    "first_name": "the customer's first name (else their @username, else \u201cthere\u201d)",
    "agent_name": "your name",
    "account": "the Instagram account the customer wrote to",
}
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def unknown(text: str) -> list[str]:
    """Placeholders in `text` Keloa does not fill (a typo like {{firstname}})."""
    return [name for name in dict.fromkeys(_PLACEHOLDER.findall(text)) if name not in PLACEHOLDERS]


def fill(text: str, contact: Contact | None, channel: Channel | None, user: User) -> str:
    first = ((contact.name or "").split() or [""])[0] if contact is not None else ""
    if not first and contact is not None and contact.username:
        first = f"@{contact.username}"
    values = {"first_name": first or "there", "agent_name": user.name.split()[0] if user.name else "",
              "account": channel.label if channel is not None else ""}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
