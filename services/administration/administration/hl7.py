"""Immunization registry exports as HL7 v2.5.1 VXU^V04 messages, following the CDC's HL7 2.5.1
Implementation Guide for Immunization Messaging (profile Z22): MSH, PID, PD1 (reminder/recall
consent, which CVMS records), then per dose ORC, RXA (CVX, MVX, lot, volume) and RXR (route and
site). NK1 is left out: CVMS records no next of kin. Messages are built and validated with hl7apy;
a batch wraps one message per recipient in FHS/BHS ... BTS/FTS, as the guide's batch protocol
does.

Every value taken from a record is escaped (HL7 escape sequences), so a name containing a
delimiter cannot change the message's structure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from administration.models import VOIDED, Administration, KnownLot, Product, Recipient
from administration.schemas import RACES, phone_digits
from cvms_platform.codes import ADMINISTRATION_ROUTES, ADMINISTRATION_SITES, ETHNICITIES, label
from cvms_platform.timeutil import as_utc, utcnow

VERSION = "2.5.1"
SENDING_APPLICATION = "CVMS"
PROFILE = "Z22^CDCPHINVS"  # the CDC's VXU profile
UNKNOWN_AMOUNT = "999"  # RXA-6 when the volume given is not known (CDC guide)
LANGUAGES = {"en": "eng^English^ISO6392", "es": "spa^Spanish^ISO6392"}
SEGMENT_END = "\r"


def escape(value) -> str:
    """A value as HL7 text: delimiters replaced by their escape sequences."""
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def timestamp(value: datetime) -> str:
    return as_utc(value).strftime("%Y%m%d%H%M%S+0000")


def day(value: date) -> str:
    return value.strftime("%Y%m%d")


def vxu(
    session: Session,
    recipient: Recipient,
    doses: Iterable[Administration],
    *,
    sending_facility: str = SENDING_APPLICATION,
    now: datetime | None = None,
) -> Message:
    """One VXU^V04 for a recipient and the doses given; validated (strict) before it is
    returned."""
    message = Message("VXU_V04", version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    _header(message, sending_facility, now or utcnow())
    _patient(message, recipient)
    for dose in doses:
        _order(
            message,
            dose,
            session.get(Product, dose.product_id),
            session.get(KnownLot, dose.lot_id),
        )
    message.validate()
    return message


def _header(message: Message, facility: str, now: datetime) -> None:
    msh = message.msh
    msh.msh_3 = SENDING_APPLICATION
    msh.msh_4 = escape(facility)
    msh.msh_7 = timestamp(now)
    msh.msh_9 = "VXU^V04^VXU_V04"
    msh.msh_10 = uuid.uuid4().hex[:20]
    msh.msh_11 = "P"
    msh.msh_12 = VERSION
    msh.msh_15 = "ER"  # accept acknowledgment: on error only
    msh.msh_16 = "AL"  # application acknowledgment: always
    msh.msh_21 = PROFILE


def _patient(message: Message, recipient: Recipient) -> None:
    pid = message.pid
    pid.pid_1 = "1"
    pid.pid_3 = f"{escape(recipient.id)}^^^{SENDING_APPLICATION}^MR"
    pid.pid_5 = f"{escape(recipient.family_name)}^{escape(recipient.given_name)}^^^^^L"
    pid.pid_7 = day(recipient.birth_date)
    if recipient.sex:
        pid.pid_8 = recipient.sex
    if recipient.race:
        pid.pid_10 = f"{recipient.race}^{escape(RACES[recipient.race])}^CDCREC"
    if recipient.address_line1:
        pid.pid_11 = "^".join(
            escape(part)
            for part in (
                recipient.address_line1,
                recipient.address_line2,
                recipient.city,
                recipient.state,
                recipient.postal_code,
                "USA",
                "H",
            )
        )
    digits = phone_digits(recipient.phone)
    if len(digits) == 10:
        phone = pid.add_field("PID_13")
        phone.value = f"^PRN^PH^^^{digits[:3]}^{digits[3:]}"
    if recipient.email:
        email = pid.add_field("PID_13")
        email.value = f"^NET^X.400^{escape(recipient.email)}"
    pid.pid_15 = LANGUAGES.get(recipient.preferred_language or "en", LANGUAGES["en"])
    if recipient.ethnicity:
        pid.pid_22 = f"{recipient.ethnicity}^{escape(ETHNICITIES[recipient.ethnicity])}^CDCREC"
    # Reminder/recall consent (HL7 table 0215) is what the registration form's contact
    # preferences record.
    wants_reminders = any(
        (recipient.contact_email, recipient.contact_sms, recipient.contact_phone)
    ) or bool(recipient.contact_mail)
    message.pd1.pd1_11 = (
        "02^Reminder/Recall - any method^HL70215"
        if wants_reminders
        else "01^No reminder/recall^HL70215"
    )


def _order(
    message: Message, dose: Administration, product: Product | None, lot: KnownLot | None
) -> None:
    order = message.add_group("VXU_V04_ORDER")
    order.orc.orc_1 = "RE"
    order.orc.orc_3 = f"{escape(dose.id)}^{SENDING_APPLICATION}"
    order.orc.orc_10 = f"{escape(dose.recorded_by_user_id or '')}^{escape(dose.recorded_by)}"
    rxa = order.rxa
    rxa.rxa_1 = "0"
    rxa.rxa_2 = "1"
    rxa.rxa_3 = timestamp(dose.administered_at)
    rxa.rxa_4 = timestamp(dose.administered_at)
    if product is not None:
        rxa.rxa_5 = f"{escape(product.cvx_code)}^{escape(product.name)}^CVX"
    else:
        rxa.rxa_5 = f"^{escape(dose.product_id)}"
    volume = dose.dose_volume_ml or (product.dose_volume_ml if product is not None else None)
    rxa.rxa_6 = f"{volume:g}" if volume else UNKNOWN_AMOUNT
    if volume:
        rxa.rxa_7 = "mL^milliliters^UCUM"
    rxa.rxa_9 = "00^New immunization record^NIP001"
    rxa.rxa_10 = f"^{escape(dose.performer_name or dose.recorded_by)}"
    rxa.rxa_11 = f"^^^{escape(dose.location_id)}"
    rxa.rxa_15 = escape(dose.lot_number)
    if lot is not None:
        rxa.rxa_16 = day(lot.expiration_date)
    if product is not None:
        rxa.rxa_17 = f"{escape(product.mvx_code)}^{escape(product.manufacturer)}^MVX"
    rxa.rxa_20 = "CP"
    # A: added; U: updated (corrected since); D: deleted (voided, entered in error).
    rxa.rxa_21 = "D" if dose.status == VOIDED else ("U" if dose.history else "A")
    # RXR-1 (route) is required in RXR: a site without a route cannot be sent.
    if dose.route:
        rxr = order.add_segment("RXR")
        route = escape(label(ADMINISTRATION_ROUTES, dose.route))
        rxr.rxr_1 = f"{dose.route}^{route}^HL70162"
        if dose.site:
            site = escape(label(ADMINISTRATION_SITES, dose.site))
            rxr.rxr_2 = f"{dose.site}^{site}^HL70163"


def batch(messages: list[Message], *, facility: str, now: datetime | None = None) -> str:
    """Messages in one batch file: FHS, BHS, the messages, BTS (message count), FTS (1 batch)."""
    stamp = timestamp(now or utcnow())
    control = uuid.uuid4().hex[:20]
    sender = f"{SENDING_APPLICATION}|{escape(facility)}"
    lines = [
        f"FHS|^~\\&|{sender}|||{stamp}||||{control}",
        f"BHS|^~\\&|{sender}|||{stamp}||||{control}",
    ]
    lines += [message.to_er7().rstrip(SEGMENT_END) for message in messages]
    lines += [f"BTS|{len(messages)}", "FTS|1"]
    return SEGMENT_END.join(lines) + SEGMENT_END


def single(message: Message) -> str:
    return message.to_er7() + SEGMENT_END


def recipient_export(session: Session, recipient: Recipient) -> str:
    """The recipient's VXU with every dose recorded for them (voided ones as deleted)."""
    doses = session.scalars(
        select(Administration)
        .where(Administration.recipient_id == recipient.id)
        .options(selectinload(Administration.history))
        .order_by(Administration.administered_at, Administration.dose_number)
    ).all()
    return single(vxu(session, recipient, doses))


def location_export(session: Session, location_id: str, date_from: date, date_to: date) -> str:
    """A batch of one VXU per recipient with the doses given at the location from `date_from`
    to `date_to` (inclusive, UTC days)."""
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    doses = session.scalars(
        select(Administration)
        .where(
            Administration.location_id == location_id,
            Administration.administered_at >= start,
            Administration.administered_at < end,
        )
        .options(selectinload(Administration.history))
        .order_by(Administration.recipient_id, Administration.administered_at)
    ).all()
    by_recipient: dict[str, list[Administration]] = {}
    for dose in doses:
        by_recipient.setdefault(dose.recipient_id, []).append(dose)
    recipients = {
        r.id: r
        for r in session.scalars(select(Recipient).where(Recipient.id.in_(list(by_recipient))))
    }
    messages = [
        vxu(session, recipients[recipient_id], given, sending_facility=location_id)
        for recipient_id, given in by_recipient.items()
    ]
    return batch(messages, facility=location_id)
