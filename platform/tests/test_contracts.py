import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cvms_platform import contracts
from cvms_platform.contracts import CONTRACTS, latest, new_event, parse, to_wire
from cvms_platform.errors import ContractViolation

from .conftest import lot_received_payload


def dose_administered_payload(**overrides):
    payload = {
        "administration_id": str(uuid.uuid4()),
        "recipient_id": str(uuid.uuid4()),
        "location_id": "demo-clinic",
        "lot_id": str(uuid.uuid4()),
        "product_id": "pfizer-gray-12plus",
        "lot_number": "FK1234",
        "dose_number": 1,
        "administered_at": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    }
    payload.update(overrides)
    return payload


def wire_lot_received(**payload_overrides):
    return to_wire(
        new_event("lot_received", lot_received_payload(**payload_overrides), correlation_id="c-1")
    )


# -- new_event -----------------------------------------------------------------------------------
def test_new_event_uses_the_latest_contract_and_dumps_the_payload_to_json_form():
    payload = lot_received_payload()
    event = new_event("lot_received", payload, correlation_id="req-1")

    assert event.type == "lot_received"
    assert event.version == latest("lot_received").version == 1
    assert event.source == "inventory"
    assert event.correlation_id == "req-1"
    assert event.payload["expiration_date"] == "2030-01-31"
    assert event.payload["lot_id"] == payload["lot_id"]
    uuid.UUID(event.id)
    assert event.occurred_at.tzinfo is not None


def test_new_event_ids_are_unique():
    first = new_event("lot_received", lot_received_payload(), correlation_id="c")
    second = new_event("lot_received", lot_received_payload(), correlation_id="c")
    assert first.id != second.id


# The services that publish or consume events; a contract naming anything else is a typo that
# would leave its events unroutable.
PUBLISHERS = {
    "inventory",
    "administration",
    "scheduling",
    "identity",
    "marketplace",
    "helpdesk",
    "gateway",
}
CONSUMERS = {"inventory", "administration", "scheduling", "notifications", "marketplace"}


def test_every_contract_is_owned_by_a_service():
    for (event_type, version), contract in CONTRACTS.items():
        assert contract.source in PUBLISHERS, event_type
        assert set(contract.subscribers) <= CONSUMERS, event_type
        assert contract.source not in contract.subscribers, event_type
        assert (contract.type, contract.version) == (event_type, version)
    assert {"lot_received", "dose_administered", "administration_voided"} <= {
        t for t, _ in CONTRACTS
    }
    event = new_event("dose_administered", dose_administered_payload(), correlation_id="c")
    assert event.source == "administration"


def test_each_publishers_module_holds_the_contracts_of_its_events_only():
    owners = {
        contracts.inventory: "inventory",
        contracts.administration: "administration",
        contracts.scheduling: "scheduling",
        contracts.identity: "identity",
        contracts.marketplace: "marketplace",
        contracts.helpdesk: "helpdesk",
        contracts.gateway: "gateway",
    }
    for module, source in owners.items():
        assert {contract.source for contract in module.CONTRACTS} == {source}, module.__name__
    assert len(CONTRACTS) == sum(len(module.CONTRACTS) for module in owners)


@pytest.mark.parametrize(
    "overrides",
    [
        {"lot_id": "not-a-uuid"},
        {"doses": 0},
        {"doses_on_hand": -1},
        {"lot_number": ""},
        {"location_id": "x" * 65},
        {"doses": "many"},
        {"expiration_date": "2030-01-31"},  # a date, not its text
        {"expiration_date": None},
    ],
    ids=lambda o: next(iter(o)) + "=" + repr(next(iter(o.values())))[:12],
)
def test_new_event_refuses_a_payload_that_breaks_the_contract(overrides):
    with pytest.raises(ValueError):
        new_event("lot_received", lot_received_payload(**overrides), correlation_id="c")


def test_new_event_refuses_a_missing_field():
    payload = lot_received_payload()
    del payload["doses"]
    # One payload's errors as they are, not keyed by a batch index.
    with pytest.raises(ValueError, match=r"breaks its contract: \{'doses'"):
        new_event("lot_received", payload, correlation_id="c")


def test_new_event_refuses_a_naive_timestamp():
    naive = dose_administered_payload(administered_at=datetime(2025, 3, 1, 9, 30))
    with pytest.raises(ValueError):
        new_event("dose_administered", naive, correlation_id="c")


def test_new_event_for_an_unknown_type_is_a_key_error():
    with pytest.raises(KeyError):
        new_event("vial_dropped", {}, correlation_id="c")


