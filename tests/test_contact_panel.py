"""The contact panel beside a thread: who the customer is, the account they wrote to, first and
last contact, their conversations on other accounts (by @username), custom attributes admins
define, and notes about the contact; on its own screen too (what a phone shows)."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import insert, select

from keloa_web.db import db, utcnow
from keloa_web.models import ContactField, ContactNote, ContactValue, User, channel_members
from tests import factories, helpers


def _customer():
    north = factories.gen_channel(db.session, display_name="Shop North")
    south = factories.gen_channel(db.session, display_name="Shop South")
    hidden = factories.gen_channel(db.session, display_name="Shop Secret", restricted=True)
    maya = factories.gen_contact(db.session, north, name="Maya <b>Lopes</b>", username="maya.lopes", follower_count=1234,
                                 is_verified_user=True, is_user_follow_business=True)
    conv = factories.gen_conversation(db.session, north, contact=maya, last_customer_ago=timedelta(hours=2))
    factories.gen_message(db.session, conv, text="first", sent_at=utcnow() - timedelta(days=40))
    elsewhere = factories.gen_conversation(db.session, south, contact=factories.gen_contact(
        db.session, south, name="Maya L.", username="maya.lopes"), status="resolved")
    secret = factories.gen_conversation(db.session, hidden, contact=factories.gen_contact(
        db.session, hidden, name="Maya", username="maya.lopes"))
    factories.gen_conversation(db.session, south, contact=factories.gen_contact(db.session, south, username="someone.else"))
    db.session.commit()
    return conv, elsewhere, secret


def test_the_panel_shows_who_the_customer_is_and_where_else_they_wrote(app, agent_client):
    conv, elsewhere, secret = _customer()
    page = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    panel = page[page.index('id="contact-panel"'):]
    assert "Maya &lt;b&gt;Lopes&lt;/b&gt;" in panel and "<b>Lopes</b>" not in panel  # escaped
    assert 'href="https://www.instagram.com/maya.lopes/"' in panel and 'rel="noopener noreferrer"' in panel
    text = unescape(re.sub(r"<[^>]+>", " ", panel))
    text = " ".join(text.split())
    assert "1,234 followers" in text and "Verified" in text and "Follows Shop North" in text
    assert "Wrote to Shop North" in text
    assert re.search(r"First contact \d\d \w{3} \d{4}", text) and "Last message" in text
    assert f'href="/inbox/c/{elsewhere.id}"' in panel and "Shop South · resolved" in text
    assert f"/inbox/c/{secret.id}" not in panel and "Shop Secret" not in panel  # an account hidden from this teammate
    assert "matched by @username" in text
    # Its own screen, which a phone opens from the thread's "Contact" link.
    assert f'href="/inbox/c/{conv.id}/contact"' in page
    screen = agent_client.get(f"/inbox/c/{conv.id}/contact").get_data(as_text=True)
    assert "Back to the conversation" in screen and 'id="contact-panel"' in screen


def test_a_username_instagram_would_not_allow_gets_no_link(app, agent_client):
    ch = factories.gen_channel(db.session)
    conv = factories.gen_conversation(db.session, ch, contact=factories.gen_contact(
        db.session, ch, username='x" onmouseover="alert(1)'))
    db.session.commit()
    panel = agent_client.get(f"/inbox/c/{conv.id}/contact").get_data(as_text=True)
    assert "instagram.com/x" not in panel and 'onmouseover="alert' not in panel


def _fields():
    db.session.add_all([ContactField(name="Shoe size", kind="number", position=1),
                        ContactField(name="Customer since", kind="date", position=2),
                        ContactField(name="Tier", kind="list", options=["Bronze", "Gold"], position=3),
                        ContactField(name="Favourite", kind="text", position=4)])
    db.session.commit()
    return {f.name: f for f in db.session.scalars(select(ContactField))}


def test_teammates_fill_in_attributes_and_a_bad_value_is_said_in_the_panel_and_kept(app, agent_client):
    conv, _, _ = _customer()
    f = _fields()
    url = f"/inbox/c/{conv.id}/contact/attributes"
    bad = {f"field-{f['Shoe size'].id}": "forty", f"field-{f['Customer since'].id}": "31/12/2026",
           f"field-{f['Tier'].id}": "Platinum", f"field-{f['Favourite'].id}": "Oat latte"}
    resp = agent_client.post(url, htmx=True, data=bad)
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert "Shoe size is a number, such as 42 or 3.5." in html and "Customer since is a date" in html
    assert "Tier: pick one of its choices" in html
    assert 'value="forty"' in html and 'value="Oat latte"' in html and html.count('aria-invalid="true"') == 3
    assert not db.session.scalars(select(ContactValue)).all()  # nothing half-saved
    good = {**bad, f"field-{f['Shoe size'].id}": "38,5", f"field-{f['Customer since'].id}": "2024-03-01",
            f"field-{f['Tier'].id}": "Gold"}
    html = agent_client.post(url, htmx=True, data=good).get_data(as_text=True)
    assert "Attributes saved." in html and 'value="38.5"' in html and 'value="2024-03-01"' in html
    assert re.search(r'<option value="Gold" selected>Gold</option>', html)
    values = dict(db.session.execute(select(ContactValue.field_id, ContactValue.value)).all())
    assert values == {f["Shoe size"].id: "38.5", f["Customer since"].id: "2024-03-01", f["Tier"].id: "Gold",
                      f["Favourite"].id: "Oat latte"}
    agent_client.post(url, htmx=True, data={**good, f"field-{f['Favourite'].id}": ""})  # emptied: cleared
    assert f["Favourite"].id not in dict(db.session.execute(select(ContactValue.field_id, ContactValue.value)).all())


def test_notes_about_a_contact_are_added_and_deleted_by_their_author_or_an_admin(app, agent_client, admin_client):
    conv, _, _ = _customer()
    url = f"/inbox/c/{conv.id}/contact/notes"
    resp = agent_client.post(url, htmx=True, data={"text": "   "})
    assert resp.status_code == 422 and "Write the note first." in resp.get_data(as_text=True)
    long = "x" * 2001
    resp = agent_client.post(url, htmx=True, data={"text": long})
    assert resp.status_code == 422 and "up to 2,000 characters; this one has 2,001" in resp.get_data(as_text=True)
    assert long in resp.get_data(as_text=True)  # the draft is kept
    html = agent_client.post(url, htmx=True, data={"text": "Prefers <i>email</i>\nAllergic to nuts"}).get_data(as_text=True)
    assert "Note added." in html and "Prefers &lt;i&gt;email&lt;/i&gt;\nAllergic to nuts" in html and "Aaron Agent" in html
    note = db.session.scalar(select(ContactNote))
    other = helpers.make_user(app, email="bo@example.com", name="Bo", role="agent")
    assert other.id
    bo = helpers.Client(app)
    bo.login("bo@example.com")
    resp = bo.post(f"/inbox/c/{conv.id}/contact/notes/{note.id}/delete", htmx=True)
    assert resp.status_code == 403 and "Only its author or an admin deletes a note." in resp.get_data(as_text=True)
    assert "Note deleted." in admin_client.post(f"/inbox/c/{conv.id}/contact/notes/{note.id}/delete",
                                                htmx=True).get_data(as_text=True)
    assert db.session.scalar(select(ContactNote)) is None
    # The same contact's note, asked for through another conversation: not found.
    other_conv = factories.gen_conversation(db.session)
    db.session.add(ContactNote(contact_id=conv.contact_id, text="kept"))
    db.session.commit()
    kept = db.session.scalar(select(ContactNote))
    assert admin_client.post(f"/inbox/c/{other_conv.id}/contact/notes/{kept.id}/delete").status_code == 404


def test_admins_define_fields_with_errors_where_typed(app, admin_client, agent_client):
    resp = admin_client.post("/contact-fields/", htmx=True, data={"name": "Tier", "kind": "list", "options": ""})
    assert resp.status_code == 422 and "A list needs its choices: one per line." in resp.get_data(as_text=True)
    assert 'value="Tier"' in resp.get_data(as_text=True)
    for data, error in [({"name": "", "kind": "text"}, "Name the field"),
                        ({"name": "X", "kind": "colour"}, "Choose what kind of value"),
                        ({"name": "x" * 41, "kind": "text"}, "up to 40 characters")]:
        resp = admin_client.post("/contact-fields/", htmx=True, data=data)
        assert resp.status_code == 422 and error in resp.get_data(as_text=True), data
    html = admin_client.post("/contact-fields/", htmx=True, data={"name": "Tier", "kind": "list",
                                                                  "options": "Bronze\n\nGold\nGold"}).get_data(as_text=True)
    assert "Added the field “Tier”" in unescape(html)
    field = db.session.scalar(select(ContactField))
    assert field.options == ["Bronze", "Gold"]
    resp = admin_client.post("/contact-fields/", htmx=True, data={"name": "tier", "kind": "text"})
    assert resp.status_code == 422 and "A field “tier” already exists." in unescape(resp.get_data(as_text=True))
    admin_client.post(f"/contact-fields/{field.id}", htmx=True, data={"name": "Level", "kind": "list", "options": "A\nB"})
    db.session.expire_all()
    assert (field.name, field.options) == ("Level", ["A", "B"])
    assert agent_client.get("/contact-fields/").status_code == 403
    assert "Deleted “Level”" in unescape(admin_client.post(f"/contact-fields/{field.id}/delete", htmx=True).get_data(as_text=True))


def test_a_teammate_without_access_sees_none_of_a_hidden_account_in_the_panel(app, admin):
    conv, _, secret = _customer()
    tess = helpers.make_user(app, email="tess@example.com", name="Tess", role="agent")
    db.session.execute(insert(channel_members).values(channel_id=secret.channel_id, user_id=tess.id))
    db.session.commit()
    client = helpers.Client(app)
    client.login("tess@example.com")
    panel = client.get(f"/inbox/c/{conv.id}/contact").get_data(as_text=True)
    assert f"/inbox/c/{secret.id}" in panel and "Shop Secret" in panel  # with access, it is listed
    assert db.session.scalar(select(User.id).where(User.email == "tess@example.com"))
