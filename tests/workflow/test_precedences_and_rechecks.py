"""The coordinator's manual steps keep the precedences (``after``) against the other request's fixed slot:
a proposal, an approval and an approved change after approval that break the order or its gaps are refused
(409 ``precedence``; approvals may override), against a merely proposed slot they only warn. A change after
approval is checked again for conflicts when it is approved. Emergencies ignore precedences."""

from __future__ import annotations

import uuid
from datetime import date

from service.slots.explanations import date_de, date_en
from service.slots.models import Slot
from tests.workflow.flow import act, approved, create, d, history, ok

PROBLEM = "application/problem+json"


def after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> list[dict]:
    return [{"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}]


def refused(r, kind: str) -> dict:  # noqa: ANN001
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"].endswith(f"/{kind}"), r.json()
    return r.json()


def day(offset: int) -> date:
    return date.fromisoformat(d(offset))


def test_a_proposal_before_the_end_and_gap_of_an_approved_predecessor_is_refused(  # noqa: ANN001
        client, city, coordinator) -> None:
    trench = approved(client, city, coordinator, 0)  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 2))
    problem = refused(act(client, coordinator, pipe["id"], "propose", {"start": d(5)}), "precedence")
    (link,) = problem["precedences"]
    assert (link["predecessor"], link["successor"], link["request_id"]) == (trench["id"], pipe["id"], trench["id"])
    assert link["order"] == "after" and (link["min_gap_days"], link["max_gap_days"]) == (2, None)
    assert link["slot"] == {"start": d(0), "end": d(9), "status": "approved"}
    assert (link["earliest_start"], link["latest_start"]) == (d(12), None)  # 9 + 2 days between + 1
    assert f"frühestens am {date_de(day(12))}" in link["de"] and "mindestens 2 Tagen Abstand" in link["de"]
    assert f"start on {date_en(day(12))} at the earliest" in link["en"]
    assert "override" not in problem["detail"]  # a proposal cannot override
    assert client.get(f"/v1/requests/{pipe['id']}", headers=city.headers).json()["status"] == "submitted"
    # the day before is still too early; the first allowed start passes
    assert refused(act(client, coordinator, pipe["id"], "propose", {"start": d(11)}), "precedence")
    assert ok(client, coordinator, pipe["id"], "propose", {"start": d(12)})["warnings"] == []


def test_a_maximum_gap_refuses_a_start_too_late(client, city, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 0)
    surface = create(client, city, title="Deckschicht", after=after(trench["id"], 0, 3))
    (link,) = refused(act(client, coordinator, surface["id"], "propose", {"start": d(20)}),
                      "precedence")["precedences"]
    assert (link["earliest_start"], link["latest_start"]) == (d(10), d(13))
    assert "höchstens 3 Tagen Abstand" in link["de"] and "with at most 3 days between" in link["en"]
    assert ok(client, coordinator, surface["id"], "propose", {"start": d(13)})["slot"]["start"] == d(13)


def test_a_predecessor_must_end_before_its_approved_successor(client, city, coordinator) -> None:  # noqa: ANN001
    first = create(client, city, title="Kanal")
    then = create(client, city, title="Fahrbahn", after=after(first["id"], 1))
    ok(client, coordinator, then["id"], "approve", {"start": d(30)})  # 30 .. 39
    (link,) = refused(act(client, coordinator, first["id"], "propose", {"start": d(25)}),
                      "precedence")["precedences"]
    assert (link["predecessor"], link["successor"], link["order"]) == (first["id"], then["id"], "before")
    # it must end by day 28 (one day between): a 10-day slot starts by day 19
    assert (link["earliest_start"], link["latest_start"]) == (None, d(19))
    assert "voraus" in link["de"] and f"Beginn spätestens am {date_de(day(19))}" in link["de"]
    assert ok(client, coordinator, first["id"], "propose", {"start": d(19)})["slot"]["end"] == d(28)


