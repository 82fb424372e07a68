"""Blackouts and moratoriums are hard rules wherever a slot becomes fixed, as they are for a plan run: a change
after approval avoids them when it has to move (or cannot stay in place because of them) and names those it
cannot avoid; approving a change, a proposal, or deeming one approved, and locking a slot, refuse a slot in one
unless the coordinator overrides (a lock cannot). A blackout allows works up to its ``max_impact``; a moratorium
concerns excavating works only. As for clashes, approving a change counts only what its new slot adds: a rule
its old slot broke on the same days was accepted when that was approved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.slots.models import Slot
from service.workflow import service
from service.workflow.models import RequestDeadline
from tests.workflow.flow import act, approved, create, d, events, history, ok

ELSEWHERE = {"type": "Polygon", "coordinates": [[[7.020, 51.455], [7.030, 51.455], [7.030, 51.460],
                                                  [7.020, 51.460], [7.020, 51.455]]]}
IN_ELSEWHERE = {"type": "LineString", "coordinates": [[7.022, 51.456], [7.026, 51.458]]}
HERE = {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.01, 51.43], [7.01, 51.45], [6.99, 51.45],
                                            [6.99, 51.43]]]}


def blackout(client, coordinator, first: int, last: int, *, name: str = "Weihnachtsmarkt",  # noqa: ANN001
             max_impact: str = "lane_reduction") -> dict:
    r = client.post("/v1/blackouts", json={"name": name, "geometry": None, "start": d(first), "end": d(last),
                                           "max_impact": max_impact}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return r.json()


def moratorium(client, coordinator, first: int, last: int, *, area: dict = HERE,  # noqa: ANN001
               name: str = "Neu asphaltiert") -> dict:
    r = client.post("/v1/moratoriums", json={"name": name, "geometry": area, "start": d(first), "end": d(last)},
                    headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return r.json()


def change(client, owner, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def decide(client, coordinator, rid: str, cid: str, body: dict | None = None):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/changes/{cid}/approve", json=body, headers=coordinator.headers)


def refused(r, kind: str) -> dict:  # noqa: ANN001
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith(f"/{kind}"), r.text
    return r.json()


def rules_of(conflicts: list[dict]) -> list[tuple[str, str, bool]]:
    return [(c["kind"], c["name"], c["blocks_approval"]) for c in conflicts if c["kind"] in ("blackout", "moratorium")]


# --- changes after approval -----------------------------------------------------------------------------


def test_a_change_that_cannot_escape_a_blackout_names_it_and_its_approval_needs_override(  # noqa: ANN001
        client, db, city, coordinator) -> None:
    """The testers' case: an extension into the Christmas trade, with no start outside it in the window."""
    rid = approved(client, city, coordinator, latest_end=d(19))["id"]  # days 0..9, window 0..19
    blackout(client, coordinator, 12, 40)
    asked = change(client, city, rid, {"duration_days": 15, "reason": "Mehr Leitungen"})
    # every start in the window meets the blackout: the change stays where it is and says what it breaks
    assert (asked["start"], asked["end"]) == (d(0), d(14))
    assert rules_of(asked["conflicts"]) == [("blackout", "Weihnachtsmarkt", True)]
    (warning,) = asked["warnings"]
    assert "Sperrzeit „Weihnachtsmarkt“" in warning and "only by overriding" in warning

    problem = refused(decide(client, coordinator, rid, asked["id"], {}), "rule-conflict")
    assert [r["name"] for r in problem["rule_conflicts"]] == ["Weihnachtsmarkt"]
    assert "override=true" in problem["detail"]
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"]["end"] == d(9)

    r = decide(client, coordinator, rid, asked["id"], {"override": True, "reason": "Ausnahme genehmigt"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    db.expire_all()
    slot = db.get(Slot, rid)
    assert (slot.start.isoformat(), slot.end.isoformat(), slot.status) == (d(0), d(14), "approved")
    assert [x["name"] for x in slot.explanation["overridden_rules"]] == ["Weihnachtsmarkt"]
    assert slot.explanation["overridden_by"] == str(coordinator.org_id)
    assert "Trotz der Sperrzeit „Weihnachtsmarkt“ genehmigt." in slot.explanation["summary"]["de"]
    assert "Approved despite the blackout “Weihnachtsmarkt”." in slot.explanation["summary"]["en"]
    event = events(db, rid)[-1]
    assert event.kind == "change.approved"
    assert [x["name"] for x in event.payload["overridden_rules"]] == ["Weihnachtsmarkt"]


def test_an_active_site_stays_and_its_extension_into_a_blackout_needs_override(client, city,  # noqa: ANN001
                                                                                coordinator) -> None:
    rid = approved(client, city, coordinator)["id"]  # days 0..9
    ok(client, city, rid, "start")
    blackout(client, coordinator, 12, 20)
    asked = change(client, city, rid, {"duration_days": 15})
    assert (asked["start"], asked["end"], asked["placement"]["method"]) == (d(0), d(14), "in_place")
    assert rules_of(asked["conflicts"]) == [("blackout", "Weihnachtsmarkt", True)] and len(asked["warnings"]) == 1
    refused(decide(client, coordinator, rid, asked["id"]), "rule-conflict")
    assert decide(client, coordinator, rid, asked["id"], {"override": True}).status_code == 200


def test_a_change_that_would_extend_into_a_blackout_moves_out_of_it(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]  # days 0..9, window 0..89
    blackout(client, coordinator, 12, 20)
    asked = change(client, city, rid, {"duration_days": 15})
    # in place (days 0..14) it would lie in the blackout: the nearest start after it, as a plan run would place it
    assert (asked["start"], asked["end"]) == (d(21), d(35))
    assert asked["placement"]["method"] != "in_place"
    assert rules_of(asked["conflicts"]) == [] and asked["warnings"] == []
    assert decide(client, coordinator, rid, asked["id"]).status_code == 200


def test_a_change_that_has_to_move_avoids_the_blackouts_when_a_start_outside_is_free(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    rid = approved(client, city, coordinator)["id"]  # days 0..9
    approved(client, utility, coordinator, 10)  # same street, another owner: days 10..19
    blackout(client, coordinator, 20, 25)
    asked = change(client, city, rid, {"duration_days": 12})
    # in place it clashes with the neighbour; days 20..31 are free of slots but lie in the blackout
    assert (asked["start"], asked["end"]) == (d(26), d(37))
    assert rules_of(asked["conflicts"]) == [] and asked["warnings"] == []


def test_a_change_of_impact_or_area_is_checked_against_the_rules_as_changed(client, city,  # noqa: ANN001
                                                                             coordinator) -> None:
    # a lane reduction the blackout allows (up to lane_reduction), approved inside it
    rid = approved(client, city, coordinator, impact="lane_reduction")["id"]
    blackout(client, coordinator, 0, 30, name="Stadtfest")
    louder = change(client, city, rid, {"impact": "full_closure", "reason": "Vollsperrung nötig"})
    assert (louder["start"], louder["end"]) == (d(31), d(40))  # a full closure is not allowed there
    assert client.post(f"/v1/requests/{rid}/changes/{louder['id']}/reject", json={"reason_code": "other",
                       "reason": "nein"}, headers=coordinator.headers).status_code == 200

    other = approved(client, city, coordinator, 50, title="Hausanschluss")["id"]  # days 50..59, sewer
    moratorium(client, coordinator, 0, 70, area=ELSEWHERE, name="Deckenerneuerung")
    moved = change(client, city, other, {"geometry": IN_ELSEWHERE})
    assert (moved["start"], moved["end"]) == (d(71), d(80))  # the new area lies in the no-dig moratorium


# --- the old slot's rules were accepted ---------------------------------------------------------------


def test_a_rule_the_old_slot_broke_on_the_same_days_needs_no_override_again(client, db, city,  # noqa: ANN001
                                                                             coordinator) -> None:
    blackout(client, coordinator, 5, 15)
    req = create(client, city)
    ok(client, coordinator, req["id"], "propose", {"start": d(0)})
    ok(client, city, req["id"], "accept")
    refused(act(client, coordinator, req["id"], "approve"), "rule-conflict")
    ok(client, coordinator, req["id"], "approve", {"override": True})  # accepted once, on days 5..9
    asked = change(client, city, req["id"], {"shift": "day"})
    assert (asked["start"], asked["end"], asked["placement"]["method"]) == (d(0), d(9), "in_place")
    assert rules_of(asked["conflicts"]) == [("blackout", "Weihnachtsmarkt", False)]
    assert asked["warnings"] == []
    r = decide(client, coordinator, req["id"], asked["id"])
    assert r.status_code == 200, r.text
    db.expire_all()
    slot = db.get(Slot, req["id"])
    assert [x["name"] for x in slot.explanation["accepted_before"]["rule_conflicts"]] == ["Weihnachtsmarkt"]
    assert "overridden_rules" not in slot.explanation


# --- approvals, deemed approvals, locks -------------------------------------------------------------------


def test_approving_a_slot_in_a_moratorium_needs_override_and_warns(client, db, city, coordinator) -> None:  # noqa: ANN001
    moratorium(client, coordinator, 0, 30)
    rid = create(client, city)["id"]  # sewer works: excavating
    warned = ok(client, coordinator, rid, "propose", {"start": d(5)})["warnings"]
    assert any("Aufbruchverbot „Neu asphaltiert“" in w for w in warned)
    ok(client, city, rid, "accept")
    problem = refused(act(client, coordinator, rid, "approve", {}), "rule-conflict")
    assert [(r["kind"], r["name"]) for r in problem["rule_conflicts"]] == [("moratorium", "Neu asphaltiert")]
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "accepted"
    # approving other dates inside it likewise
    refused(act(client, coordinator, rid, "approve", {"start": d(10)}), "rule-conflict")

    done = ok(client, coordinator, rid, "approve", {"override": True})
    assert done["status"] == "approved"
    assert any("Aufbruchverbot „Neu asphaltiert“" in w and "moratorium “Neu asphaltiert”" in w
               for w in done["warnings"])
    ex = done["slot"]["explanation"]
    assert [x["name"] for x in ex["overridden_rules"]] == ["Neu asphaltiert"]
    assert "Trotz des Aufbruchverbots „Neu asphaltiert“ genehmigt." in ex["summary"]["de"]
    event = events(db, rid)[-1]
    assert [x["name"] for x in event.payload["overridden_rules"]] == ["Neu asphaltiert"]


@pytest.mark.parametrize("rule", ["blackout allowing the impact", "moratorium on non-excavating works"])
def test_rules_that_do_not_apply_to_the_works_need_no_override(client, city, coordinator, rule: str) -> None:  # noqa: ANN001
    if rule.startswith("blackout"):
        blackout(client, coordinator, 0, 30, max_impact="full_closure")
        rid = create(client, city)["id"]
    else:
        moratorium(client, coordinator, 0, 30)
        rid = create(client, city, kind="road_maintenance")["id"]
    assert ok(client, coordinator, rid, "propose", {"start": d(5)})["warnings"] == []
    ok(client, city, rid, "accept")
    assert ok(client, coordinator, rid, "approve")["status"] == "approved"


def test_a_proposal_a_later_blackout_covers_is_not_deemed_approved(client, db, settings, city,  # noqa: ANN001
                                                                    coordinator) -> None:
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    ok(client, city, rid, "accept")  # the coordinator's clock runs
    blackout(client, coordinator, 8, 12, name="Stadtfest")
    db.expire_all()
    due = db.get(RequestDeadline, rid).due_at
    report = service.check_deadlines(db, settings, now=due)
    assert report.deemed_approved == [] and report.withheld == [rid]
    db.expire_all()
    assert db.get(Slot, rid).status == "proposed"
    got = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert got["status"] == "accepted" and got["deadline"] is None
    last = history(db, rid)[-1]
    assert (last.action, last.reason_code) == ("deemed_approval.withheld", "deemed_approval_withheld")
    assert "liegt in der Sperrzeit „Stadtfest“" in last.reason and "lies in the blackout “Stadtfest”" in last.reason
    withheld = last.after["withheld"]
    assert [r["name"] for r in withheld["rule_conflicts"]] == ["Stadtfest"] and withheld["conflicts"] == []
    event = events(db, rid)[-1]
    assert event.kind == "deemed_approval.withheld"
    assert [r["name"] for r in event.payload["rule_conflicts"]] == ["Stadtfest"]
    # the coordinator decides
    assert ok(client, coordinator, rid, "approve", {"override": True})["status"] == "approved"


def test_a_slot_in_a_blackout_cannot_be_locked(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    blackout(client, coordinator, 8, 12, name="Stadtfest")
    r = client.post(f"/v1/requests/{rid}/slot/lock", headers=coordinator.headers)
    problem = refused(r, "rule-conflict")
    assert [x["name"] for x in problem["rule_conflicts"]] == ["Stadtfest"]
    assert "propose another start" in problem["detail"] and "override=true" in problem["detail"]
    db.expire_all()
    assert db.get(Slot, rid).status == "proposed"
    # outside it the same request can be locked
    ok(client, coordinator, rid, "propose", {"start": d(20)})
    assert client.post(f"/v1/requests/{rid}/slot/lock", headers=coordinator.headers).status_code == 200


def test_a_displaced_request_is_moved_out_of_a_blackout(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    victim = create(client, city)["id"]
    ok(client, coordinator, victim, "propose", {"start": d(0)})  # days 0..9
    blackout(client, coordinator, 10, 20, name="Stadtfest")
    create(client, utility, kind="water", urgency="emergency")  # days 0..9 on the same street
    db.expire_all()
    slot = db.get(Slot, victim)
    assert slot.start.isoformat() == d(21)  # days 10..19 are free of slots but lie in the blackout
    assert timedelta(days=9) == slot.end - slot.start
