"""Deadlines (driven clock), emergencies with re-placement, changes after approval, concurrent approvals."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth.service import Principal
from service.kit.problems import Problem
from service.kit.time import now as service_now
from service.requests import service as requests_service
from service.requests.schemas import RequestWrite
from service.slots.models import Slot
from service.workflow import service
from service.workflow.calendar import add_working_days, is_working_day, working_days_deadline
from service.workflow.models import RequestDeadline
from service.workflow.schemas import ActionBody
from tests.workflow.flow import act, approved, body_now, create, d, events, history, new_principal, ok, today

BERLIN = ZoneInfo("Europe/Berlin")


def test_nrw_working_days() -> None:
    assert is_working_day(date(2027, 1, 9))  # a Saturday counts
    assert not is_working_day(date(2027, 1, 10))  # Sunday
    assert not is_working_day(date(2027, 5, 27))  # Corpus Christi, a holiday in NRW
    assert is_working_day(date(2028, 10, 31))  # Reformation Day (a Tuesday) is no holiday in NRW
    assert add_working_days(date(2027, 12, 23), 3) == date(2027, 12, 28)  # 25th: holiday, 26th: Sunday
    assert add_working_days(date(2027, 5, 26), 1) == date(2027, 5, 28)
    assert working_days_deadline(datetime(2027, 12, 23, 15, 0, tzinfo=BERLIN), 3, BERLIN) == datetime(
        2027, 12, 29, 0, 0, tzinfo=BERLIN)
    # 10 working days from Monday 2027-03-22 skip Good Friday (26th), two Sundays and Easter Monday (29th).
    assert add_working_days(date(2027, 3, 22), 10) == date(2027, 4, 5)


def test_coordinator_silence_deems_the_accepted_proposal_approved(client, db, settings, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    deadline = db.get(RequestDeadline, rid)
    assert (deadline.party, deadline.status) == ("coordinator", "submitted")
    assert deadline.due_at == working_days_deadline(deadline.since, 10, BERLIN)

    ok(client, coordinator, rid, "propose", {"start": d(5)})
    ok(client, city, rid, "accept")
    db.expire_all()
    deadline = db.get(RequestDeadline, rid)
    assert (deadline.party, deadline.status) == ("coordinator", "accepted")
    due = deadline.due_at
    assert service.check_deadlines(db, settings, now=due - timedelta(seconds=1)).deemed_approved == []
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "accepted"

    report = service.check_deadlines(db, settings, now=due)
    assert report.deemed_approved == [rid]
    db.expire_all()
    got = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert got["status"] == "approved" and got["deadline"] is None
    assert db.get(Slot, rid).status == "approved"
    last = history(db, rid)[-1]
    assert (last.action, last.actor, last.reason_code, last.organisation_id) == (
        "deem_approve", "system", "deemed_approved", None)
    assert last.after == {"status": "approved", "slot": {"start": d(5), "end": d(14), "status": "approved"}}
    event = events(db, rid)[-1]
    assert event.kind == "request.deemed_approved" and event.organisation_id is None
    assert service.check_deadlines(db, settings, now=due + timedelta(days=1)).deemed_approved == []


def test_submitted_request_is_deemed_approved_only_with_a_proposed_slot(client, db, settings, city) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    db.execute(text("delete from slots where request_id = :id"), {"id": rid})  # no (provisional) proposal
    due = db.get(RequestDeadline, rid).due_at
    assert service.check_deadlines(db, settings, now=due + timedelta(days=60)).deemed_approved == []
    db.add(Slot(request_id=rid, start=today(), end=today() + timedelta(days=9), status="proposed",
                provisional=True, explanation={}))
    db.flush()
    assert service.check_deadlines(db, settings, now=due - timedelta(seconds=1)).deemed_approved == []
    assert service.check_deadlines(db, settings, now=due).deemed_approved == [rid]
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "approved"
    assert [h.action for h in history(db, rid)][-1] == "deem_approve"


def test_owner_silence_lapses_the_proposal_back_to_the_queue(client, db, settings, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    deadline = db.get(RequestDeadline, rid)
    assert deadline.party == "owner"
    assert deadline.due_at == deadline.since + timedelta(days=14)
    assert service.check_deadlines(db, settings, now=deadline.since + timedelta(days=13)).lapsed == []
    report = service.check_deadlines(db, settings, now=deadline.since + timedelta(days=14, seconds=1))
    assert report.lapsed == [rid] and report.deemed_approved == []
    db.expire_all()
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "submitted"
    assert db.get(RequestDeadline, rid) is None  # a lapsed proposal is never deemed approved later
    event = events(db, rid)[-1]
    assert event.kind == "proposal.lapsed" and event.payload["reason_code"] == "proposal_lapsed"
    assert history(db, rid)[-1].actor == "system"
    late = act(client, city, rid, "accept")
    assert late.status_code == 409 and late.json()["allowed"] == ["withdraw"]


def _no_overlap(a: Slot, b: Slot) -> bool:
    return a.end < b.start or b.end < a.start


def test_emergency_displaces_two_approved_sites_and_replans_them(client, db, city, utility, coordinator,  # noqa: ANN001
                                                                   make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    a = approved(client, city, coordinator, start_offset=0)["id"]
    b = approved(client, utility, coordinator, start_offset=10)["id"]
    far = approved(client, water, coordinator, start_offset=0, geometry={
        "type": "LineString", "coordinates": [[7.0500, 51.4600], [7.0510, 51.4590]]})["id"]  # ~4 km away

    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                  duration_days=15, latest_end=d(30)), headers=water.headers)
    assert r.status_code == 201, r.text
    emergency = r.json()
    assert emergency["status"] == "active"
    eid = emergency["id"]
    db.expire_all()
    e_slot = db.get(Slot, eid)
    assert (e_slot.start, e_slot.end, e_slot.status) == (today(), today() + timedelta(days=14), "approved")
    assert [ev.kind for ev in events(db, eid)] == ["request.created", "request.emergency"]
    assert sorted(events(db, eid)[-1].payload["displaced"]) == sorted([a, b])

    slots = {rid: db.get(Slot, rid) for rid in (a, b)}
    for rid, old_start in ((a, d(0)), (b, d(10))):
        # approved works keep their approval at the nearest free dates (no override needed there)
        got = client.get(f"/v1/requests/{rid}", headers=coordinator.headers).json()
        assert got["status"] == "approved" and got["deadline"] is None
        slot = slots[rid]
        assert slot.status == "approved" and slot.start >= today() and slot.explanation["approval_kept"] is True
        assert (slot.end - slot.start).days + 1 == 10 and slot.end <= today() + timedelta(days=89)
        assert _no_overlap(slot, e_slot)
        assert slot.explanation["displaced_by"] == eid
        assert slot.explanation["summary"]["de"].startswith("Wegen der Notfall-Baustelle „Wasserrohrbruch“ verschoben")
        assert slot.explanation["summary"]["en"].startswith("Moved for the emergency works “Wasserrohrbruch”")
        assert slot.explanation["method"] in ("scheduler.incremental", "workflow.greedy")
        displaced = events(db, rid)[-1]
        assert displaced.kind == "slot.displaced"
        assert displaced.payload["previous_slot"]["start"] == old_start
        assert displaced.payload["owner_id"] == got["owner"]["id"]
        assert displaced.payload["approval_kept"] is True
        assert (history(db, rid)[-1].action, history(db, rid)[-1].reason_code) == (
            "slot.displaced", "emergency_displacement")
    assert _no_overlap(slots[a], slots[b])
    assert slots[a].start == today() + timedelta(days=15)  # as close as possible to where it was
    assert db.get(Slot, far).status == "approved" and db.get(Slot, far).start == today()  # not in the way

    for rid, owner in ((a, city), (b, utility)):  # nothing to answer again: the approval holds
        assert act(client, owner, rid, "accept").status_code == 409


def test_emergency_without_room_goes_back_to_the_queue(client, db, city, coordinator, make_caller) -> None:  # noqa: ANN001
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    a = approved(client, city, coordinator, latest_end=d(20))["id"]
    eid = client.post("/v1/requests", json=body_now(urgency="emergency", duration_days=15, latest_end=d(30)),
                      headers=water.headers).json()["id"]
    db.expire_all()
    assert client.get(f"/v1/requests/{a}", headers=city.headers).json()["status"] == "submitted"
    slot = db.get(Slot, a)
    assert slot.status == "unplaced" and slot.start is None and eid in slot.unplaced["blocking"]
    assert "im Zeitfenster ist danach kein Beginn mehr frei" in slot.unplaced["reason"]["de"]


def test_change_after_approval_extension_in_place(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 15, "reason": "Mehr Leitungen"},
                    headers=city.headers)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["status"] == "pending" and (change["start"], change["end"]) == (d(0), d(14))
    assert r.headers["location"] == f"/v1/requests/{rid}/changes/{change['id']}"
    assert client.get(r.headers["location"], headers=coordinator.headers).json() == change
    assert change["placement"]["method"] == "in_place" and change["conflicts"] == []
    db.expire_all()
    assert db.get(Slot, rid).end.isoformat() == d(9)  # the old slot stays valid until the decision
    again = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 12}, headers=city.headers)
    assert again.status_code == 409
    assert client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve",
                       headers=city.headers).status_code == 403
    done = client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve", json={"reason": "ok"},
                       headers=coordinator.headers)
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert done.json()["decided_at"].endswith("Z"), "UTC like every timestamp, not the local offset"
    got = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert got["duration_days"] == 15 and got["status"] == "approved"
    db.expire_all()
    assert (db.get(Slot, rid).end.isoformat(), db.get(Slot, rid).status) == (d(14), "approved")
    assert [h.action for h in history(db, rid)][-2:] == ["change.requested", "change.approved"]
    assert history(db, rid)[-1].after["slot"]["end"] == d(14)
    assert [e.kind for e in events(db, rid)][-2:] == ["change.requested", "change.approved"]


def test_conflicting_change_is_placed_elsewhere_and_can_be_rejected(client, db, city, utility,  # noqa: ANN001
                                                                    coordinator) -> None:
    a = approved(client, city, coordinator)["id"]
    approved(client, utility, coordinator, start_offset=20)
    change = client.post(f"/v1/requests/{a}/changes", json={"duration_days": 25}, headers=city.headers).json()
    assert (change["start"], change["end"]) == (d(30), d(54))  # after the other site, nearest to its start
    assert change["conflicts"] == []
    r = client.post(f"/v1/requests/{a}/changes/{change['id']}/reject",
                    json={"reason_code": "conflicts_with_approved_site", "reason": "Bitte aufteilen"},
                    headers=coordinator.headers)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert client.get(f"/v1/requests/{a}/changes/{change['id']}", headers=city.headers).json()["status"] == "rejected"
    assert client.get(f"/v1/requests/{a}/changes/{change['id']}", headers=utility.headers).status_code == 403
    db.expire_all()
    assert (db.get(Slot, a).start.isoformat(), db.get(Slot, a).end.isoformat()) == (d(0), d(9))
    assert events(db, a)[-1].kind == "change.rejected"
    listed = client.get(f"/v1/requests/{a}/changes", headers=city.headers).json()
    assert [c["status"] for c in listed] == ["rejected"]
    submitted = create(client, city)["id"]
    assert client.post(f"/v1/requests/{submitted}/changes", json={"duration_days": 12},
                       headers=city.headers).status_code == 409
    assert client.post(f"/v1/requests/{a}/changes", json={"duration_days": 12},
                       headers=utility.headers).status_code == 403


def test_two_coordinators_approving_at_once_one_gets_412(engine, settings, clean_database) -> None:  # noqa: ANN001
    """Two real transactions: the second waits for the first's row lock, then sees the new version."""
    with Session(engine) as s:
        owner = new_principal(s, "city", "submitter", "Stadt Bochum")
        c1 = new_principal(s, "coordinator", "coordinator", "Koordination 1")
        c2 = new_principal(s, "coordinator", "coordinator", "Koordination 2")
        req, _ = requests_service.create(s, owner, RequestWrite.model_validate(body_now()), settings)
        service.propose(s, c1, req.id, today(), None, None, settings)
        rid, tag = req.id, requests_service.etag(req)
        s.commit()

    first = Session(engine)
    service.approve(first, c1, rid, ActionBody(), settings, if_match=tag)  # holds the row lock
    outcome: dict[str, object] = {}

    def second() -> None:
        with Session(engine) as s2:
            try:
                service.approve(s2, c2, rid, ActionBody(), settings, if_match=tag)
                s2.commit()
                outcome["result"] = "approved"
            except Problem as exc:
                outcome["result"] = exc.status

    thread = threading.Thread(target=second)
    thread.start()
    # Autocommit: pg_stat_activity is a snapshot per transaction, so polling inside one transaction
    # would never see the second approval start waiting.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
        waiting, deadline = 0, time.monotonic() + 60
        while not waiting and thread.is_alive() and time.monotonic() < deadline:
            waiting = watch.scalar(text("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                        "and datname = current_database()"))
            time.sleep(0.01)
        assert waiting, "the second approval never waited for the first one's row lock"
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert outcome["result"] == 412
    with Session(engine) as s:
        assert s.scalar(text("select status from site_requests where id = :id"), {"id": rid}) == "approved"
        kinds = s.scalars(text("select kind from events where request_id = :id order by id"), {"id": rid}).all()
        assert kinds.count("request.approved") == 1


def test_worker_runs_the_deadline_job(settings, engine, clean_database) -> None:  # noqa: ANN001
    from service.worker import build_scheduler
    from service.workflow import jobs

    scheduler, context = build_scheduler(settings)
    job = scheduler.get_job("workflow.deadlines")
    assert job is not None and job.func is jobs.run_deadlines
    with Session(engine) as s:
        org = auth.create_organisation(s, name="Stadt Herne", kind="city")
        key, _ = auth.create_key(s, org_id=org.id, role="submitter")
        owner = Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter", key_id=key.id)
        req, _ = requests_service.create(s, owner, RequestWrite.model_validate(body_now()), settings)
        rid = req.id
        s.execute(text("update request_deadlines set due_at = :due where request_id = :id"),
                  {"id": rid, "due": service_now(settings) - timedelta(seconds=1)})
        s.execute(text("delete from slots where request_id = :id"), {"id": rid})
        s.add(Slot(request_id=rid, start=today(), end=today() + timedelta(days=9), status="proposed",
                   provisional=True, explanation={}))
        s.commit()
    try:
        report = jobs.run_deadlines(context)  # the service's clock: the (moved) deadline has passed
    finally:
        context.sessionmaker.kw["bind"].dispose()
    assert report.deemed_approved == [str(rid)]
    with Session(engine) as s:
        assert s.scalar(text("select status from site_requests where id = :id"), {"id": rid}) == "approved"


def test_a_change_no_slot_fits_is_refused_with_the_blockers(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    a = approved(client, city, coordinator)["id"]  # d(0)..d(9) in d(0)..d(89)
    b = approved(client, utility, coordinator, start_offset=20)["id"]  # d(20)..d(29) next to it
    r = client.post(f"/v1/requests/{a}/changes", json={"duration_days": 80}, headers=city.headers)
    assert r.status_code == 409 and r.json()["type"].endswith("/no-slot"), r.text
    assert b in r.json()["blocking"] and "No slot fits the changed works" in r.json()["detail"]
    assert client.get(f"/v1/requests/{a}/changes", headers=city.headers).json() == [], "nothing half-stored"
    short = client.post(f"/v1/requests/{a}/changes", json={"latest_end": d(5)}, headers=city.headers)
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "latest_end", short.text


def test_a_change_is_rejected_with_a_reason_code(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    change = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 15}, headers=city.headers).json()
    url = f"/v1/requests/{rid}/changes/{change['id']}/reject"
    bare = client.post(url, json={}, headers=coordinator.headers)
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "reason_code", bare.text
    assert client.post(url, json={"reason_code": "conflicts_with_approved_site"},
                       headers=coordinator.headers).json()["decision_reason_code"] == "conflicts_with_approved_site"