# -- to_wire / parse ------------------------------------------------------------------------------
def test_to_wire_then_parse_round_trips():
    event = new_event("lot_received", lot_received_payload(), correlation_id="req-9")
    wire = to_wire(event)

    assert set(wire) == {
        "id",
        "type",
        "version",
        "occurred_at",
        "source",
        "correlation_id",
        "payload",
    }
    assert isinstance(wire["occurred_at"], str)

    parsed = parse(wire, source="inventory", event_type="lot_received")
    assert parsed.id == event.id
    assert parsed.type == event.type
    assert parsed.version == event.version
    assert parsed.source == event.source
    assert parsed.correlation_id == "req-9"
    assert parsed.occurred_at == event.occurred_at
    # the payload comes back loaded: typed values, not their JSON text
    assert parsed.payload["lot_id"] == uuid.UUID(event.payload["lot_id"])
    assert parsed.payload["expiration_date"] == date(2030, 1, 31)
    assert parsed.payload["doses"] == 60


def test_parse_keeps_a_non_utc_offset_as_an_aware_datetime():
    wire = wire_lot_received()
    wire["occurred_at"] = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))).isoformat()
    parsed = parse(wire, source="inventory", event_type="lot_received")
    assert parsed.occurred_at == datetime(2025, 1, 1, 17, tzinfo=UTC)


@pytest.mark.parametrize("body", [None, "text", 42, ["a", "list"], b"{}"])
def test_parse_refuses_a_body_that_is_not_an_object(body):
    with pytest.raises(ContractViolation, match="not a JSON object"):
        parse(body, source="inventory", event_type="lot_received")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda w: w.pop("id"),
        lambda w: w.update(id="not-a-uuid"),
        lambda w: w.pop("payload"),
        lambda w: w.update(payload="not an object"),
        lambda w: w.update(version="1"),  # strict: a string is not a version
        lambda w: w.update(version=0),
        lambda w: w.pop("correlation_id"),
        lambda w: w.update(correlation_id=""),
        lambda w: w.update(occurred_at="2025-01-01T00:00:00"),  # naive
        lambda w: w.update(occurred_at="yesterday"),
        lambda w: w.update(unexpected="field"),
    ],
    ids=[
        "no-id",
        "bad-id",
        "no-payload",
        "payload-not-object",
        "version-string",
        "version-zero",
        "no-correlation-id",
        "empty-correlation-id",
        "naive-occurred-at",
        "bad-occurred-at",
        "unknown-field",
    ],
)
def test_parse_refuses_a_bad_envelope(mutate):
    wire = wire_lot_received()
    mutate(wire)
    with pytest.raises(ContractViolation, match="bad envelope"):
        parse(wire, source="inventory", event_type="lot_received")


def test_parse_refuses_an_event_of_another_type():
    wire = wire_lot_received()
    with pytest.raises(ContractViolation, match="expected inventory/inventory_adjusted"):
        parse(wire, source="inventory", event_type="inventory_adjusted")


def test_parse_refuses_an_event_from_another_source():
    wire = wire_lot_received()
    wire["source"] = "administration"
    with pytest.raises(ContractViolation, match="expected inventory/lot_received"):
        parse(wire, source="inventory", event_type="lot_received")


def test_parse_refuses_an_unknown_version():
    wire = wire_lot_received()
    wire["version"] = 2
    with pytest.raises(ContractViolation, match="unknown contract lot_received v2"):
        parse(wire, source="inventory", event_type="lot_received")


@pytest.mark.parametrize(
    "payload_change",
    [
        {"doses": -3},
        {"doses": "60"},  # strict integers on the way in
        {"lot_id": "nope"},
        {"expiration_date": "31/01/2030"},
    ],
)
def test_parse_refuses_a_payload_that_breaks_the_contract(payload_change):
    wire = wire_lot_received()
    wire["payload"].update(payload_change)
    with pytest.raises(ContractViolation, match="payload breaks lot_received v1"):
        parse(wire, source="inventory", event_type="lot_received")


def test_parse_refuses_a_payload_missing_a_field():
    wire = wire_lot_received()
    del wire["payload"]["shipment_id"]
    with pytest.raises(ContractViolation, match="shipment_id"):
        parse(wire, source="inventory", event_type="lot_received")


def test_latest_for_an_unknown_type():
    with pytest.raises(KeyError):
        latest("nothing")
    assert contracts.latest("dose_administered").schema is not None
