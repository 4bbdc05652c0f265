"""A case's life through the service's RPCs: filed, routed by the rules, answered, noted,
pending, resolved, reopened, closed; what the requester sees; service levels."""

import pytest
from prometheus_client import REGISTRY

from cvms_platform.errors import Conflict, InvalidInput, NotFound
from helpdesk.models import Case, CaseEntry

from .conftest import ADMIN, AGENT, ANA, BEN, form


def events(read, event_type=None):
    return [e for e in read.events(event_type)]


def breaches(kind: str, priority: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "cvms_helpdesk_sla_breaches_total", {"kind": kind, "priority": priority}
        )
        or 0.0
    )


@pytest.fixture
def inventory_team(service):
    service.create_team(
        ADMIN,
        {
            "id": "inventory",
            "name": "Inventory",
            "agent_ids": ["agent-1", "agent-2"],
            "round_robin": True,
        },
    )
    service.create_rule(ADMIN, {"topic": "inventory_and_ordering", "team_id": "inventory"})
    return "inventory"


def test_a_case_goes_to_the_default_team_when_no_rule_names_one(service, read):
    case = service.file_case(ANA, form())
    assert case["status"] == "new"
    assert case["reference"].startswith("HD-")
    assert service.case(case["id"])["team_id"] == "general"
    assert [e["type"] for e in read.events()] == ["case_created", "case_routed"]
    created = read.events("case_created")[0]["payload"]
    # Ids and codes only on the bus: no summary, description or organization.
    assert set(created) == {
        "case_id",
        "requester_id",
        "requester_type",
        "topic",
        "priority",
        "language",
    }


def test_the_most_specific_rule_wins_and_round_robin_takes_turns(service, read, inventory_team):
    service.create_team(ADMIN, {"id": "spanish", "name": "Español"})
    service.create_rule(
        ADMIN, {"topic": "inventory_and_ordering", "language": "es", "team_id": "spanish"}
    )
    first = service.file_case(ANA, form())
    second = service.file_case(ANA, form())
    spanish = service.file_case(ANA, form(language="es"))
    other = service.file_case(ANA, form(topic="scheduling"))
    teams = {c["id"]: service.case(c["id"]) for c in (first, second, spanish, other)}
    assert teams[first["id"]]["team_id"] == "inventory"
    assert [teams[first["id"]]["assignee_id"], teams[second["id"]]["assignee_id"]] == [
        "agent-1",
        "agent-2",
    ]
    assert service.file_case(ANA, form())["id"]  # and back to agent-1
    assert teams[spanish["id"]]["team_id"] == "spanish"
    assert teams[other["id"]]["team_id"] == "general"
    routed = read.events("case_routed")[0]["payload"]
    assert routed["team_id"] == "inventory" and routed["rule_id"]


def test_a_requester_sees_only_their_own_cases(service):
    mine = service.file_case(ANA, form())
    service.file_case(BEN, form(summary="Ben's problem"))
    assert [c["id"] for c in service.my_cases(ANA)] == [mine["id"]]
    with pytest.raises(NotFound):
        service.my_case(BEN, mine["id"])
    with pytest.raises(NotFound):
        service.requester_reply(BEN, mine["id"], {"body": "me too"})
    with pytest.raises(NotFound):
        service.confirm_resolution(BEN, mine["id"])


