"""A withdrawn or rejected request gives its slot back to the requests it kept out, at once; explanations of
requests without a preferred start; locking a withdrawn request."""

from __future__ import annotations

import uuid

from service.requests.models import SiteRequest
from service.slots.models import Slot
from service.workflow.models import RequestHistory
from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}
SPOT_BBOX = [7.09, 51.41, 7.11, 51.43]


def _lane(earliest: str, latest: str, days: int, preferred: str | None = None, **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred, **extra)


def _read(client, caller, rid: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()


def _blocked_pair(client, make_caller) -> tuple:  # noqa: ANN001
    """P holds June; Q fits only June and waits, blocked by P (see test_incremental)."""
    z, r, p, q = (make_caller("utility") for _ in range(4))
    client.post("/v1/requests", json=_lane("2027-01-01", "2027-05-31", 151), headers=z.headers)
    client.post("/v1/requests", json=_lane("2027-07-01", "2027-12-31", 184), headers=r.headers)
    pr = client.post("/v1/requests", json=_lane("2027-01-01", "2027-12-31", 30, "2027-06-01"),
                     headers=p.headers).json()
    qr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-06-30", 30), headers=q.headers).json()
    assert qr["slot"] is None and qr["unplaced"]["blocking"] == [pr["id"]]
    return p, pr["id"], q, qr["id"]


def test_deleting_the_blocking_request_places_the_one_it_kept_out_at_once(client, make_caller, db,  # noqa: ANN001
                                                                           settings) -> None:
    p, pid, q, qid = _blocked_pair(client, make_caller)
    assert client.delete(f"/v1/requests/{pid}", headers=p.headers).status_code in (200, 204)
    got = _read(client, q, qid)
    assert got["unplaced"] is None, got["unplaced"]
    assert (got["slot"]["start"], got["slot"]["end"], got["slot"]["status"]) == ("2027-06-01", "2027-06-30",
                                                                                 "proposed")
    assert got["slot"]["provisional"] is True and got["slot"]["explanation"]["freed_by"] == pid
    assert "summary" in got["slot"]["explanation"]
    db.expire_all()
    last = db.query(RequestHistory).filter_by(request_id=uuid.UUID(qid)).order_by(RequestHistory.seq.desc()).first()
    assert last.action == "slot.placed" and "zurückgezogen" in last.reason and "withdrawn" in last.reason
    assert last.after["slot"]["start"] == "2027-06-01"
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 3


def test_withdrawing_through_the_workflow_does_the_same(client, make_caller) -> None:  # noqa: ANN001
    p, pid, q, qid = _blocked_pair(client, make_caller)
    r = client.post(f"/v1/requests/{pid}/withdraw", json={"reason": "verschoben"}, headers=p.headers)
    assert r.status_code == 200, r.text
    got = _read(client, q, qid)
    assert got["slot"] is not None and got["slot"]["start"] == "2027-06-01"


def test_a_request_in_conversation_loses_the_stale_blocker_from_its_reason(client, make_caller, db) -> None:  # noqa: ANN001
    p, pid, q, qid = _blocked_pair(client, make_caller)
    db.get(SiteRequest, uuid.UUID(qid)).status = "contested"  # only a plan run proposes in the conversation
    db.flush()
    client.delete(f"/v1/requests/{pid}", headers=p.headers)
    got = _read(client, q, qid)
    assert got["slot"] is None
    assert got["unplaced"]["blocking"] == [] and pid not in str(got["unplaced"]["blockers"])
    assert "zurückgezogen" in got["unplaced"]["reason"]["de"] and "withdrawn" in got["unplaced"]["reason"]["en"]
    db.expire_all()
    assert db.get(Slot, uuid.UUID(qid)).status == "unplaced"


def test_without_a_preferred_start_the_explanation_counts_from_the_earliest_start(client, make_caller) -> None:  # noqa: ANN001
    z, p = make_caller("utility"), make_caller("utility")
    client.post("/v1/requests", json=_lane("2027-01-01", "2027-01-31", 31), headers=z.headers)
    pr = client.post("/v1/requests", json=_lane("2027-01-01", "2027-12-31", 30), headers=p.headers).json()
    assert pr["slot"]["start"] == "2027-02-01"
    summary = pr["slot"]["explanation"]["summary"]
    assert "gewünscht" not in summary["de"] and "preferred" not in summary["en"].replace("no preferred start", "")
    assert summary["de"].startswith("Beginn 01.02.2027, 31 Tage nach dem frühestmöglichen Beginn (01.01.2027)")
    assert summary["en"].startswith("Starts 1 Feb 2027, 31 days after the earliest possible start (1 Jan 2027)")
    assert pr["slot"]["explanation"]["preferred_stated"] is False
    first = client.post("/v1/requests", json=_lane("2027-04-01", "2027-12-31", 10), headers=z.headers).json()
    assert first["slot"]["explanation"]["summary"]["de"] == "Am frühestmöglichen Beginn (01.04.2027) eingeplant."


def test_locking_a_withdrawn_request_says_it_is_withdrawn(client, city, coordinator) -> None:  # noqa: ANN001
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    client.delete(f"/v1/requests/{rid}", headers=city.headers)
    r = client.post(f"/v1/requests/{rid}/slot/lock", headers=coordinator.headers)
    assert r.status_code == 409
    assert "withdrawn" in r.json()["detail"] and "run a plan" not in r.json()["detail"]
