"""A change after approval may carry ``after`` (the precedences, replacing the request's list): validated as on
creation, checked against the slots when it is asked for and again when it is decided, applied on approval,
shown in the change and the history; the coordination office orders two organisations' works with one. The
approval of a change counts only the clashes and broken precedences its slot adds: a shortening of a site
approved by overriding needs no override again; a change that adds a clash does. A request not yet approved
names an approved one in its ``after`` by PATCH, as before."""

from __future__ import annotations

import uuid

from service.requests.models import RequestPrecedence
from tests.workflow.flow import act, approved, create, d, events, get, history, ok

PROBLEM = "application/problem+json"


def link(rid: str, min_gap: int = 0, max_gap: int | None = None) -> dict:
    return {"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}


def ask(client, caller, rid: str, body: dict):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/changes", json=body, headers=caller.headers)


def asked(client, caller, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = ask(client, caller, rid, body)
    assert r.status_code == 201, r.text
    return r.json()


def decide(client, coordinator, rid: str, cid: str, body: dict | None = None):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/changes/{cid}/approve", json=body, headers=coordinator.headers)


def refused(r, status: int, kind: str) -> dict:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"].endswith(f"/{kind}"), r.json()
    return r.json()


def invalid(r, field: str, contains: str) -> None:  # noqa: ANN001
    error = refused(r, 422, "invalid-input")["errors"][0]
    assert error["field"] == field and contains in error["detail"], error


# --- a precedence discovered after approval ---------------------------------------------------------------


def test_a_change_gives_an_approved_request_a_predecessor(client, db, city, coordinator) -> None:  # noqa: ANN001
    """The late trench: the resurfacing is approved on days 60..69; a trench found afterwards (not yet approved)
    must go before it, at most 30 days ahead."""
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    trench = create(client, city, title="Graben")
    version = get(client, city, surface["id"])["version"]
    change = asked(client, city, surface["id"], {"after": [link(trench["id"], 0, 30)], "reason": "Graben zuerst"})
    assert change["after"] == [link(trench["id"], 0, 30)]
    assert (change["start"], change["end"]) == (d(60), d(69))  # the trench has no fixed slot: in place
    assert change["placement"] == {"method": "in_place", "within_previous_slot": True}
    assert get(client, city, surface["id"])["after"] == []  # pending: nothing applied yet
    row = history(db, surface["id"])[-1]
    assert row.action == "change.requested" and row.after["after"] == [link(trench["id"], 0, 30)]
    seen = client.get(f"/v1/requests/{surface['id']}/changes/{change['id']}", headers=city.headers).json()
    assert seen["after"] == change["after"] and "after" not in seen["placement"]

    r = decide(client, coordinator, surface["id"], change["id"])
    assert r.status_code == 200, r.text
    assert r.json()["after"] == [link(trench["id"], 0, 30)]
    now = get(client, city, surface["id"])
    assert now["after"] == [link(trench["id"], 0, 30)] and now["version"] > version
    explanation = now["slot"]["explanation"]
    assert (explanation["change"], explanation["order_changed"]) == ("window", True)
    assert explanation["summary"]["de"].endswith("Reihenfolge mit anderen Baustellen geändert.")
    assert explanation["summary"]["en"].endswith("Order with other sites changed.")
    row = history(db, surface["id"])[-1]
    assert row.action == "change.approved"
    assert (row.before["after"], row.after["after"]) == ([], [link(trench["id"], 0, 30)])
    assert events(db, surface["id"])[-1].payload["after"] == [link(trench["id"], 0, 30)]
    # the trench is now placed before the approved resurfacing: a proposal after it is refused
    problem = refused(act(client, coordinator, trench["id"], "propose", {"start": d(62)}), 409, "precedence")
    assert [p["successor"] for p in problem["precedences"]] == [surface["id"]]
    assert ok(client, coordinator, trench["id"], "propose", {"start": d(40)})["slot"]["end"] == d(49)

    # a later change removes it again
    gone = asked(client, city, surface["id"], {"after": []})
    assert gone["after"] == []
    assert decide(client, coordinator, surface["id"], gone["id"]).status_code == 200
    assert get(client, city, surface["id"])["after"] == []


def test_a_change_s_after_is_validated_as_on_creation_and_stores_nothing_when_bad(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    sid = surface["id"]
    later = create(client, city, title="Markierung", after=[link(sid)])  # comes after the resurfacing
    foreign = create(client, utility, title="Kabel")
    foreign_draft = create(client, utility, status="draft")
    gone = create(client, city)
    assert client.delete(f"/v1/requests/{gone['id']}", headers=city.headers).status_code == 200
    mine = create(client, city, title="Graben")
    cases = [
        ([link(str(uuid.uuid4()))], "after[0].request", "does not exist"),
        ([link(foreign_draft["id"])], "after[0].request", "does not exist"),
        ([link(sid)], "after[0].request", "cannot come after itself"),
        ([link(later["id"])], "after[0].request", "already comes after this request"),
        ([link(gone["id"])], "after[0].request", "withdrawn"),
        ([link(foreign["id"])], "after[0].request", "another organisation"),
        ([link(mine["id"]), link(mine["id"], 2)], "after[1].request", "named twice"),
        ([link(mine["id"], 5, 2)], "after[0].max_gap_days", "less than min_gap_days"),
        ([link(mine["id"], -1)], "after[0].min_gap_days", "greater than or equal to 0"),
        ([], "after", "has these precedences already"),  # nothing would change
    ]
    for entries, field, contains in cases:
        invalid(ask(client, city, sid, {"after": entries}), field, contains)
    # a window that cannot keep the order: the trench (today .. day 89, 10 days) ends on day 9 at the earliest;
    # the resurfacing's window would have to start 80 days after that
    invalid(ask(client, city, sid, {"after": [link(mine["id"], 80)]}), "after[0].request",
            "with min_gap_days 80")
    assert client.get(f"/v1/requests/{sid}/changes", headers=city.headers).json() == []
    assert db.query(RequestPrecedence).filter(RequestPrecedence.request_id == uuid.UUID(sid)).count() == 0
    # only the coordination office asks for a change of another organisation's request, and only of `after`
    r = ask(client, utility, sid, {"after": [link(foreign["id"])]})
    assert r.status_code == 403, r.text
    r = ask(client, coordinator, sid, {"after": [link(mine["id"])], "duration_days": 12})
    assert r.status_code == 403 and "only `after`" in r.json()["detail"], r.text


def test_the_coordination_office_orders_two_organisations_works_after_approval(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    cable = create(client, utility, title="Kabelgraben")
    change = asked(client, coordinator, surface["id"], {"after": [link(cable["id"], 0, 30)],
                                                        "reason": "Kabel vor Deckschicht"})
    row = history(db, surface["id"])[-1]
    assert (row.action, row.actor, row.organisation_id) == ("change.requested", "coordinator", coordinator.org_id)
    assert decide(client, coordinator, surface["id"], change["id"]).status_code == 200
    assert get(client, city, surface["id"])["after"] == [link(cable["id"], 0, 30)]
    # the owner keeps the office's link: a change of its own cannot remove it
    invalid(ask(client, city, surface["id"], {"after": []}), "after", "set by the coordination office")


def test_a_change_that_breaks_a_new_precedence_in_place_moves_after_the_fixed_predecessor(  # noqa: ANN001
        client, city, coordinator) -> None:
    trench = approved(client, city, coordinator, 30, title="Graben")  # 30 .. 39
    surface = approved(client, city, coordinator, 0, title="Deckschicht")  # 0 .. 9
    change = asked(client, city, surface["id"], {"after": [link(trench["id"], 2)]})
    assert (change["start"], change["end"]) == (d(42), d(51))
    assert change["placement"]["moved_for_order"] is True
    assert change["placement"]["precedence_window"] == {"first_start": d(42), "last_start": d(80)}
    assert (change["precedences"], change["warnings"]) == ([], [])
    assert decide(client, coordinator, surface["id"], change["id"]).status_code == 200
    slot = get(client, city, surface["id"])["slot"]
    assert (slot["start"], slot["end"], slot["explanation"]["change"]) == (d(42), d(51), "moved")


def test_a_change_s_after_is_checked_against_the_slots_again_when_it_is_decided(  # noqa: ANN001
        client, city, coordinator) -> None:
    surface = approved(client, city, coordinator, 0, title="Deckschicht")  # 0 .. 9
    trench = create(client, city, title="Graben")
    ok(client, coordinator, trench["id"], "propose", {"start": d(5)})  # 5 .. 14, only proposed
    change = asked(client, city, surface["id"], {"after": [link(trench["id"])]})
    (warned,) = change["precedences"]  # against a proposed slot: named, no move, no override needed yet
    assert (warned["request_id"], warned["blocks_approval"], change["start"]) == (trench["id"], False, d(0))
    # meanwhile the trench is approved where it was proposed: the resurfacing now breaks the order
    ok(client, city, trench["id"], "accept")
    ok(client, coordinator, trench["id"], "approve")
    problem = refused(decide(client, coordinator, surface["id"], change["id"]), 409, "precedence")
    (link_,) = problem["precedences"]
    assert (link_["predecessor"], link_["successor"], link_["earliest_start"]) == (trench["id"], surface["id"], d(15))
    assert get(client, city, surface["id"])["after"] == []  # refused: nothing applied
    r = decide(client, coordinator, surface["id"], change["id"], {"override": True, "reason": "abgestimmt"})
    assert r.status_code == 200, r.text
    now = get(client, city, surface["id"])
    assert now["after"] == [link(trench["id"])]
    assert [p["request_id"] for p in now["slot"]["explanation"]["overridden_precedences"]] == [trench["id"]]


def test_a_change_s_after_that_no_longer_holds_is_refused_when_it_is_decided(client, city, coordinator) -> None:  # noqa: ANN001
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    trench, cable = create(client, city, title="Graben"), create(client, city, title="Kabel")
    change = asked(client, city, surface["id"], {"after": [link(trench["id"]), link(cable["id"])]})
    # the cable is now ordered after the resurfacing: the change would close a circle
    r = client.patch(f"/v1/requests/{cable['id']}", json={"after": [link(surface["id"])]},
                     headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    problem = refused(decide(client, coordinator, surface["id"], change["id"], {"override": True}), 409,
                      "invalid-precedence")
    assert problem["errors"][0]["field"] == "after[1].request" and "circle" in problem["detail"]
    assert get(client, city, surface["id"])["after"] == []  # nothing applied


def test_a_change_naming_a_request_withdrawn_meanwhile_is_refused_when_it_is_decided(  # noqa: ANN001
        client, city, coordinator) -> None:
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    trench = create(client, city, title="Graben")
    change = asked(client, city, surface["id"], {"after": [link(trench["id"])]})
    assert client.delete(f"/v1/requests/{trench['id']}", headers=city.headers).status_code == 200
    problem = refused(decide(client, coordinator, surface["id"], change["id"]), 409, "invalid-precedence")
    assert "withdrawn" in problem["detail"]
    r = client.post(f"/v1/requests/{surface['id']}/changes/{change['id']}/reject",
                    json={"reason_code": "incomplete_information"}, headers=coordinator.headers)
    assert r.status_code == 200 and r.json()["after"] == [link(trench["id"])]  # the change shows what it asked


# --- the other direction: a request not yet approved names an approved one ------------------------------


def test_a_submitted_request_names_an_approved_one_by_patch(client, city, coordinator) -> None:  # noqa: ANN001
    surface = approved(client, city, coordinator, 20, title="Deckschicht")  # 20 .. 29
    marking = create(client, city, title="Markierung")
    r = client.patch(f"/v1/requests/{marking['id']}", json={"after": [link(surface["id"], 2)]},
                     headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    assert r.json()["after"] == [link(surface["id"], 2)]
    assert r.json()["slot"]["start"] == d(32)  # placed again, after the approved slot and the gap
    refused(act(client, coordinator, marking["id"], "propose", {"start": d(25)}), 409, "precedence")
    # a window that cannot reach past the approved slot is taken, but the request stays unplaced and says why
    short = create(client, city, title="Markierung kurz", latest_end=d(25))
    r = client.patch(f"/v1/requests/{short['id']}", json={"after": [link(surface["id"], 2)]},
                     headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200 and r.json()["slot"] is None
    assert r.json()["unplaced"]["blockers"][0]["kind"] == "precedence"


# --- only what a change adds needs an override ------------------------------------------------------------


def _overridden(client, city, utility, coordinator) -> tuple[str, str]:  # noqa: ANN001
    """Another owner's works approved on days 0..9 of the same street; the city's approved on the same days by
    overriding the clash."""
    theirs = approved(client, utility, coordinator, 0, kind="water")["id"]
    mine = create(client, city)["id"]
    refused(act(client, coordinator, mine, "approve", {"start": d(0)}), 409, "slot-conflict")
    ok(client, coordinator, mine, "approve", {"start": d(0), "override": True, "reason": "abgestimmt"})
    return mine, theirs


def test_shortening_a_site_approved_by_override_needs_no_override(client, city, utility, coordinator) -> None:  # noqa: ANN001
    mine, theirs = _overridden(client, city, utility, coordinator)
    change = asked(client, city, mine, {"duration_days": 5, "reason": "schneller fertig"})
    assert (change["start"], change["end"]) == (d(0), d(4))
    r = decide(client, coordinator, mine, change["id"])
    assert r.status_code == 200, r.text
    explanation = get(client, city, mine)["slot"]["explanation"]
    assert explanation["change"] == "shortened"
    assert "overridden_conflicts" not in explanation and "overridden_by" not in explanation
    assert [c["request_id"] for c in explanation["accepted_before"]["conflicts"]] == [theirs]


def test_an_extension_into_a_new_clash_still_needs_override(client, city, utility, coordinator,  # noqa: ANN001
                                                            make_caller) -> None:
    mine, theirs = _overridden(client, city, utility, coordinator)
    assert ok(client, city, mine, "start")["status"] == "active"  # it cannot move any more
    change = asked(client, city, mine, {"duration_days": 12})  # days 10, 11 are free when asked for
    assert (change["start"], change["end"], change["placement"]["method"]) == (d(0), d(11), "in_place")
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    third = approved(client, water, coordinator, 10, kind="water")["id"]  # meanwhile approved on days 10..19
    problem = refused(decide(client, coordinator, mine, change["id"]), 409, "slot-conflict")
    assert [c["request_id"] for c in problem["conflicts"]] == [third]  # not the clash approved before
    r = decide(client, coordinator, mine, change["id"], {"override": True})
    assert r.status_code == 200, r.text
    explanation = get(client, city, mine)["slot"]["explanation"]
    assert [c["request_id"] for c in explanation["overridden_conflicts"]] == [third]
    assert [c["request_id"] for c in explanation["accepted_before"]["conflicts"]] == [theirs]


def test_an_active_site_moving_its_area_into_a_clash_on_its_own_days_is_refused(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    """An active site's change counts only what it adds; a new area clashing on the days it holds adds a clash
    (its old area had none there), so the change cannot stay in place, and an active site cannot move."""
    far = {"type": "LineString", "coordinates": [[7.0300, 51.4600], [7.0310, 51.4590]]}
    mine = approved(client, city, coordinator, 0, geometry=far, diversions=[])["id"]
    theirs = approved(client, utility, coordinator, 0, kind="water")["id"]  # on the street, same days
    assert ok(client, city, mine, "start")["status"] == "active"
    street = create(client, city)["geometry"]
    problem = refused(ask(client, city, mine, {"geometry": street, "duration_days": 5}), 409, "no-slot")
    assert "active site cannot move" in problem["detail"]
    assert [c["request_id"] for c in problem["conflicts"]] == [theirs]


def test_shortening_a_site_approved_against_a_precedence_needs_no_override(client, city, coordinator) -> None:  # noqa: ANN001
    trench = approved(client, city, coordinator, 0, title="Graben")["id"]  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=[link(trench, 5)])["id"]
    refused(act(client, coordinator, pipe, "approve", {"start": d(12)}), 409, "precedence")
    ok(client, coordinator, pipe, "approve", {"start": d(12), "override": True})  # 3 days too early
    change = asked(client, city, pipe, {"duration_days": 5})
    assert (change["start"], change["end"]) == (d(12), d(16))
    (named,) = change["precedences"]  # still 3 days too early: named, as it was when approved
    assert named["request_id"] == trench
    r = decide(client, coordinator, pipe, change["id"])
    assert r.status_code == 200, r.text
    explanation = get(client, city, pipe)["slot"]["explanation"]
    assert "overridden_precedences" not in explanation
    assert [p["request_id"] for p in explanation["accepted_before"]["precedences"]] == [trench]