def test_reply_note_resolve_and_what_the_requester_sees(service, read, clock):
    case = service.file_case(ANA, form())
    service.add_note(AGENT, case["id"], {"body": "Internal: check the logger vendor."})
    answered = service.reply(AGENT, case["id"], {"body": "Please send the logger's report."})
    assert answered["status"] == "pending"
    assert answered["first_responded_at"] is not None
    assert answered["next_due_at"] is None  # waiting on the requester

    seen = service.my_case(ANA, case["id"])
    kinds = [e["kind"] for e in seen["entries"]]
    assert "note" not in kinds and "routed" not in kinds
    assert "Internal" not in str(seen)
    assert [e["body"] for e in seen["entries"] if e["kind"] == "reply"] == [
        "Please send the logger's report."
    ]
    # The agents see everything, with who and when.
    full = service.case(case["id"])
    note = next(e for e in full["entries"] if e["kind"] == "note")
    assert note["public"] is False and note["actor_id"] == "agent-1" and note["at"]

    replied = read.events("case_replied")
    assert len(replied) == 1
    entry_id = replied[0]["payload"]["entry_id"]
    message = service.message_for_delivery(case["id"], entry_id)
    assert message["body"] == "Please send the logger's report."
    assert message["language"] == "en" and message["kind"] == "reply"
    # A note is never handed out for delivery.
    assert service.message_for_delivery(case["id"], note["id"]) is None

    clock.advance(hours=1)
    reopened = service.requester_reply(ANA, case["id"], {"body": "Attached below."})
    assert reopened["status"] == "open"

    resolved = service.resolve_case(AGENT, case["id"], {"notes": "Lot released; use it."})
    assert resolved["status"] == "resolved"
    assert resolved["resolution_notes"] == "Lot released; use it."
    event = read.events("case_resolved")
    assert len(event) == 1
    assert service.message_for_delivery(case["id"], event[0]["payload"]["entry_id"])["body"] == (
        "Lot released; use it."
    )
    with pytest.raises(Conflict):
        service.resolve_case(AGENT, case["id"], {"notes": "again"})


def test_a_requester_reply_reopens_a_resolved_case(service, read):
    case = service.file_case(ANA, form())
    service.resolve_case(AGENT, case["id"], {"notes": "Done."})
    again = service.requester_reply(ANA, case["id"], {"body": "Not fixed."})
    assert again["status"] == "open"
    assert again["resolved_at"] is None
    assert read.events("case_reopened")[0]["payload"]["by"] == "requester"


def test_confirmed_or_seven_days_later_a_resolved_case_closes(service, read, clock):
    confirmed = service.file_case(ANA, form())
    with pytest.raises(Conflict):
        service.confirm_resolution(ANA, confirmed["id"])  # not resolved yet
    service.resolve_case(AGENT, confirmed["id"], {"notes": "Done."})
    assert service.confirm_resolution(ANA, confirmed["id"])["status"] == "closed"
    with pytest.raises(Conflict):
        service.requester_reply(ANA, confirmed["id"], {"body": "one more thing"})

    quiet = service.file_case(ANA, form())
    service.resolve_case(AGENT, quiet["id"], {"notes": "Done."})
    clock.advance(days=6, hours=23)
    assert service.sweep()["closed"] == 0
    clock.advance(hours=2)
    assert service.sweep()["closed"] == 1
    assert service.my_case(ANA, quiet["id"])["status"] == "closed"
    reasons = [e["payload"]["reason"] for e in read.events("case_closed")]
    assert reasons == ["confirmed", "timed_out"]


def test_service_levels_breaches_are_flagged_once_and_counted(service, clock):
    before = breaches("first_response", "urgent")
    case = service.file_case(ANA, form(priority="urgent"))
    # Filed Tuesday 10:00 New York: first response due 11:00, resolution 18:00.
    assert case["id"]
    view = service.case(case["id"])
    assert view["first_response_due"].startswith("2026-12-01T16:00")
    assert view["resolution_due"].startswith("2026-12-01T23:00")
    clock.advance(minutes=59)
    assert service.sweep()["flagged"] == 0
    clock.advance(minutes=2)
    assert service.sweep()["flagged"] == 1
    assert service.sweep()["flagged"] == 0
    assert breaches("first_response", "urgent") == before + 1
    flagged = service.case(case["id"])
    assert flagged["first_response_breached"] is True
    assert "first_response_breached" in [e["kind"] for e in flagged["entries"]]


def test_pending_pauses_the_resolution_clock(service, clock):
    case = service.file_case(ANA, form(priority="urgent"))
    due = service.case(case["id"])["resolution_due"]
    service.reply(AGENT, case["id"], {"body": "Which lot?"})  # 10:00, 8 h left
    assert service.case(case["id"])["resolution_due"] is None
    clock.advance(days=1)  # Wednesday 10:00: a business day later
    service.requester_reply(ANA, case["id"], {"body": "FK5127"})
    resumed = service.case(case["id"])
    assert resumed["resolution_due"] > due
    assert resumed["next_due_at"] == resumed["resolution_due"]
    assert resumed["resolution_due"].startswith("2026-12-02T23:00")  # Wed 18:00 New York


