"""The booking form's contact channels: both ticked on a new form; a box the person clears is
sent to the API as not chosen, a ticked one is left to the address given."""

from dataclasses import replace

from werkzeug.datastructures import MultiDict

from portal.app import create_app
from portal.views.public import _person, _person_request

PERSON = {
    "given_name": "Ana",
    "family_name": "Garcia",
    "birth_date": "1960-02-01",
    "phone": "2125550199",
    "email": "ana@example.org",
    "preferred_language": "es",
}


def person_from(form: dict, settings, tmp_path) -> dict:
    app = create_app(replace(settings, gateway_url="http://gateway.invalid"), data_dir=tmp_path)
    with app.test_request_context():
        return _person(MultiDict(form))


def test_a_new_form_has_both_channels_ticked(settings, tmp_path):
    values = person_from({}, settings, tmp_path)
    assert (values["contact_email"], values["contact_sms"]) == (True, True)


def test_a_cleared_box_is_sent_as_not_chosen(settings, tmp_path):
    posted = {**PERSON, "channels_shown": "1", "contact_email": "1"}  # texts box cleared
    sent = _person_request(person_from(posted, settings, tmp_path))
    assert sent["contact_preferences"] == {"sms": False}
    assert sent["phone"] == "2125550199" and "contact_email" not in sent


def test_ticked_boxes_send_no_preferences(settings, tmp_path):
    posted = {**PERSON, "channels_shown": "1", "contact_email": "1", "contact_sms": "1"}
    sent = _person_request(person_from(posted, settings, tmp_path))
    assert "contact_preferences" not in sent
    assert set(sent) == set(PERSON)