def test_against_a_proposed_slot_the_step_only_warns(client, db, city, coordinator) -> None:  # noqa: ANN001
    trench = create(client, city, title="Graben")
    ok(client, coordinator, trench["id"], "propose", {"start": d(0)})  # proposed, not fixed: 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 2))
    answer = ok(client, coordinator, pipe["id"], "propose", {"start": d(5)})
    assert answer["status"] == "slot_proposed"
    (warning,) = answer["warnings"]
    assert "„Graben“ (vorgeschlagen" in warning and f"{date_de(day(12))}" in warning and " / " in warning
    explanation = answer["slot"]["explanation"]
    assert [w["request_id"] for w in explanation["precedence_warnings"]] == [trench["id"]]
    assert "Achtung: Die Arbeiten folgen auf „Graben“" in explanation["summary"]["de"]
    # approving it warns too, and the explanation keeps what held when it was approved
    ok(client, city, pipe["id"], "accept")
    done = ok(client, coordinator, pipe["id"], "approve")
    assert done["status"] == "approved" and done["warnings"] == [warning]
    assert db.get(Slot, uuid.UUID(pipe["id"])).explanation["precedence_warnings"][0]["earliest_start"] == d(12)


def test_an_approval_breaking_a_precedence_needs_override_and_says_so(client, city, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 0)
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 2))
    ok(client, coordinator, pipe["id"], "propose", {"start": d(12)})
    ok(client, city, pipe["id"], "accept")
    problem = refused(act(client, coordinator, pipe["id"], "approve", {"start": d(4)}), "precedence")
    assert problem["precedences"][0]["earliest_start"] == d(12) and "override=true" in problem["detail"]
    assert client.get(f"/v1/requests/{pipe['id']}", headers=city.headers).json()["status"] == "accepted"
    done = ok(client, coordinator, pipe["id"], "approve", {"start": d(4), "override": True, "reason": "eilig"})
    assert done["status"] == "approved" and done["slot"]["start"] == d(4)
    explanation = done["slot"]["explanation"]
    (overridden,) = explanation["overridden_precedences"]
    assert (overridden["predecessor"], overridden["successor"]) == (trench["id"], pipe["id"])
    assert explanation["overridden_by"] == str(coordinator.org_id) and "overridden_conflicts" not in explanation
    assert explanation["summary"]["de"].endswith("Trotz einer nicht eingehaltenen Reihenfolge gegenüber "
                                                 "genehmigten oder festgelegten Terminen genehmigt.")
    assert explanation["summary"]["en"].endswith("Approved despite 1 broken precedence with approved or locked "
                                                 "slots.")


def test_a_conflict_refusal_names_the_broken_precedences_too(client, city, utility, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 0)
    foreign = approved(client, utility, coordinator, 20)  # same street, another owner: 20 .. 29
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 15))
    problem = refused(act(client, coordinator, pipe["id"], "approve", {"start": d(22)}), "slot-conflict")
    assert [c["request_id"] for c in problem["conflicts"]] == [foreign["id"]]
    assert [p["request_id"] for p in problem["precedences"]] == [trench["id"]]
    done = ok(client, coordinator, pipe["id"], "approve", {"start": d(22), "override": True})
    explanation = done["slot"]["explanation"]
    assert [c["request_id"] for c in explanation["overridden_conflicts"]] == [foreign["id"]]
    assert [p["request_id"] for p in explanation["overridden_precedences"]] == [trench["id"]]


