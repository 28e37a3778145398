"""The sandbox's Mail page: what Keloa sent to `make run`'s local SMTP server (a real one on
loopback, keeping .eml files), listed newest first and shown with its links clickable and
everything else escaped."""
import smtplib
from email.message import EmailMessage

from keloa_web.mailbox import Mailbox
from meta_sandbox import create_app


def _send(box: Mailbox, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Keloa <keloa@localhost>", to, subject
    message.set_content(text)
    message.add_alternative(f"<p>{text}</p>", subtype="html")
    with smtplib.SMTP(box.host, box.port) as smtp:
        smtp.send_message(message)


def test_the_mail_page_lists_what_arrived_and_shows_it_with_working_links(tmp_path):
    folder = tmp_path / "mail"
    with Mailbox(folder=folder) as box:
        _send(box, "tess@example.com", "Olivia Owner invites you to Keloa",
              "Open this link to choose your name:\n\nhttp://127.0.0.1:5000/invite/abc-123\n\n<b>not bold</b>")
        _send(box, "owner@example.com", "Choose a new Keloa password", "http://127.0.0.1:5000/reset/xyz")
        box.wait_for(2)
    client = create_app({"SANDBOX_MAIL_DIR": str(folder)}).test_client()
    page = client.get("/mail/").get_data(as_text=True)
    assert page.index("Choose a new Keloa password") < page.index("Olivia Owner invites you to Keloa")  # newest first
    name = sorted(p.stem for p in folder.glob("*.eml"))[0]
    shown = client.get(f"/mail/{name}").get_data(as_text=True)
    assert '<a href="http://127.0.0.1:5000/invite/abc-123">http://127.0.0.1:5000/invite/abc-123</a>' in shown
    assert "&lt;b&gt;not bold&lt;/b&gt;" in shown and "<b>not bold" not in shown
    assert "to tess@example.com" in shown
    assert client.get("/mail/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/mail/123").status_code == 404


def test_without_a_mail_folder_the_page_says_how_to_get_one():
    page = create_app({}).test_client().get("/mail/").get_data(as_text=True)
    assert "No mail folder is set (<code>SANDBOX_MAIL_DIR</code>)" in page
