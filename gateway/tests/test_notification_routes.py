"""Staff see the messages about an appointment of their location (state and masked address,
from notifications), and nothing of another location's."""

import uuid

from cvms_platform.errors import NotFound

APPOINTMENT = str(uuid.uuid4())
MESSAGE = {
    "id": str(uuid.uuid4()),
    "message_type": "appointment_booked",
    "channel": "email",
    "state": "sent",
    "masked_address": "a***@example.org",
    "language": "es",
    "attempts": 1,
    "created_at": "2030-03-01T12:00:00+00:00",
    "sent_at": "2030-03-01T12:00:01+00:00",
    "last_error": None,
}


def test_staff_see_an_appointments_messages(client, rpc, login):
    rpc.answer("scheduling.appointment_history", {"id": APPOINTMENT})
    rpc.answer("notifications.messages_about", [MESSAGE])
    path = f"/api/v1/locations/demo-clinic/appointments/{APPOINTMENT}/messages"

    response = client.get(path, headers=login("clinic.vaccinator"))

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"messages": [MESSAGE]}
    assert ("notifications.messages_about", (APPOINTMENT,)) in rpc.calls
    assert ("scheduling.appointment_history", ("demo-clinic", APPOINTMENT)) in rpc.calls


def test_an_appointment_of_another_location_shows_nothing(client, rpc, login, directory_db):
    directory_db.add_location("other-clinic")
    path = f"/api/v1/locations/other-clinic/appointments/{APPOINTMENT}/messages"
    assert client.get(path, headers=login("clinic.vaccinator")).status_code == 403
    rpc.answer("scheduling.appointment_history", NotFound("no such appointment here"))
    path = f"/api/v1/locations/demo-clinic/appointments/{APPOINTMENT}/messages"
    assert client.get(path, headers=login("clinic.vaccinator")).status_code == 404
    assert not [call for call in rpc.calls if call[0].startswith("notifications.")]
