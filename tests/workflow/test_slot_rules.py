"""A coordinator's manual proposal and approval keep the slot system's hard rules: no slot in the past, no
clash on a diversion, a one-site-at-a-time corridor or a full zone (unless approved with ``override``)."""

from __future__ import annotations

import uuid
from datetime import date

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, box

from service.conflicts.models import Corridor, Zone
from service.slots.models import Slot
from tests.workflow.flow import act, approved, body_now, create, d, ok

# the default site lies on Rüttenscheider Straße; its diversion runs 1.5 km east, across another street
FAR_DIVERSION = {"type": "LineString", "coordinates": [[7.0200, 51.4400], [7.0300, 51.4400]]}
ON_THE_DIVERSION = {"type": "LineString", "coordinates": [[7.0250, 51.4398], [7.0250, 51.4402]]}


def test_a_start_in_the_past_is_refused(client, city, coordinator) -> None:  # noqa: ANN001
    req = create(client, city, earliest_start=d(-30), latest_end=d(89))
    r = act(client, coordinator, req["id"], "propose", {"start": d(-5)})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start"
    assert "has passed" in r.json()["errors"][0]["detail"]
    r = act(client, coordinator, req["id"], "approve", {"start": d(-5)})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start"
    assert client.get(f"/v1/requests/{req['id']}", headers=coordinator.headers).json()["status"] == req["status"]


def test_a_slot_that_has_passed_cannot_be_approved(client, db, city, coordinator) -> None:  # noqa: ANN001
    req = create(client, city, earliest_start=d(-30), latest_end=d(89))
    ok(client, coordinator, req["id"], "propose", {"start": d(0)})
    ok(client, city, req["id"], "accept")
    slot = db.get(Slot, uuid.UUID(req["id"]))  # as if it had been proposed weeks ago and nobody approved it
    slot.start, slot.end = date.fromisoformat(d(-25)), date.fromisoformat(d(-16))
    db.flush()
    r = act(client, coordinator, req["id"], "approve")
    assert r.status_code == 409 and r.json()["type"].endswith("slot-passed")
    assert client.get(f"/v1/requests/{req['id']}", headers=city.headers).json()["status"] == "accepted"


def test_a_window_mostly_in_the_past_is_refused(client, city) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=body_now(earliest_start=d(-60), latest_end=d(5)), headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "latest_end"
    assert "6 days of the window are left" in r.json()["errors"][0]["detail"]


def test_a_site_on_the_diversion_of_an_approved_one_is_refused(client, city, utility, coordinator) -> None:  # noqa: ANN001
    closure = approved(client, city, coordinator, 0, diversions=[FAR_DIVERSION])
    works = create(client, utility, geometry=ON_THE_DIVERSION, diversions=[], impact="lane_reduction",
                   kind="telecom")
    assert works["slot"]["start"] > closure["slot"]["end"]  # the provisional slot already keeps out of its way
    for action in ("propose", "approve"):
        r = act(client, coordinator, works["id"], action, {"start": d(0)})
        assert r.status_code == 409, (action, r.text)
        (clash,) = r.json()["conflicts"]
        assert clash["request_id"] == closure["id"] and clash["kind"] == "diversion"
    overridden = ok(client, coordinator, works["id"], "approve", {"start": d(0), "override": True})
    assert overridden["status"] == "approved"
    explanation = overridden["slot"]["explanation"]  # the slot keeps what its approval overrode
    assert [c["request_id"] for c in explanation["overridden_conflicts"]] == [closure["id"]]
    assert explanation["overridden_by"] == str(coordinator.org_id)
    assert explanation["summary"]["de"].endswith("Trotz 1 Konflikt mit genehmigten oder festgelegten Terminen "
                                                 "genehmigt.")


def test_one_site_at_a_time_on_a_corridor_even_of_one_owner(client, db, city, coordinator) -> None:  # noqa: ANN001
    street = LineString([(7.0001, 51.4402), (7.0012, 51.4371)])
    db.add(Corridor(name="Rüttenscheider Straße", kind="arterial", buffer_m=25.0, max_concurrent=1,
                    min_impact="lane_reduction", geom=from_shape(street, srid=4326)))
    db.flush()
    first = approved(client, city, coordinator, 0)
    second = create(client, city, kind="power", impact="lane_reduction",
                    geometry={"type": "Point", "coordinates": [7.0006, 51.4387]})
    r = act(client, coordinator, second["id"], "propose", {"start": d(5)})
    assert r.status_code == 409
    (clash,) = r.json()["conflicts"]
    assert clash["request_id"] == first["id"] and clash["kind"] == "corridor"
    assert act(client, coordinator, second["id"], "propose", {"start": d(10)}).status_code == 200  # after it


def test_a_full_zone_refuses_a_third_site(client, db, city, coordinator) -> None:  # noqa: ANN001
    db.add(Zone(name="Rüttenscheid", capacity=2, min_impact="lane_reduction",
                geom=from_shape(box(6.99, 51.43, 7.01, 51.45), srid=4326)))
    db.flush()
    # one owner: its sites never clash pairwise, only the zone's capacity of two counts
    a = approved(client, city, coordinator, 0)
    b = approved(client, city, coordinator, 3, geometry={"type": "Point", "coordinates": [6.995, 51.435]})
    c = create(client, city, geometry={"type": "Point", "coordinates": [7.005, 51.445]})
    r = act(client, coordinator, c["id"], "propose", {"start": d(5)})
    assert r.status_code == 409
    clashes = r.json()["conflicts"]
    assert {x["request_id"] for x in clashes} == {a["id"], b["id"]}
    assert {x["kind"] for x in clashes} == {"zone"} and clashes[0]["rule_name"] == "Rüttenscheid"
    assert clashes[0]["capacity"] == 2 and clashes[0]["full_from"] == d(5)
    assert act(client, coordinator, c["id"], "propose", {"start": d(13)}).status_code == 200  # b is over by then