def change(client, owner, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def decide(client, coordinator, rid: str, cid: str, body: dict | None = None):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/changes/{cid}/approve", json=body, headers=coordinator.headers)


def test_an_extension_into_the_gap_before_an_approved_successor_is_refused(client, db, city, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 0)  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 5))
    ok(client, coordinator, pipe["id"], "approve", {"start": d(15)})  # exactly 5 days after the trench
    asked = change(client, city, trench["id"], {"duration_days": 12, "reason": "Fels"})
    assert (asked["start"], asked["end"]) == (d(0), d(11))  # in place: the pipe is no conflict of the trench
    problem = refused(decide(client, coordinator, trench["id"], asked["id"]), "precedence")
    (link,) = problem["precedences"]
    assert (link["predecessor"], link["successor"], link["order"]) == (trench["id"], pipe["id"], "before")
    assert link["latest_start"] == d(-2)  # 12 days ending 5 days before day 15
    assert client.get(f"/v1/requests/{trench['id']}/changes/{asked['id']}",
                      headers=city.headers).json()["status"] == "pending"
    r = decide(client, coordinator, trench["id"], asked["id"], {"override": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    explanation = client.get(f"/v1/requests/{trench['id']}", headers=city.headers).json()["slot"]["explanation"]
    assert explanation["method"] == "change" and explanation["change"] == "extended"
    assert [p["successor"] for p in explanation["overridden_precedences"]] == [pipe["id"]]
    assert "Trotz einer nicht eingehaltenen Reihenfolge" in explanation["summary"]["de"]
    assert history(db, trench["id"])[-1].action == "change.approved"


def test_a_change_is_checked_again_for_conflicts_when_it_is_approved(client, city, utility, coordinator) -> None:  # noqa: ANN001
    mine = approved(client, city, coordinator, 0)  # 0 .. 9
    asked = change(client, city, mine["id"], {"duration_days": 20, "reason": "Mehr Leitungen"})
    assert (asked["start"], asked["end"], asked["conflicts"]) == (d(0), d(19), [])  # free when asked for
    # meanwhile another organisation's works are approved on the same street right after the old slot
    theirs = approved(client, utility, coordinator, 12)
    problem = refused(decide(client, coordinator, mine["id"], asked["id"], {"reason": "ok"}), "slot-conflict")
    (clash,) = problem["conflicts"]
    assert clash["request_id"] == theirs["id"] and clash["kind"] == "space" and clash["slot_status"] == "approved"
    assert "precedences" not in problem
    slot = client.get(f"/v1/requests/{mine['id']}", headers=city.headers).json()["slot"]
    assert (slot["start"], slot["end"]) == (d(0), d(9))  # the old slot stays valid
    r = decide(client, coordinator, mine["id"], asked["id"], {"override": True, "reason": "abgestimmt"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    slot = client.get(f"/v1/requests/{mine['id']}", headers=city.headers).json()["slot"]
    assert (slot["start"], slot["end"]) == (d(0), d(19))
    explanation = slot["explanation"]
    assert [c["request_id"] for c in explanation["overridden_conflicts"]] == [theirs["id"]]
    assert explanation["overridden_by"] == str(coordinator.org_id)
    # the override is explained by the approver's reason, not by the owner's reason for the change before it
    assert explanation["summary"]["en"].endswith("Approved despite 1 conflict with approved or locked slots. "
                                                 "Reason for the approval: “abgestimmt”.")


def test_a_change_of_area_is_checked_with_its_new_geometry(client, city, utility, coordinator) -> None:  # noqa: ANN001
    far = {"type": "LineString", "coordinates": [[7.0300, 51.4600], [7.0310, 51.4590]]}
    street = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]}
    mine = approved(client, city, coordinator, 0, geometry=far, diversions=[])
    asked = change(client, city, mine["id"], {"geometry": street, "reason": "Trasse verlegt"})
    assert (asked["start"], asked["conflicts"]) == (d(0), [])  # nothing on the street yet
    # approved on the street while mine is still far away: no conflict with mine as it is approved now
    theirs = approved(client, utility, coordinator, 3, geometry=street)
    (clash,) = refused(decide(client, coordinator, mine["id"], asked["id"]), "slot-conflict")["conflicts"]
    assert clash["request_id"] == theirs["id"]  # the changed footprint counts, not the stored one


def test_a_decision_body_refuses_a_non_boolean_override(client, city, coordinator) -> None:  # noqa: ANN001
    mine = approved(client, city, coordinator, 0)
    asked = change(client, city, mine["id"], {"duration_days": 11})
    r = decide(client, coordinator, mine["id"], asked["id"], {"override": "yes"})
    assert r.status_code == 422 and "override" in r.text


def test_an_emergency_ignores_precedences(client, city, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 5)  # 5 .. 14
    burst = create(client, city, title="Rohrbruch", urgency="emergency", duration_days=3,
                   after=after(trench["id"], 0))
    assert burst["status"] == "active"  # immediate danger: it starts today, before the trench even began
    assert (burst["slot"]["start"], burst["slot"]["status"]) == (d(0), "approved")
