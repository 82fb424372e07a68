"""Precedences (``after``) found while a slot is being agreed on, or given by a change after approval: a request
in ``slot_proposed``, ``accepted`` or ``contested`` takes a PATCH of ``after`` alone (its slot keeps its dates and
warns of what it breaks; the approval checks the order), and an approved change that orders a request before a
submitted one whose provisional slot breaks the new order places that one again at once."""

from __future__ import annotations

from tests.workflow.flow import act, approved, create, d, events, get, history, ok, patch

PROBLEM = "application/problem+json"


def link(rid: str, min_gap: int = 0, max_gap: int | None = None) -> dict:
    return {"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}


def test_an_approved_change_places_a_submitted_predecessor_s_provisional_slot_again(  # noqa: ANN001
        client, db, city, coordinator) -> None:
    """The resurfacing is approved on days 60..69; the trench, submitted later, got a provisional slot after it
    (it prefers day 75). A change orders the resurfacing after the trench, at most 30 days apart: the trench is
    placed again before day 60 at once, and the approved slot is left without a warning."""
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    trench = create(client, city, title="Graben", preferred_start=d(75))
    assert get(client, city, trench["id"])["slot"]["start"] == d(75)
    change = client.post(f"/v1/requests/{surface['id']}/changes", headers=city.headers,
                         json={"after": [link(trench["id"], 0, 30)], "reason": "Graben zuerst"})
    assert change.status_code == 201, change.text
    assert [p["request_id"] for p in change.json()["precedences"]] == [trench["id"]]

    r = client.post(f"/v1/requests/{surface['id']}/changes/{change.json()['id']}/approve", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    slot = get(client, city, trench["id"])["slot"]
    assert (slot["start"], slot["end"], slot["status"]) == (d(50), d(59), "proposed")  # nearest to day 75, before
    assert slot["explanation"]["reordered_by"] == surface["id"]
    assert "Deckschicht" in slot["explanation"]["reordered"]["de"]
    assert history(db, trench["id"])[-1].action == "slot.placed"
    told = events(db, trench["id"])[-1]  # subscribers learn the new provisional dates
    assert (told.kind, told.payload["previous_slot"]["start"]) == ("slot.displaced", d(75))
    assert "precedence_warnings" not in get(client, city, surface["id"])["slot"]["explanation"]


def test_a_plan_s_proposal_is_not_moved_by_an_approved_change(client, db, city, coordinator) -> None:  # noqa: ANN001
    """A slot a coordinator proposed is the conversation's: it stays, and the approved slot warns of it."""
    surface = approved(client, city, coordinator, 60, title="Deckschicht")
    trench = create(client, city, title="Graben")
    ok(client, coordinator, trench["id"], "propose", {"start": d(75)})
    change = client.post(f"/v1/requests/{surface['id']}/changes", headers=city.headers,
                         json={"after": [link(trench["id"])]}).json()
    r = client.post(f"/v1/requests/{surface['id']}/changes/{change['id']}/approve", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert get(client, city, trench["id"])["slot"]["start"] == d(75)
    warned = get(client, city, surface["id"])["slot"]["explanation"]["precedence_warnings"]
    assert [w["request_id"] for w in warned] == [trench["id"]]


def test_a_request_being_agreed_on_takes_a_new_order_alone_and_warns_of_what_its_slot_breaks(  # noqa: ANN001
        client, db, city, coordinator) -> None:
    surface = create(client, city, title="Deckschicht")
    ok(client, coordinator, surface["id"], "propose", {"start": d(20)})  # slot_proposed, days 20..29
    trench = approved(client, city, coordinator, 40, title="Graben")  # days 40..49
    before = get(client, city, surface["id"])

    # other fields stay refused, and the answer says what can still be changed
    r = patch(client, city, surface["id"], {"title": "Neu", "after": [link(trench["id"])]})
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM), r.text
    assert "only the precedences (`after`, alone)" in r.json()["detail"]

    r = patch(client, city, surface["id"], {"after": [link(trench["id"])]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["after"] == [link(trench["id"])] and body["status"] == "slot_proposed"
    assert body["version"] > before["version"]
    assert body["slot"]["start"] == d(20)  # the slot is negotiated, not moved by an edit
    [warning] = body["warnings"]
    assert "Graben" in warning
    [warned] = body["slot"]["explanation"]["precedence_warnings"]
    assert (warned["request_id"], warned["slot"]["status"]) == (trench["id"], "approved")
    assert history(db, surface["id"])[-1].action == "update"

    # the approval checks the order: the trench's approved slot comes first
    ok(client, city, surface["id"], "accept")
    refused = act(client, coordinator, surface["id"], "approve")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/precedence"), refused.text
    # the order is taken back while accepted: the warning goes, and the approval passes
    r = patch(client, city, surface["id"], {"after": []})
    assert r.status_code == 200 and r.json()["warnings"] == [], r.text
    assert "precedence_warnings" not in r.json()["slot"]["explanation"]
    assert ok(client, coordinator, surface["id"], "approve")["status"] == "approved"


def test_a_contested_request_takes_a_new_order_alone(client, db, city, coordinator) -> None:  # noqa: ANN001
    trench = create(client, city, title="Graben")
    surface = create(client, city, title="Deckschicht")
    ok(client, coordinator, surface["id"], "propose", {"start": d(60)})
    ok(client, city, surface["id"], "contest", {"reason": "Graben zuerst"})
    r = patch(client, city, surface["id"], {"after": [link(trench["id"])]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "contested" and r.json()["after"] == [link(trench["id"])]
    # the coordination office may order two requests while they are agreed on, too
    r = patch(client, coordinator, surface["id"], {"after": []})
    assert r.status_code == 200 and r.json()["after"] == [], r.text
