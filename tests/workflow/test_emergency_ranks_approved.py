"""An emergency that takes the slot of approved works: approved work ranks above proposals. Only fixed slots (approved,
locked, the emergency's) stand in its way; where the nearest free dates need no override it stays approved there
(the owner may start on the new first day); proposals in the way of its new dates are moved out of it (a plan's or
a coordinator's proposal is displaced like the emergency's own victims, a provisional slot is placed again). Dates
that need an override (a blackout) make it a proposal; no dates at all put it in the coordinator's queue with the
coordinator's deadline, so it is not forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.auth.models import ApiKey
from service.auth.service import Principal
from service.slots.models import Slot
from service.workflow import service
from service.workflow.models import RequestDeadline
from service.workflow.schemas import ActionBody
from tests.workflow.flow import act, approved, body_now, create, d, events, get, history, ok, today
from tests.workflow.test_rules_at_approval import blackout


def _emergency(client, owner, days: int = 5, **overrides) -> dict:  # noqa: ANN001, ANN003
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                  duration_days=days, latest_end=d(30), **overrides),
                    headers=owner.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"
    return r.json()


def _owner(db, caller, kind: str) -> Principal:  # noqa: ANN001
    key_id = db.scalar(select(ApiKey.id).where(ApiKey.organisation_id == caller.org_id))
    return Principal(org_id=caller.org_id, org_name=caller.name, org_kind=kind, role="submitter", key_id=key_id)


def test_approved_works_keep_their_approval_and_a_proposal_in_the_way_moves(  # noqa: ANN001
        client, db, settings, city, utility, coordinator, make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    sewer = approved(client, city, coordinator, 4, title="Kanalerneuerung", latest_end=d(30))["id"]  # days 4..13
    fibre = create(client, utility, title="Glasfaser", kind="telecom")["id"]
    ok(client, coordinator, fibre, "propose", {"start": d(14)})  # days 14..23: every start of the sewer after
    # the emergency (days 0..4) overlaps it, but a proposal does not stand in the way of approved works
    eid = _emergency(client, water)["id"]
    db.expire_all()

    got = get(client, city, sewer)
    assert (got["status"], got["deadline"]) == ("approved", None)
    slot = db.get(Slot, sewer)
    assert (slot.start.isoformat(), slot.end.isoformat(), slot.status) == (d(5), d(14), "approved")
    assert slot.explanation["displaced_by"] == eid and slot.explanation["approval_kept"] is True
    assert slot.explanation["summary"]["de"].endswith("Die Genehmigung gilt für die neuen Termine."), slot.explanation
    assert slot.explanation["summary"]["en"].endswith("The approval holds for the new dates.")
    last = history(db, sewer)[-1]
    assert (last.action, last.actor, last.reason_code) == ("slot.displaced", "system", "emergency_displacement")
    assert "Wasserrohrbruch" in last.reason and last.after["slot"]["start"] == d(5)
    told = events(db, sewer)[-1]
    assert (told.kind, told.payload["approval_kept"], told.payload["emergency_id"]) == ("slot.displaced", True, eid)
    assert told.payload["previous_slot"]["start"] == d(4) and told.payload["slot"]["status"] == "approved"
    # the owner may set the site up on the new first day (no answer, no deadline in between)
    started = service.start(db, _owner(db, city, "city"), slot.request_id, ActionBody(), settings,
                            today=today() + timedelta(days=5))
    assert started.status == "active"

    moved = get(client, utility, fibre)
    assert moved["status"] == "slot_proposed" and moved["deadline"]["party"] == "owner"
    fslot = db.get(Slot, fibre)
    assert (fslot.start.isoformat(), fslot.status) == (d(15), "proposed")  # the nearest start after the sewer
    assert fslot.explanation["room_for"] == sewer and fslot.explanation["displaced_by"] == eid
    assert fslot.explanation["summary"]["de"].startswith("Platz gemacht für „Kanalerneuerung“"), fslot.explanation
    told = events(db, fibre)[-1]
    assert (told.kind, told.payload["room_for"], told.payload["previous_slot"]["start"]) == (
        "slot.displaced", sewer, d(14))
    assert history(db, fibre)[-1].reason_code == "emergency_displacement"


def test_a_provisional_slot_in_the_way_of_displaced_approved_works_is_placed_again(  # noqa: ANN001
        client, db, city, utility, coordinator, make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    sewer = approved(client, city, coordinator, 4, title="Kanalerneuerung", latest_end=d(30))["id"]  # days 4..13
    fibre = create(client, utility, title="Glasfaser", kind="telecom", preferred_start=d(14))
    assert (fibre["slot"]["start"], fibre["slot"]["provisional"]) == (d(14), True)
    _emergency(client, water)
    db.expire_all()
    assert (db.get(Slot, sewer).start.isoformat(), db.get(Slot, sewer).status) == (d(5), "approved")
    got = get(client, utility, fibre["id"])
    assert got["status"] == "submitted"  # still the coordinator's, placed again at once
    slot = db.get(Slot, fibre["id"])
    assert (slot.start.isoformat(), slot.status, slot.provisional) == (d(15), "proposed", True)
    assert slot.explanation["fixed_by"] == sewer
    assert history(db, fibre["id"])[-1].action == "slot.placed"


def test_displaced_approved_works_whose_only_dates_lie_in_a_blackout_become_a_proposal(  # noqa: ANN001
        client, db, city, coordinator, make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    sewer = approved(client, city, coordinator, 0, latest_end=d(30))["id"]  # days 0..9
    blackout(client, coordinator, 15, 40, name="Stadtfest")
    _emergency(client, water, days=15)  # days 0..14: every start left lies in the blackout
    db.expire_all()
    got = get(client, city, sewer)
    assert got["status"] == "slot_proposed"  # an approval there needs the coordinator's override
    slot = db.get(Slot, sewer)
    assert (slot.start.isoformat(), slot.status) == (d(15), "proposed")
    assert "approval_kept" not in slot.explanation


def test_displaced_works_left_without_a_slot_wait_with_the_coordinators_deadline(  # noqa: ANN001
        client, db, settings, city, coordinator, make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    sewer = approved(client, city, coordinator, latest_end=d(20))["id"]
    _emergency(client, water, days=15)
    db.expire_all()
    got = get(client, coordinator, sewer)
    assert got["status"] == "submitted" and db.get(Slot, sewer).status == "unplaced"
    assert (got["deadline"]["party"], got["deadline"]["status"]) == ("coordinator", "submitted")
    due = db.get(RequestDeadline, sewer).due_at
    # nothing to deem approved: the deadline stays, overdue, in the coordinator's view
    report = service.check_deadlines(db, settings, now=due + timedelta(minutes=5))
    assert str(sewer) not in report.deemed_approved + report.withheld
    assert get(client, coordinator, sewer)["deadline"]["due_at"] == got["deadline"]["due_at"]
    assert act(client, city, sewer, "accept").status_code == 409
