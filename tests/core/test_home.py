"""The home page's "For you today": every domain's items, or a clear empty state."""

from __future__ import annotations

HX = {"HX-Request": "true"}


def test_nothing_to_do_says_so(client, make_user, login):
    login(client, make_user("patient", language="en"))
    for headers in ({}, HX):
        html = client.get("/home", headers=headers).get_data(as_text=True)
        assert "For you today" in html and "Nothing needs you today." in html


def test_french_home(client, make_user, login):
    login(client, make_user("patient", language="fr"))
    html = client.get("/home").get_data(as_text=True)
    assert "Pour vous aujourd’hui" in html and "Rien ne vous attend aujourd’hui." in html


def test_the_admin_is_shown_the_way_to_invitation_codes(client, make_user, login):
    login(client, make_user("admin", language="en"))
    html = client.get("/home").get_data(as_text=True)
    assert 'href="/accounts/invitations"' in html and "Nothing needs you" not in html


def test_an_access_request_waits_for_the_patient_on_home(app, client, make_user, login):
    from webapp.circle import services as circle

    patient = make_user("patient", language="en")
    pro = make_user("professional", display_name="Dr Who", language="en")
    with app.app_context():
        circle.request_access(pro, patient, "messages", "")
    login(client, patient)
    html = client.get("/home").get_data(as_text=True)
    assert "Dr Who asks for access to your space: accept or decline?" in html
    assert 'class="home-item home-item--alert"' in html


def test_unread_messages_lead_to_the_unread_list(app, client, make_user, login):
    from webapp.chat import services as chat

    reader = make_user("professional", language="en")
    writer = make_user("professional", display_name="Dr Writer", language="en")
    with app.test_request_context():
        conversation = chat.start_conversation(writer, patient=None, member_ids=[reader.id],
                                               subject="Handover")
        chat.post_message(writer, conversation, "Patient in room 4", "home-test-1")
    login(client, reader)
    html = client.get("/home").get_data(as_text=True)
    assert '<a href="/chat/?filter=unread">1 unread message</a>' in html
