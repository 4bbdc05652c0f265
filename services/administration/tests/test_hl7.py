"""HL7 v2.5.1 VXU^V04 exports (CDC IIS guide), parsed back and validated by hl7apy."""

from datetime import UTC, datetime, timedelta

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from cvms_platform.errors import InvalidInput, NotFound

from .conftest import ADDRESS, registration_form


def parse(text: str):
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
    assert message.validate() is True
    return message


def split_batch(text: str) -> tuple[list[str], list[str]]:
    """The batch's envelope segments and its messages (each from its MSH)."""
    envelope, messages = [], []
    for segment in text.strip("\r").split("\r"):
        kind = segment[:3]
        if kind in ("FHS", "BHS", "BTS", "FTS"):
            envelope.append(segment)
        elif kind == "MSH":
            messages.append(segment)
        else:
            messages[-1] += "\r" + segment
    return envelope, messages


@pytest.fixture
def registered(service) -> dict:
    """A recipient whose family name holds HL7 delimiters, with no second address line."""
    form = registration_form(
        family_name="Love|lace^", address=ADDRESS, contact_preferences={"sms": True}
    )
    return service.register_recipient(form)["recipient"]


def test_a_recipients_doses_make_one_valid_vxu(service, registered, lot, make_dose):
    first = make_dose(registered, lot, days_ago=30, site="LD", route="IM", performer_name="Pat")
    second = make_dose(registered, lot)
    service.record_administration(first, "nurse-1", False, "user-1")
    service.record_administration(second, "nurse-2")

    message = parse(service.recipient_hl7(registered["id"]))

    msh = message.msh
    assert msh.msh_9.to_er7() == "VXU^V04^VXU_V04"
    assert (msh.msh_12.value, msh.msh_21.to_er7()) == ("2.5.1", "Z22^CDCPHINVS")
    pid = message.pid
    assert pid.pid_3.to_er7() == f"{registered['id']}^^^CVMS^MR"
    # Delimiters in a name are escaped, never structure.
    assert pid.pid_5.to_er7() == "Love\\F\\lace\\S\\^Ada^^^^^L"
    assert (pid.pid_7.value, pid.pid_8.value) == ("19901210", "F")
    assert pid.pid_10.to_er7() == "2106-3^White^CDCREC"
    assert pid.pid_11.to_er7() == "12 Analytical Way^^Springfield^IL^62701^USA^H"
    assert [t.to_er7() for t in pid.pid_13] == [
        "^PRN^PH^^^217^5550134",
        "^NET^X.400^ada@example.org",
    ]
    assert pid.pid_15.to_er7() == "spa^Spanish^ISO6392"
    assert pid.pid_22.to_er7() == "2186-5^Not Hispanic or Latino^CDCREC"
    assert message.pd1.pd1_11.to_er7() == "02^Reminder/Recall - any method^HL70215"

    orders = message.vxu_v04_order
    assert len(orders) == 2
    order = orders[0]
    assert (order.orc.orc_1.value, order.orc.orc_3.to_er7()) == ("RE", f"{first['id']}^CVMS")
    assert order.orc.orc_10.to_er7() == "user-1^nurse-1"
    rxa = order.rxa
    given_at = datetime.fromisoformat(first["administered_at"]).astimezone(UTC)
    assert rxa.rxa_3.value == given_at.strftime("%Y%m%d%H%M%S+0000")
    assert rxa.rxa_5.to_er7() == "217^Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)^CVX"
    assert (rxa.rxa_6.value, rxa.rxa_7.to_er7()) == ("0.3", "mL^milliliters^UCUM")
    assert rxa.rxa_9.to_er7() == "00^New immunization record^NIP001"
    assert rxa.rxa_10.to_er7() == "^Pat"
    assert rxa.rxa_15.value == "FK5127"
    assert rxa.rxa_16.value == lot["expiration_date"].replace("-", "")
    assert rxa.rxa_17.to_er7() == "PFR^Pfizer, Inc^MVX"
    assert (rxa.rxa_20.value, rxa.rxa_21.value) == ("CP", "A")
    assert order.rxr.rxr_1.to_er7() == "IM^Intramuscular^HL70162"
    assert order.rxr.rxr_2.to_er7() == "LD^Left Deltoid^HL70163"
    # The second dose has no route or site recorded: no RXR made up.
    assert [s.name for s in orders[1].children] == ["ORC", "RXA"]


def test_voided_and_corrected_doses_say_so_in_rxa_21(service, registered, lot, make_dose):
    voided, corrected = make_dose(registered, lot, days_ago=40), make_dose(registered, lot)
    service.record_administration(voided, "nurse-1")
    service.record_administration(corrected, "nurse-1")
    service.void_administration(voided["id"], {"reason": "Wrong person."}, "mgr")
    service.correct_administration(corrected["id"], {"site": "RD", "reason": "Misread."}, "mgr")

    message = parse(service.recipient_hl7(registered["id"]))

    assert [o.rxa.rxa_21.value for o in message.vxu_v04_order] == ["D", "U"]


def test_a_location_batch_has_one_message_per_recipient_in_the_range(
    service, registered, recipient, lot, make_lot, make_dose
):
    elsewhere = make_lot(location_id="clinic-2")
    service.record_administration(make_dose(registered, lot), "nurse-1")
    service.record_administration(make_dose(registered, lot, days_ago=60), "nurse-1")  # earlier
    service.record_administration(make_dose(recipient, lot), "nurse-1")
    service.inventory.get_lot.return_value = elsewhere
    service.record_administration(make_dose(recipient, elsewhere, days_ago=1), "nurse-1")
    today = datetime.now(UTC).date()

    text = service.location_hl7_batch(
        "clinic-1", (today - timedelta(days=7)).isoformat(), today.isoformat()
    )

    envelope, messages = split_batch(text)
    assert [segment[:3] for segment in envelope] == ["FHS", "BHS", "BTS", "FTS"]
    # FHS-1 is the field separator itself, as in MSH: FHS-3 and FHS-4 say who sends.
    fhs = envelope[0].split("|")
    assert (fhs[1], fhs[2], fhs[3]) == ("^~\\&", "CVMS", "clinic-1")
    assert envelope[2] == "BTS|2"
    parsed = [parse(m) for m in messages]
    assert sorted(m.pid.pid_3.pid_3_1.value for m in parsed) == sorted(
        [registered["id"], recipient["id"]]
    )
    # Only doses at clinic-1 within the range.
    assert [len(m.vxu_v04_order) for m in parsed] == [1, 1]


def test_an_empty_range_is_an_empty_batch(service):
    envelope, messages = split_batch(
        service.location_hl7_batch("clinic-1", "2026-01-01", "2026-01-31")
    )
    assert (messages, envelope[2]) == ([], "BTS|0")


def test_a_bad_range_or_unknown_recipient_is_refused(service):
    with pytest.raises(InvalidInput) as refused:
        service.location_hl7_batch("clinic-1", "2026-02-01", "2026-01-01")
    assert "date_to" in refused.value.errors
    with pytest.raises(InvalidInput):
        service.location_hl7_batch("clinic-1", "2024-01-01", "2026-01-01")
    with pytest.raises(NotFound):
        service.recipient_hl7("no-such-recipient")
