"""Registry exports through the gateway: HL7 v2.5.1 VXU^V04 per recipient and as a location's
batch, parsed back and validated by hl7apy."""

from __future__ import annotations

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message


def parse(text: str):
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
    assert message.validate() is True
    return message


def test_a_recipients_vxu_carries_the_dose_as_recorded(admin, vaccinator, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    dose = admin.administer(
        location, lot["id"], recipient["id"], site="RD", route="IM", dose_volume_ml=0.3
    ).json()

    response = admin.get(f"/recipients/{recipient['id']}/hl7")

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("x-application/hl7-v2+er7")
    message = parse(response.text)
    assert message.msh.msh_9.to_er7() == "VXU^V04^VXU_V04"
    assert message.pid.pid_5.to_er7() == f"{recipient['family_name']}^Test^^^^^L"
    [order] = message.vxu_v04_order
    assert order.orc.orc_3.to_er7() == f"{dose['id']}^CVMS"
    assert order.rxa.rxa_5.rxa_5_1.value == "217"  # CVX, from inventory's catalog
    assert order.rxa.rxa_17.rxa_17_1.value == "PFR"  # MVX
    assert order.rxa.rxa_15.value == lot["lot_number"]
    assert order.rxr.rxr_1.rxr_1_1.value == "IM"
    assert order.rxr.rxr_2.rxr_2_1.value == "RD"


def test_a_locations_batch_wraps_one_vxu_per_recipient(admin, vaccinator, location):
    lot = admin.receive_lot(location, doses=10)
    for _ in range(2):
        recipient = admin.register_recipient()
        assert admin.administer(location, lot["id"], recipient["id"]).status_code == 201

    response = admin.get(
        f"/locations/{location}/administrations/hl7",
        params={"from": "2026-01-15", "to": "2026-01-15"},
    )

    assert response.status_code == 200, response.text
    segments = response.text.strip("\r").split("\r")
    assert [s[:3] for s in segments[:2]] == ["FHS", "BHS"]
    assert segments[-2:] == ["BTS|2", "FTS|1"]
    text = "\r".join(segments[2:-2])
    messages = ["MSH" + part for part in text.split("\rMSH")]
    messages[0] = messages[0][3:]
    assert len([parse(m) for m in messages]) == 2

    # Registry exports are the location managers' (and state admins') to send.
    refused = vaccinator.get(
        f"/locations/{location}/administrations/hl7",
        params={"from": "2026-01-15", "to": "2026-01-15"},
    )
    assert refused.status_code == 403
    bad = admin.get(
        f"/locations/{location}/administrations/hl7",
        params={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert bad.status_code == 400
    assert list(bad.json()["fields"]) == ["to"]
