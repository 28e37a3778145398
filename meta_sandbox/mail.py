"""The mail `make run` catches: a page listing what Keloa sent to the local SMTP server on
loopback (keloa_web/mailbox.py keeps each message as a .eml file in SANDBOX_MAIL_DIR), so that a
newcomer sees invitations, password resets and digests arrive without any mail provider.

Not part of Meta: it lives here because the sandbox is the one page of test doubles `make run`
opens beside Keloa. The folder holds only what this machine's Keloa sent; it reads files, it
never sends.
"""
import email
import email.policy
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

bp = Blueprint("mail", __name__, url_prefix="/mail")
SHOWN = 200
_NAME = re.compile(r"^\d+\.eml$")
_URL = re.compile(r"https?://[^\s<>\"']+")


def _folder() -> Path | None:
    value = current_app.extensions["meta_sandbox"].settings.get("SANDBOX_MAIL_DIR") or ""
    return Path(value) if value else None


def _read(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def _text(message) -> str:
    body = message.get_body(("plain",)) if message.is_multipart() else message
    return body.get_content() if body is not None else ""


def linked(text: str) -> Markup:
    """The plain-text body, escaped, with its web links made clickable."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out += [escape(text[last:match.start()]), Markup('<a href="{0}">{0}</a>').format(match.group(0))]
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.get("/")
def index():
    folder = _folder()
    files = sorted(folder.glob("*.eml"), reverse=True)[:SHOWN] if folder and folder.is_dir() else []
    messages = []
    for path in files:
        m = _read(path)
        messages.append({"id": path.stem, "to": m["To"], "subject": m["Subject"], "date": m["Date"]})
    return render_template("mail.html", messages=messages, folder=folder)


@bp.get("/<name>")
def show(name: str):
    folder = _folder()
    if folder is None or not _NAME.match(f"{name}.eml") or not (folder / f"{name}.eml").is_file():
        abort(404)
    m = _read(folder / f"{name}.eml")
    return render_template("mail_message.html", m={"to": m["To"], "from": m["From"], "subject": m["Subject"],
                                                     "date": m["Date"], "body": linked(_text(m))})
