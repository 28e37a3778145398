"""Labels: admins manage the set, everyone puts them on conversations, the list and thread show
them, and the inbox filters by them."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Conversation, Label
from tests import factories

HX = {"HX-Request": "true"}


def _labels(*names_colors):
    out = []
    for name, color in names_colors:
        label = Label(name=name, color=color)
        db.session.add(label)
        out.append(label)
    db.session.commit()
    return out


def test_admins_add_rename_and_delete_labels_with_errors_where_typed(admin_client, app):
    resp = admin_client.post("/labels/", headers=HX, data={"name": "VIP", "color": "purple"})
    assert "Added the label “VIP”." in resp.get_data(as_text=True)
    for data, error in [({"name": "", "color": "red"}, "Give the label a name"),
                        ({"name": "vip", "color": "red"}, "A label “vip” already exists."),
                        ({"name": "Refund", "color": "url(javascript:x)"}, "Not a valid choice")]:
        resp = admin_client.post("/labels/", headers=HX, data=data)
        assert resp.status_code == 400 and error in resp.get_data(as_text=True), data
    label = db.session.scalar(select(Label))
    admin_client.post(f"/labels/{label.id}", headers=HX, data={"name": "VIP customer", "color": "green"})
    db.session.refresh(label)
    assert (label.name, label.color) == ("VIP customer", "green")
    assert "Deleted “VIP customer”" in admin_client.post(f"/labels/{label.id}/delete", headers=HX).get_data(as_text=True)


def test_teammates_apply_labels_but_do_not_manage_them(agent_client, app):
    vip, refund = _labels(("VIP", "purple"), ("Refund", "red"))
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    assert agent_client.get("/labels/").status_code == 403
    assert agent_client.post("/labels/", data={"name": "X", "color": "red"}).status_code == 403
    html = agent_client.post(f"/inbox/c/{conv.id}/labels", htmx=True, data={"label": [str(vip.id), str(refund.id)]}
                             ).get_data(as_text=True)
    assert 'id="thread-labels"' in html and '<span class="label label-purple">VIP</span>' in html
    db.session.expire_all()
    assert sorted(l.name for l in db.session.get(Conversation, conv.id).labels) == ["Refund", "VIP"]
    agent_client.post(f"/inbox/c/{conv.id}/labels", htmx=True, data={"label": [str(refund.id)]})
    db.session.expire_all()
    assert [l.name for l in db.session.get(Conversation, conv.id).labels] == ["Refund"]
    for bad in ("99999", "abc", "9" * 30):
        resp = agent_client.post(f"/inbox/c/{conv.id}/labels", htmx=True, data={"label": [bad]})
        assert resp.status_code == 422 and "A label you ticked was deleted meanwhile" in resp.get_data(as_text=True)


def test_the_list_shows_labels_and_filters_by_one(agent_client, app):
    (vip,) = _labels(("VIP", "purple"))
    channel = factories.gen_channel(db.session)
    tagged = factories.gen_conversation(db.session, channel, factories.gen_contact(db.session, channel, name="Maya"))
    factories.gen_conversation(db.session, channel, factories.gen_contact(db.session, channel, name="Leo"))
    tagged.labels = [vip]
    db.session.commit()
    page = agent_client.get("/inbox").get_data(as_text=True)
    assert 'aria-label="Label"' in page and "Maya" in page and "Leo" in page
    filtered = agent_client.get(f"/inbox?label={vip.id}").get_data(as_text=True)
    assert "Maya" in filtered and "Leo" not in filtered
    assert f'id="conv-{tagged.id}"' in filtered and '<span class="label label-purple">VIP</span>' in filtered


def test_a_label_name_is_escaped(admin_client, app):
    admin_client.post("/labels/", headers=HX, data={"name": "<b>x</b>", "color": "red"})
    html = admin_client.get("/labels/").get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_labels_need_a_user(client, app):
    conv = factories.gen_conversation(db.session)
    db.session.commit()
    assert client.get("/labels/").status_code in (302, 401)
    assert client.post(f"/inbox/c/{conv.id}/labels", data={"label": "1"}).status_code in (302, 400, 401)
