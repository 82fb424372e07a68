"""The coordination workflow through the API against real PostGIS: lifecycle, illegal steps, permissions,
start inside the slot only, concurrent approvals, history, comments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.kit.encode import rfc3339
from service.slots.models import Slot
from tests.workflow.flow import act, approved, create, d, events, history, ok, today


def test_whole_lifecycle(client, db, city, coordinator) -> None:  # noqa: ANN001
    req = create(client, city, status="draft")
    rid = req["id"]
    assert req["slot"] is None  # a draft is not placed
    submitted = ok(client, city, rid, "submit")
    assert submitted["status"] == "submitted"
    # sent in, it is placed at once like a request submitted directly
    slot = submitted["slot"]
    assert (slot["start"], slot["end"], slot["provisional"]) == (d(0), d(9), True)
    proposed = ok(client, coordinator, rid, "propose", {"start": d(0), "explanation": {"note": "by hand"}})
    assert proposed["status"] == "slot_proposed"
    assert proposed["deadline"]["party"] == "owner"
    stored = db.get(Slot, rid)
    assert (stored.start.isoformat(), stored.end.isoformat(), stored.status) == (d(0), d(9), "proposed")
    accepted = ok(client, city, rid, "accept")
    assert accepted["status"] == "accepted" and accepted["deadline"]["party"] == "coordinator"
    etag = client.get(f"/v1/requests/{rid}", headers=coordinator.headers).headers["etag"]
    r = act(client, coordinator, rid, "approve", {"reason": "passt"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["deadline"] is None
    assert r.headers["etag"] != etag
    db.expire_all()
    assert db.get(Slot, rid).status == "approved"
    assert ok(client, city, rid, "start")["status"] == "active"
    assert ok(client, city, rid, "complete")["status"] == "completed"
    db.expire_all()
    assert db.get(Slot, rid).end.isoformat() == d(0)  # finished the first day: the rest is free again
    summary = client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"]["explanation"]["summary"]
    assert summary["de"].startswith("Früher fertig:") and f"geplant bis {today() + timedelta(days=9):%d.%m.%Y}" \
        in summary["de"]
    assert summary["en"].startswith("Finished early:")

    kinds = [e.kind for e in events(db, rid)]
    assert kinds == ["request.created", "request.submitted", "slot.proposed", "request.accepted",
                     "request.approved", "request.started", "request.completed"]
    assert [h.action for h in history(db, rid)] == [
        "create", "submit", "propose", "accept", "approve", "start", "complete"]
    approve_event = events(db, rid)[4]
    assert approve_event.payload["from"] == "accepted"
    assert approve_event.payload["slot"] == {"start": d(0), "end": d(9), "status": "approved"}
    assert approve_event.organisation_id == coordinator.org_id


def test_contest_with_counter_proposal_then_approve_another_start(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    r = act(client, city, rid, "contest", {})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    # dates in the past are no counter-proposal (they would widen the window backwards): refused, nothing changes
    r = act(client, city, rid, "contest", {"reason": "später", "counter_proposal": {"earliest_start": d(-1),
                                                                                  "latest_end": d(40)}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "counter_proposal.earliest_start", r.text
    got = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert (got["status"], got["earliest_start"]) == ("slot_proposed", d(0))
    contested = ok(client, city, rid, "contest", {
        "reason": "Schulferien erst ab dem 20.", "counter_proposal": {"earliest_start": d(20), "latest_end": d(40)}})
    assert contested["status"] == "contested"
    event = events(db, rid)[-1]
    assert event.kind == "request.contested"
    assert event.payload["counter_proposal"] == {"earliest_start": d(20), "latest_end": d(40)}
    done = ok(client, coordinator, rid, "approve", {"start": d(20)})
    assert done["status"] == "approved"
    db.expire_all()
    assert (db.get(Slot, rid).start.isoformat(), db.get(Slot, rid).end.isoformat()) == (d(20), d(29))
    outside = act(client, coordinator, create(client, city)["id"], "approve", {"start": d(85)})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "start"


def test_a_contested_request_shows_the_counter_proposal_until_a_new_slot_is_proposed(  # noqa: ANN001
        client, db, city, coordinator) -> None:
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    ok(client, city, rid, "contest", {"reason": " Schulferien erst ab dem 20. ",
                                      "counter_proposal": {"earliest_start": d(20), "latest_end": d(40)}})
    row = history(db, rid)[-1]  # stored with the contest, not only in its reason text
    assert row.action == "contest" and row.reason == "Schulferien erst ab dem 20."
    assert row.after["counter_proposal"] == {"earliest_start": d(20), "latest_end": d(40)}
    for caller in (coordinator, city):  # each read is a new transaction: it is read back from what was stored
        got = client.get(f"/v1/requests/{rid}", headers=caller.headers).json()
        assert got["status"] == "contested"
        slot = got["slot"]
        assert (slot["start"], slot["status"]) == (d(0), "proposed"), "the proposed slot is still there"
        assert slot["counter_proposal"] == {"earliest_start": d(20), "latest_end": d(40),
                                            "reason": "Schulferien erst ab dem 20.", "at": rfc3339(row.at)}

    proposed = ok(client, coordinator, rid, "propose", {"start": d(20)})  # the coordinator answers with a new slot
    assert proposed["slot"]["start"] == d(20) and "counter_proposal" not in proposed["slot"]
    contested = ok(client, city, rid, "contest", {"reason": "Doch zu früh"})  # no window this time
    assert contested["status"] == "contested" and "counter_proposal" not in contested["slot"]
    assert "counter_proposal" not in history(db, rid)[-1].after

    other = create(client, city)["id"]  # approved straight from the contest, the counter-proposal is done with
    ok(client, coordinator, other, "propose", {"start": d(0)})
    ok(client, city, other, "contest", {"reason": "später", "counter_proposal": {"earliest_start": d(30),
                                                                                 "latest_end": d(50)}})
    done = ok(client, coordinator, other, "approve", {"start": d(30)})
    assert done["status"] == "approved" and "counter_proposal" not in done["slot"]


def test_reject_needs_a_known_reason_code_and_revoke_a_reason(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    assert act(client, coordinator, rid, "reject", {}).status_code == 422
    bad = act(client, coordinator, rid, "reject", {"reason_code": "because"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason_code"
    assert act(client, coordinator, rid, "reject", {"reason_code": "other"}).status_code == 422
    rejected = ok(client, coordinator, rid, "reject", {"reason_code": "inside_moratorium", "reason": "Neu asphaltiert"})
    assert rejected["status"] == "rejected"
    event = events(db, rid)[-1]
    assert (event.kind, event.payload["reason_code"]) == ("request.rejected", "inside_moratorium")
    assert event.payload["reason_text"]["de"].startswith("Liegt in einer Aufbruchsperre")
    # the owner reads why on the request itself
    decision = client.get(f"/v1/requests/{rid}", headers=city.headers).json()["decision"]
    assert decision | {"at": None} == {
        "action": "reject", "at": None, "reason_code": "inside_moratorium", "reason": "Neu asphaltiert",
        "reason_de": "Liegt in einer Aufbruchsperre (Moratorium)",
        "reason_en": "Inside a moratorium (newly surfaced road)"}

    other = approved(client, city, coordinator)["id"]
    assert act(client, coordinator, other, "revoke", {}).status_code == 422
    revoked = ok(client, coordinator, other, "revoke", {"reason": "Rohrbruch in der Nähe",
                                                         "reason_code": "conflicts_with_approved_site"})
    assert revoked["status"] == "submitted" and revoked["decision"] is None
    db.expire_all()
    assert db.get(Slot, other).status == "proposed"
    assert events(db, other)[-1].kind == "approval.revoked"


def test_reason_codes_are_listed_in_german_and_english(client, city) -> None:  # noqa: ANN001
    codes = {c["code"]: c for c in client.get("/v1/reason-codes").json()}
    for code in ("conflicts_with_approved_site", "inside_moratorium", "inside_blackout", "incomplete_information",
                 "zone_capacity_exhausted", "outside_window", "other", "deemed_approved"):
        assert codes[code]["de"] and codes[code]["en"]
    assert codes["deemed_approved"]["use"] == "system"


# What each caller may do from each state: the specification, written out independently of states.py.
OWNER = {
    "draft": ["submit", "withdraw"], "submitted": ["withdraw"], "slot_proposed": ["accept", "contest", "withdraw"],
    "accepted": ["withdraw"], "contested": ["withdraw"], "approved": ["start", "withdraw"],
    "rejected": ["withdraw"], "active": ["complete"], "completed": [], "withdrawn": [],
}
COORD = {
    "draft": [], "submitted": ["propose", "approve", "reject"], "slot_proposed": ["propose", "approve", "reject"],
    "accepted": ["propose", "approve", "reject"], "contested": ["propose", "approve", "reject"],
    "approved": ["revoke"], "rejected": [], "active": [], "completed": [], "withdrawn": [],
}
OWNER_ACTIONS = ("submit", "accept", "contest", "start", "complete", "withdraw")
COORD_ACTIONS = ("approve", "reject", "revoke")


def _in_state(client, city, coordinator, state: str) -> str:  # noqa: ANN001
    if state == "draft":
        return create(client, city, status="draft")["id"]
    rid = create(client, city)["id"]
    path = {
        "submitted": [], "slot_proposed": ["propose"], "accepted": ["propose", "accept"],
        "contested": ["propose", "contest"], "approved": ["propose", "accept", "approve"],
        "rejected": ["reject"], "active": ["propose", "accept", "approve", "start"],
        "completed": ["propose", "accept", "approve", "start", "complete"], "withdrawn": ["withdraw"],
    }[state]
    bodies = {"propose": {"start": d(0)}, "contest": {"reason": "nein"}, "reject": {"reason_code": "other",
                                                                                     "reason": "x"}}
    for step in path:
        caller = coordinator if step in ("propose", "approve", "reject") else city
        ok(client, caller, rid, step, bodies.get(step))
    return rid


@pytest.mark.parametrize("state", list(OWNER))
def test_every_illegal_transition_answers_409_with_the_allowed_steps(client, db, city, coordinator, state) -> None:  # noqa: ANN001
    rid = _in_state(client, city, coordinator, state)
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == state
    assert client.get(f"/v1/requests/{rid}/actions", headers=city.headers).json()["allowed"] == OWNER[state]
    assert client.get(f"/v1/requests/{rid}/actions", headers=coordinator.headers).json()["allowed"] == COORD[state]
    before = len(events(db, rid))
    for actions, caller, allowed in ((OWNER_ACTIONS, city, OWNER[state]), (COORD_ACTIONS, coordinator, COORD[state])):
        for action in actions:
            if action in allowed:
                continue
            r = act(client, caller, rid, action, {"reason": "r", "reason_code": "other"})
            assert r.status_code == 409, (state, action, r.text)
            problem = r.json()
            assert r.headers["content-type"] == "application/problem+json"
            assert problem["allowed"] == allowed and problem["status_now"] == state, (state, action)
    assert len(events(db, rid)) == before  # refused steps change nothing


def test_permissions_owner_coordinator_other_organisation(client, city, utility, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    draft = create(client, city, status="draft")["id"]
    assert act(client, utility, draft, "submit").status_code == 404
    assert act(client, utility, draft, "withdraw").status_code == 404
    assert act(client, coordinator, rid, "withdraw").status_code == 403  # an owner step
    assert act(client, city, rid, "approve").status_code == 403  # a coordinator step
    assert act(client, city, rid, "reject", {"reason_code": "other", "reason": "x"}).status_code == 403
    assert act(client, city, rid, "propose", {"start": d(0)}).status_code == 403
    assert act(client, utility, rid, "withdraw").status_code == 403
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    assert act(client, utility, rid, "accept").status_code == 403
    for path in ("history", "comments", "changes"):
        assert client.get(f"/v1/requests/{rid}/{path}", headers=utility.headers).status_code == 403
        assert client.get(f"/v1/requests/{draft}/{path}", headers=utility.headers).status_code == 404
        assert client.get(f"/v1/requests/{rid}/{path}", headers=city.headers).status_code == 200
        assert client.get(f"/v1/requests/{rid}/{path}", headers=coordinator.headers).status_code == 200
    assert act(client, city, rid, "accept").status_code == 200


def test_start_outside_the_approved_slot_is_refused(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator, start_offset=5)["id"]
    r = act(client, city, rid, "start")
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"].endswith("/outside-approved-slot")
    assert problem["slot"] == {"start": d(5), "end": d(14), "status": "approved"}
    assert d(5) in problem["detail"]
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "approved"


def test_delete_goes_through_the_withdraw_transition(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    r = client.delete(f"/v1/requests/{rid}", headers=city.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    db.expire_all()
    assert db.get(Slot, rid) is None  # the slot is free for others
    rows = history(db, rid)
    assert rows[-1].action == "withdraw" and rows[-1].before["status"] == "approved"
    assert rows[-1].before["slot"]["status"] == "approved" and rows[-1].after == {"status": "withdrawn",
                                                                                   "slot": None}
    assert client.delete(f"/v1/requests/{rid}", headers=city.headers).status_code == 200  # idempotent
    assert len(history(db, rid)) == len(rows)
    posted = act(client, city, rid, "withdraw")
    assert posted.status_code == 409 and posted.json()["allowed"] == []


def test_history_has_every_change_once_in_order(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city, status="draft")["id"]
    r = client.patch(f"/v1/requests/{rid}", json={"title": "Neuer Titel"}, headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 200, r.text
    client.patch(f"/v1/requests/{rid}", json={"title": "Neuer Titel"}, headers={**city.headers, "If-Match": '"v2"'})
    ok(client, city, rid, "submit", {"reason": "fertig"})
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    ok(client, coordinator, rid, "propose", {"start": d(3), "reason": "besser"})
    ok(client, city, rid, "accept")
    ok(client, coordinator, rid, "approve")
    ok(client, city, rid, "withdraw", {"reason": "Budget"})
    got = client.get(f"/v1/requests/{rid}/history", headers=coordinator.headers).json()
    assert [h["seq"] for h in got] == list(range(1, len(got) + 1))
    assert [h["action"] for h in got] == ["create", "update", "submit", "propose", "propose", "accept", "approve",
                                          "withdraw"]
    assert got[0]["before"] is None and got[0]["after"]["title"] == "Kanalerneuerung Rüttenscheider Straße"
    assert got[1]["before"] == {"title": "Kanalerneuerung Rüttenscheider Straße"}
    assert got[1]["after"] == {"title": "Neuer Titel"}
    assert got[2]["reason"] == "fertig" and got[2]["after"] == {"status": "submitted"}
    assert got[4]["before"]["slot"]["start"] == d(0) and got[4]["after"]["slot"]["start"] == d(3)
    assert got[4]["reason"] == "besser"
    assert got[6]["actor"] == "coordinator" and got[6]["organisation_id"] == str(coordinator.org_id)
    assert got[6]["key_id"] is not None
    assert got[7]["after"] == {"status": "withdrawn", "slot": None} and got[7]["reason"] == "Budget"
    assert [a <= b for a, b in zip([h["at"] for h in got], [h["at"] for h in got][1:], strict=False)] == [True] * 7


def test_history_is_append_only_in_the_database(client, db, city) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    for statement in ("update request_history set reason = 'forged' where request_id = :rid",
                      "delete from request_history where request_id = :rid"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement), {"rid": rid})
    assert [h.action for h in history(db, rid)] == ["create"]
    assert history(db, rid)[0].reason is None


def test_stale_etag_on_approve_is_412(client, db, city, coordinator, make_caller) -> None:  # noqa: ANN001
    second = make_caller("coordinator", "coordinator")
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    seen = client.get(f"/v1/requests/{rid}", headers=second.headers).headers["etag"]
    ok(client, city, rid, "accept")  # the request changes after the second coordinator read it
    fresh = client.get(f"/v1/requests/{rid}", headers=coordinator.headers).headers["etag"]
    assert act(client, coordinator, rid, "approve", **{"If-Match": fresh}).status_code == 200
    late = act(client, second, rid, "approve", **{"If-Match": seen})
    assert late.status_code == 412 and late.json()["type"].endswith("/stale-etag")
    assert [e.kind for e in events(db, rid)].count("request.approved") == 1


def test_comments_visible_to_owner_and_coordinators_only(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    r = client.post(f"/v1/requests/{rid}/comments", json={"text": "Bitte Umleitung prüfen"},
                    headers=coordinator.headers)
    assert r.status_code == 201 and r.json()["organisation"]["id"] == str(coordinator.org_id)
    assert r.headers["location"] == f"/v1/requests/{rid}/comments/{r.json()['id']}"
    assert client.get(r.headers["location"], headers=city.headers).json() == r.json()
    assert client.get(r.headers["location"], headers=utility.headers).status_code == 403
    assert client.get(f"/v1/requests/{rid}/comments/{rid}", headers=city.headers).status_code == 404
    assert client.post(f"/v1/requests/{rid}/comments", json={"text": "Ist geprüft"},
                       headers=city.headers).status_code == 201
    foreign = client.post(f"/v1/requests/{rid}/comments", json={"text": "Ich auch"}, headers=utility.headers)
    assert foreign.status_code == 403 and foreign.json()["detail"].endswith("may comment on it.")
    assert client.post(f"/v1/requests/{rid}/comments", json={"text": ""}, headers=city.headers).status_code == 422
    for caller in (city, coordinator):
        listed = client.get(f"/v1/requests/{rid}/comments", headers=caller.headers).json()
        assert [c["text"] for c in listed] == ["Bitte Umleitung prüfen", "Ist geprüft"]
        assert listed[1]["organisation"]["name"] == city.name
    assert client.get(f"/v1/requests/{rid}/comments", headers=utility.headers).status_code == 403
    assert [e.kind for e in events(db, rid)][-2:] == ["comment.added", "comment.added"]


def test_a_moved_slot_is_a_new_version_and_if_match_guards_every_step(client, city, coordinator) -> None:  # noqa: ANN001
    """The ETag covers the slot: whoever read a slot that has moved since cannot accept or approve it blindly."""
    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    seen_by_owner = client.get(url, headers=city.headers)
    seen = seen_by_owner.headers["etag"]
    assert seen_by_owner.json()["slot"]["start"] == d(0)
    moved = ok(client, coordinator, rid, "propose", {"start": d(20)})
    assert moved["slot"]["start"] == d(20) and moved["status"] == "slot_proposed"
    now = client.get(url, headers=city.headers).headers["etag"]
    assert now != seen, "a moved slot is a new version of the request"

    stale_accept = act(client, city, rid, "accept", **{"If-Match": seen})
    assert stale_accept.status_code == 412 and stale_accept.headers["etag"] == now, stale_accept.text
    stale_propose = act(client, coordinator, rid, "propose", {"start": d(30)}, **{"If-Match": seen})
    assert stale_propose.status_code == 412
    weak = act(client, city, rid, "accept", **{"If-Match": f"W/{now}"})
    assert weak.status_code == 412 and "weak tag never matches" in weak.json()["detail"]
    assert client.get(url, headers=city.headers).json()["status"] == "slot_proposed"  # nothing happened

    accepted = act(client, city, rid, "accept", **{"If-Match": now})
    assert accepted.status_code == 200 and accepted.json()["slot"]["start"] == d(20)
    after_accept = accepted.headers["etag"]
    assert act(client, coordinator, rid, "approve", **{"If-Match": now}).status_code == 412
    assert act(client, city, rid, "withdraw", **{"If-Match": now}).status_code == 412
    assert act(client, coordinator, rid, "approve", **{"If-Match": after_accept}).status_code == 200


def test_a_plan_that_moves_a_slot_changes_the_etag(client, db, city, coordinator) -> None:  # noqa: ANN001
    from service.slots.repository import put_slot

    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    before = client.get(url, headers=city.headers)
    put_slot(db, before.json()["id"], start=today() + timedelta(days=40), end=today() + timedelta(days=49))
    db.flush()
    after = client.get(url, headers=city.headers)
    assert after.json()["slot"]["start"] == d(40) and after.headers["etag"] != before.headers["etag"]
    assert after.json()["updated_at"] > before.json()["updated_at"]


def test_a_counter_proposal_beyond_the_window_can_be_granted(client, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]  # window d(0)..d(89)
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    contested = ok(client, city, rid, "contest", {
        "reason": "Erst nach der Sommerpause", "counter_proposal": {"earliest_start": d(100), "latest_end": d(120)}})
    assert (contested["earliest_start"], contested["latest_end"]) == (d(0), d(120)), "the window takes it in"
    r = act(client, coordinator, rid, "approve", {"start": d(100)})
    assert r.status_code == 200 and r.json()["slot"]["start"] == d(100), r.text