def test_the_queue_is_sorted_by_what_is_due_first(service, inventory_team, clock):
    low = service.file_case(ANA, form(priority="low"))
    urgent = service.file_case(ANA, form(priority="urgent"))
    normal = service.file_case(ANA, form(priority="normal"))
    service.file_case(ANA, form(topic="scheduling"))  # another team's
    queue = service.queue({"id": "agent-2", "role": "helpdesk"})
    assert [c["id"] for c in queue] == [urgent["id"], normal["id"], low["id"]]
    service.reply(AGENT, urgent["id"], {"body": "Which lot?"})
    queue = service.queue({"id": "agent-2", "role": "helpdesk"})
    assert urgent["id"] not in [c["id"] for c in queue]
    with_pending = service.queue({"id": "agent-2", "role": "helpdesk"}, None, True)
    assert with_pending[-1]["id"] == urgent["id"]
    assert service.queue({"id": "nobody", "role": "helpdesk"}) == []


def test_rerouting_keeps_the_history(service, read, inventory_team):
    case = service.file_case(ANA, form(topic="other"))
    moved = service.reroute_case(
        AGENT, case["id"], {"team_id": "inventory", "reason": "About a shipment"}
    )
    assert moved["team_id"] == "inventory"
    assert moved["assignee_id"] == "agent-1"
    kinds = [(e["kind"], e["details"]) for e in moved["entries"]]
    assert ("routed", {"team_id": "general", "rule_id": None, "assignee_id": None}) in kinds
    rerouted = next(e for e in moved["entries"] if e["kind"] == "rerouted")
    assert rerouted["details"]["from_team_id"] == "general"
    assert rerouted["body"] == "About a shipment" and rerouted["actor_id"] == "agent-1"
    assert read.events("case_routed")[-1]["payload"]["previous_team_id"] == "general"
    with pytest.raises(InvalidInput) as refused:
        service.reroute_case(AGENT, case["id"], {"team_id": "nowhere"})
    assert "team_id" in refused.value.errors


def test_assignment_and_priority(service, inventory_team):
    case = service.file_case(ANA, form())
    with pytest.raises(InvalidInput):
        service.assign_case(AGENT, case["id"], {"agent_id": "stranger"})
    assigned = service.assign_case(AGENT, case["id"], {"agent_id": "agent-2"})
    assert assigned["assignee_id"] == "agent-2"
    urgent = service.change_priority(AGENT, case["id"], {"priority": "urgent"})
    assert urgent["priority"] == "urgent"
    assert urgent["first_response_due"].startswith("2026-12-01T16:00")


def test_the_intake_form_is_checked_field_by_field(service, read):
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(topic="vaccines", summary="", language="fr"))
    assert set(refused.value.errors) == {"topic", "summary", "language"}
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(organization_id=None))
    assert set(refused.value.errors) == {"organization_id"}
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(contact_channel="phone"))
    assert set(refused.value.errors) == {"contact_phone"}
    assert read.count(Case) == 0 and read.count(CaseEntry) == 0
    assert read.events() == []


def test_teams_and_the_default(service, read):
    service.create_team(ADMIN, {"id": "technical", "name": "Technical", "default": True})
    teams = {t["id"]: t for t in service.list_teams()}
    assert teams["technical"]["default"] is True and teams["general"]["default"] is False
    with pytest.raises(InvalidInput):
        service.update_team(ADMIN, "technical", {"default": False})
    with pytest.raises(Conflict):
        service.create_team(ADMIN, {"id": "technical", "name": "Again"})
    service.update_team(ADMIN, "general", {"default": True, "agent_ids": ["a", "b", "a"]})
    teams = {t["id"]: t for t in service.list_teams()}
    assert teams["general"]["default"] and teams["general"]["agent_ids"] == ["a", "b"]
    rule = service.create_rule(ADMIN, {"topic": "enrollment", "team_id": "technical"})
    assert [r["id"] for r in service.list_rules()] == [rule["id"]]
    service.delete_rule(ADMIN, rule["id"])
    assert service.list_rules() == []
    with pytest.raises(NotFound):
        service.delete_rule(ADMIN, rule["id"])
    with pytest.raises(InvalidInput):
        service.create_rule(ADMIN, {"topic": "enrollment", "team_id": "nowhere"})
