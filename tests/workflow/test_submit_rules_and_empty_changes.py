"""Submitting a draft later applies the window rules of a new submitted request; an emergency's slot never
reaches beyond its window; a change after approval that changes nothing is refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from service.kit.problems import InvalidField
from service.requests.models import SiteRequest
from service.slots.models import Slot
from service.workflow import service
from service.workflow.models import RequestChange
from tests.workflow.flow import act, approved, body_now, create, d, events, history

LATER = date(2027, 1, 15)  # the tests' day is 2026-11-21 (tests/conftest.py)


@pytest.fixture
def later(monkeypatch, settings):  # noqa: ANN001, ANN201
    """Moves the service's day (the app's settings, the hooks' too) to ``LATER`` on call."""
    return lambda: monkeypatch.setattr(settings, "today", LATER)


def _field(r) -> str:  # noqa: ANN001
    assert r.status_code == 422, r.text
    return r.json()["errors"][0]["field"]


def _submit_refused(client, db, caller, rid: str) -> dict:  # noqa: ANN001
    """Submit the draft ``rid`` (with If-Match); the answer must be 422 and nothing stored."""
    before = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    rows, sent = len(history(db, rid)), len(events(db, rid))
    r = act(client, caller, rid, "submit", **{"If-Match": before.headers["ETag"]})
    assert r.status_code == 422, r.text
    after = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    assert after.json()["status"] == "draft" and after.headers["ETag"] == before.headers["ETag"]
    db.expire_all()
    assert db.get(Slot, rid) is None
    assert (len(history(db, rid)), len(events(db, rid))) == (rows, sent)
    return r.json()


def test_submit_of_a_draft_whose_window_has_passed_is_refused_as_a_post(client, db, city, later) -> None:  # noqa: ANN001
    window = {"earliest_start": "2026-11-23", "latest_end": "2026-12-10", "duration_days": 5}
    rid = create(client, city, status="draft", **window)["id"]
    later()
    problem = _submit_refused(client, db, city, rid)
    post = client.post("/v1/requests", json=body_now(**window), headers=city.headers)
    assert _field(post) == "latest_end"
    assert problem["errors"] == post.json()["errors"]
    assert "has passed" in problem["errors"][0]["detail"]


def test_submit_of_an_emergency_draft_whose_window_has_passed_is_refused(client, db, city, later) -> None:  # noqa: ANN001
    window = {"earliest_start": "2026-11-21", "latest_end": "2026-12-31", "duration_days": 20}
    rid = create(client, city, status="draft", urgency="emergency", **window)["id"]
    later()
    problem = _submit_refused(client, db, city, rid)
    post = client.post("/v1/requests", json=body_now(urgency="emergency", **window), headers=city.headers)
    assert _field(post) == "latest_end" and problem["errors"] == post.json()["errors"]


def test_submit_of_an_emergency_draft_too_short_from_today_is_refused(client, db, city, later) -> None:  # noqa: ANN001
    # the window still holds today, but only 6 of the 10 days are left: the slot would end after latest_end
    window = {"earliest_start": "2026-11-21", "latest_end": "2027-01-20", "duration_days": 10}
    rid = create(client, city, status="draft", urgency="emergency", **window)["id"]
    later()
    problem = _submit_refused(client, db, city, rid)
    assert problem["errors"][0]["field"] == "latest_end" and "only 6 days" in problem["errors"][0]["detail"]


def test_submit_of_an_emergency_draft_that_still_fits_is_active_inside_its_window(client, db, city,  # noqa: ANN001
                                                                                   later) -> None:
    window = {"earliest_start": "2026-11-21", "latest_end": "2027-03-31", "duration_days": 20}
    rid = create(client, city, status="draft", urgency="emergency", **window)["id"]
    later()
    r = act(client, city, rid, "submit")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    slot = db.get(Slot, rid)
    assert (slot.status, slot.start, slot.end) == ("approved", LATER, LATER + timedelta(days=19))


def test_activate_emergency_never_grants_days_beyond_latest_end(client, db, settings, city) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]  # submitted, window today .. today+89, 10 days
    req = db.get(SiteRequest, rid)
    req.urgency = "emergency"
    db.flush()
    day = req.latest_end - timedelta(days=5)
    with pytest.raises(InvalidField) as exc:
        service.activate_emergency(db, req, settings, today=day)
    assert exc.value.field == "latest_end"
    db.expire_all()
    assert db.get(SiteRequest, rid).status == "submitted"
    slot = db.get(Slot, rid)
    assert slot is None or slot.status != "approved"


# --- changes that change nothing -------------------------------------------------------------------


def _changes(db, rid: str) -> list[RequestChange]:  # noqa: ANN001
    return list(db.scalars(select(RequestChange).where(RequestChange.request_id == rid)))


@pytest.mark.parametrize(("body", "fields"), [
    ({"duration_days": 10, "latest_end": "@89"}, "latest_end, duration_days"),
    ({"modes": ["cycle", "car"], "impact": "full_closure", "shift": "continuous"}, "impact, modes, shift"),
    ({"replacement_routes": []}, "replacement_routes"),
    ({"diversions": "same", "geometry": "same reversed"}, "geometry, diversions"),
    ({"after": [], "latest_end": "@89"}, "latest_end, after"),
])
def test_a_change_that_changes_nothing_is_refused(client, db, city, coordinator, body, fields) -> None:  # noqa: ANN001
    req = approved(client, city, coordinator)  # window today .. today+89, 10 days, no replacement routes
    rid = req["id"]
    if body.get("latest_end") == "@89":
        body = {**body, "latest_end": d(89)}
    if body.get("diversions") == "same":
        body = {**body, "diversions": req["diversions"],
                "geometry": {**req["geometry"], "coordinates": req["geometry"]["coordinates"][::-1]}}
    r = client.post(f"/v1/requests/{rid}/changes", json={**body, "reason": "nochmal"}, headers=city.headers)
    assert _field(r) == "body", r.text
    verb = "have these values" if "," in fields else "has this value"
    assert r.json()["errors"][0]["detail"] == f"changes nothing: {fields} {verb} already"
    assert _changes(db, rid) == []
    # the next real change is not blocked by a pending empty one
    r = client.post(f"/v1/requests/{rid}/changes", json={"latest_end": d(89), "duration_days": 12},
                    headers=city.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"


def test_the_same_precedences_alone_still_name_after(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    r = client.post(f"/v1/requests/{rid}/changes", json={"after": []}, headers=city.headers)
    assert _field(r) == "after" and "has these precedences already" in r.json()["errors"][0]["detail"]
