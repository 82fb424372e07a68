"""Conflict detection through the API against real PostGIS: every kind, visibility and the dry run.

Requests are placed in metres around a point in Essen; their window equals their duration, so any slot
the slots domain assigns on creation is the window itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from service.conflicts import service
from service.conflicts.models import Conflict
from service.slots.models import Slot
from tests.conflicts.helpers import box, fixed, line
from tests.conftest import site_body
from tests.workflow.flow import d


def post(client, caller, **overrides: Any) -> str:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(**fixed(**overrides)), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def conflicts(client, caller, rid: str) -> list[dict]:  # noqa: ANN001
    r = client.get(f"/v1/requests/{rid}/conflicts", headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()


def kinds(items: list[dict]) -> list[tuple[str, bool]]:
    return sorted((c["kind"], c["hard"]) for c in items)


def rule(client, coordinator, path: str, body: dict) -> str:  # noqa: ANN001
    r = client.post(f"/v1/{path}", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- pairs ----------------------------------------------------------------------------------------


def test_space_conflict_between_owners_is_hard_and_explained(client, city, utility) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    b = post(client, utility, geometry=line(0, 35), kind="water")
    [c] = conflicts(client, city, a)
    assert (c["kind"], c["hard"]) == ("space", True)
    assert abs(c["distance_m"] - 35) < 0.5
    assert c["overlap"] == {"start": "2027-04-01", "end": "2027-05-30"}
    assert c["other"]["id"] == b and c["other"]["owner"]["name"] == utility.name
    assert "contact" not in c["other"]
    assert c["explanation"]["de"] == ("Beide Baustellen liegen 35 m auseinander und sperren gleichzeitig "
                                      "(01.04.–30.05.2027); bei Vollsperrung sind 200 m Abstand nötig.")
    assert "35 m apart" in c["explanation"]["en"] and "200 m" in c["explanation"]["en"]
    assert [x["other"]["id"] for x in conflicts(client, utility, b)] == [a]


def test_distance_depends_on_the_larger_impact(client, city, utility) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0), impact="footway")
    post(client, utility, geometry=line(0, 40), impact="footway", kind="water")  # 40 m > 10 m: fine
    assert conflicts(client, city, a) == []
    post(client, utility, geometry=line(0, -45), impact="lane_reduction", kind="gas")  # 45 m < 50 m
    assert kinds(conflicts(client, city, a)) == [("space", True)]


def test_a_request_that_conflicts_with_nothing(client, city, utility) -> None:  # noqa: ANN001
    post(client, utility, geometry=line(0, 0), kind="water")
    post(client, utility, geometry=line(0, 20), kind="gas", earliest_start="2027-07-01", latest_end="2027-08-29")
    lonely = post(client, city, geometry=line(3000, 3000))
    later = post(client, city, geometry=line(0, 10), earliest_start="2027-09-01", latest_end="2027-10-30")
    assert conflicts(client, city, lonely) == []
    assert conflicts(client, city, later) == []


def test_diversion_and_replacement_route(client, city, utility, make_caller) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0), diversions=[line(-500, 1000, 1000)])
    b = post(client, utility, geometry=line(0, 950, 100, vertical=True), impact="lane_reduction", kind="water")
    [c] = conflicts(client, utility, b)
    assert (c["kind"], c["hard"], c["other"]["id"]) == ("diversion", True, a)
    assert c["distance_m"] > 900
    assert "Umleitungsstrecke" in c["explanation"]["de"] and "diversion route" in c["explanation"]["en"]

    rail = make_caller("rail", "submitter", "DB InfraGO")
    r = post(client, rail, kind="rail", impact="none", geometry=line(5000, 0),
             replacement_routes=[line(5000, 2000, 800)])
    d = post(client, city, geometry=line(5400, 1900, 200, vertical=True), impact="one_way",
             kind="road_maintenance")
    [c] = conflicts(client, rail, r)
    assert (c["kind"], c["other"]["id"]) == ("diversion", d)
    assert c["reason"]["via"][0]["route"] == "replacement_route"
    assert "Schienenersatzverkehrs" in c["explanation"]["de"]
    # a site without any traffic impact does not block a diversion
    post(client, utility, geometry=line(0, 990, 30, vertical=True), impact="none", kind="telecom")
    assert [x["other"]["id"] for x in conflicts(client, city, a)] == [b]


def test_day_and_night_shifts_do_not_clash_but_continuous_does(client, city, utility, make_caller) -> None:  # noqa: ANN001
    day = post(client, city, geometry=line(0, 0), shift="day")
    night = post(client, utility, geometry=line(0, 0), shift="night", kind="water")
    assert conflicts(client, city, day) == [] and conflicts(client, utility, night) == []
    other = make_caller("utility", "submitter", "Telekom")
    cont = post(client, other, geometry=line(0, 5), shift="continuous", kind="telecom")
    assert sorted(c["other"]["id"] for c in conflicts(client, other, cont)) == sorted([day, night])


def test_same_owner_is_information_not_hard(client, city) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    b = post(client, city, geometry=line(0, 30), title="Phase 2")
    [c] = conflicts(client, city, a)
    assert (c["kind"], c["hard"], c["other"]["id"]) == ("same_owner", False, b)
    assert c["reason"]["basis"] == ["space"]
    assert "kein harter Konflikt" in c["explanation"]["de"]


def test_bundled_requests_never_conflict_and_withdrawn_ones_conflict_with_nothing(client, city, utility) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    b = post(client, city, geometry=line(0, 10), kind="water", bundle_with=[a])
    assert conflicts(client, city, a) == []
    c = post(client, utility, geometry=line(0, 20), kind="gas")
    assert kinds(conflicts(client, city, a)) == [("space", True)]
    assert client.delete(f"/v1/requests/{c}", headers=utility.headers).status_code == 200
    assert conflicts(client, city, a) == [] and conflicts(client, city, b) == []


def test_bundle_with_another_organisations_request_is_refused(client, city, utility) -> None:  # noqa: ANN001
    """A bundle lifts conflicts, so one organisation cannot declare it over another's site (the coordination
    office bundles across organisations through dig-once opportunities), nor over the request itself."""
    a = post(client, city, geometry=line(0, 0))
    before = client.get("/v1/requests", headers=utility.headers).json()
    r = client.post("/v1/requests", json=site_body(**fixed(geometry=line(0, 10), kind="water", bundle_with=[a])),
                    headers=utility.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "bundle_with[0]"
    assert "another organisation" in r.json()["errors"][0]["detail"]
    assert client.get("/v1/requests", headers=utility.headers).json() == before
    dry = client.post("/v1/conflicts/check", json={"geometry": line(0, 10), "earliest_start": "2027-04-01",
                                                   "latest_end": "2027-05-30", "kind": "water",
                                                   "impact": "lane_reduction", "bundle_with": [a]},
                      headers=utility.headers)
    assert dry.status_code == 422 and dry.json()["errors"][0]["field"] == "bundle_with[0]"
    etag = client.get(f"/v1/requests/{a}", headers=city.headers).headers["ETag"]
    selfish = client.patch(f"/v1/requests/{a}", json={"bundle_with": [a]}, headers={**city.headers, "If-Match": etag})
    assert selfish.status_code == 422 and "itself" in selfish.json()["errors"][0]["detail"]
    assert kinds(conflicts(client, city, a)) == []


def test_assigned_slot_replaces_the_window(client, db, city, utility) -> None:  # noqa: ANN001
    import uuid
    from datetime import date

    window = {"earliest_start": "2027-04-01", "latest_end": "2027-09-30", "duration_days": 30}
    a = post(client, city, geometry=line(0, 0), **window)
    b = post(client, utility, geometry=line(0, 30), kind="water", **window)
    for rid, start, end in ((a, date(2027, 4, 1), date(2027, 4, 30)), (b, date(2027, 6, 1), date(2027, 6, 30))):
        slot = db.get(Slot, uuid.UUID(rid))
        if slot is None:
            slot = Slot(request_id=uuid.UUID(rid))
            db.add(slot)
        slot.start, slot.end, slot.status = start, end, "locked"
    db.flush()
    service.refresh_for_request(db, uuid.UUID(a))
    db.commit()
    assert conflicts(client, city, a) == []
    db.get(Slot, uuid.UUID(b)).start = date(2027, 4, 20)
    db.flush()
    service.refresh_for_request(db, uuid.UUID(b))
    db.commit()
    [c] = conflicts(client, city, a)
    assert c["overlap"] == {"start": "2027-04-20", "end": "2027-04-30"}


def test_works_on_a_track_of_their_own_and_road_works_clash_only_where_they_meet(client, city, utility) -> None:  # noqa: ANN001
    """An S-Bahn line 60 m from a street: closing both at once is no clash (trains and cars do not share the
    space), unless the footprints meet, as at a level crossing. Two works in the road keep their distance."""
    street = post(client, city, geometry=line(0, 0))
    beside = post(client, utility, geometry=line(0, 60), kind="rail", modes=["rail"])
    assert conflicts(client, utility, beside) == []
    crossing = post(client, utility, geometry=line(50, -20, 40, vertical=True), kind="rail", modes=["rail"])
    [c] = [x for x in conflicts(client, utility, crossing) if x["other"]["id"] == street]
    assert (c["kind"], c["hard"]) == ("space", True)
    assert c["reason"]["required_m"] == 0
    assert c["explanation"]["de"].startswith("Die Gleisbaustelle") and "Bahnübergang" in c["explanation"]["de"]
    assert "level crossing" in c["explanation"]["en"]
    # the same track works naming cars (a level crossing closed for cars) are in the road: the distance rule holds
    level = post(client, utility, geometry=line(0, 60), kind="rail", modes=["rail", "car"])
    assert [x["other"]["id"] for x in conflicts(client, utility, level) if x["kind"] == "space"] == [street]
    # the dry run knows modes too
    r = client.post("/v1/conflicts/check", headers=utility.headers, json={
        "geometry": line(0, 70), "earliest_start": "2027-04-01", "latest_end": "2027-05-30",
        "impact": "full_closure", "kind": "rail", "modes": ["rail"]})
    assert r.status_code == 200, r.text
    assert street not in {c["other"]["id"] for c in r.json()["conflicts"] if c["kind"] == "space"}


# --- rules ---------------------------------------------------------------------------------------


def test_corridor_rule_counts_however_far_apart_even_for_one_owner(client, city, coordinator) -> None:  # noqa: ANN001
    rule(client, coordinator, "corridors", {"name": "B224", "kind": "arterial", "geometry": line(-3000, 0, 6000),
                                            "max_concurrent": 1, "min_impact": "full_closure"})
    west = post(client, city, geometry=line(-2500, 10))
    east = post(client, city, geometry=line(2400, -10))
    post(client, city, geometry=line(0, 0), impact="lane_reduction", kind="road_maintenance")  # below threshold
    [c] = conflicts(client, city, west)
    assert (c["kind"], c["hard"], c["other"]["id"]) == ("corridor", True, east)
    assert c["rule"]["name"] == "B224" and c["reason"]["peak"] == 2
    assert "höchstens 1" in c["explanation"]["de"]


def test_works_that_cross_a_corridor_take_one_of_its_places_not_those_ending_near_it(  # noqa: ANN001
        client, city, coordinator) -> None:
    rule(client, coordinator, "corridors", {"name": "B224", "kind": "arterial", "geometry": line(-3000, 0, 6000),
                                            "max_concurrent": 1, "min_impact": "full_closure"})
    along = post(client, city, geometry=line(-2500, 10, 400))
    ending = post(client, city, geometry=line(1000, 20, 300, vertical=True))  # ends 20 m from the corridor
    assert conflicts(client, city, ending) == [] and conflicts(client, city, along) == []
    # a closure across the corridor (a side street, 50 of 300 m in its band) closes it where it crosses
    crossing = post(client, city, geometry=line(2000, -150, 300, vertical=True))
    assert [(c["kind"], c["other"]["id"]) for c in conflicts(client, city, crossing)] == [("corridor", along)]


def test_zone_capacity(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    zone = rule(client, coordinator, "zones", {"name": "Innenstadt", "capacity": 2, "min_impact": "lane_reduction",
                                               "geometry": box(-2000, -2000, 2000, 2000)})
    a = post(client, city, geometry=line(-1500, 0), impact="lane_reduction")
    b = post(client, utility, geometry=line(0, 0), impact="lane_reduction", kind="water")
    assert conflicts(client, city, a) == []
    post(client, city, geometry=line(0, 1500), impact="footway", kind="road_maintenance")  # below min_impact
    assert conflicts(client, city, a) == []
    dry = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": line(-800, -1500), "earliest_start": "2027-05-10", "latest_end": "2027-05-20",
        "impact": "one_way", "kind": "road_maintenance"}).json()
    assert sorted((x["kind"], x["other"]["id"]) for x in dry["conflicts"]) == sorted([("zone", a), ("zone", b)])
    assert dry["conflicts"][0]["overlap"] == {"start": "2027-05-10", "end": "2027-05-20"}
    c = post(client, utility, geometry=line(1500, 0), impact="full_closure", kind="gas",
             earliest_start="2027-05-01", latest_end="2027-06-29")
    # a and b hold slots that fit the zone together; c found no slot, so it is what clashes with each of them
    assert client.get(f"/v1/requests/{c}", headers=utility.headers).json()["slot"] is None
    found = conflicts(client, city, a)
    assert kinds(found) == [("zone", True)] and found[0]["other"]["id"] == c
    assert found[0]["overlap"] == {"start": "2027-05-01", "end": "2027-05-30"}
    assert found[0]["reason"]["peak"] == 3 and found[0]["rule"]["id"] == zone
    assert {x["other"]["id"] for x in conflicts(client, utility, c)} == {a, b}
    assert db.scalar(select(func.count()).select_from(Conflict).where(Conflict.kind == "zone")) == 2
    client.delete(f"/v1/requests/{c}", headers=utility.headers)
    assert conflicts(client, city, a) == []
    assert db.scalar(select(func.count()).select_from(Conflict).where(Conflict.kind == "zone")) == 0


def test_moratorium_refuses_digging_except_emergencies(client, city, utility, coordinator) -> None:  # noqa: ANN001
    rule(client, coordinator, "moratoriums", {
        "name": "Rüttenscheider Straße neu asphaltiert", "reason": "Deckenerneuerung 2026",
        "geometry": box(-100, -100, 800, 100), "start": "2026-01-01", "end": "2029-12-31"})
    sewer = post(client, city, geometry=line(0, 0))
    [c] = conflicts(client, city, sewer)
    assert (c["kind"], c["hard"], c["other"]) == ("moratorium", True, None)
    assert c["rule"]["name"] == "Rüttenscheider Straße neu asphaltiert"
    assert "Aufbruchverbot" in c["explanation"]["de"]
    emergency = post(client, utility, geometry=line(400, 0, 50), kind="water", urgency="emergency",
                     earliest_start=d(0), latest_end=d(59))  # an emergency starts today
    inside = client.post("/v1/conflicts/check", headers=utility.headers, json={
        "geometry": line(600, 0, 20), "earliest_start": "2027-04-01", "latest_end": "2027-04-10",
        "impact": "footway", "kind": "water", "urgency": "emergency"}).json()
    assert [x["kind"] for x in inside["conflicts"]] == []
    planned = client.post("/v1/conflicts/check", headers=utility.headers, json={
        "geometry": line(600, 0, 20), "earliest_start": "2027-04-01", "latest_end": "2027-04-10",
        "impact": "footway", "kind": "water"}).json()
    assert [x["kind"] for x in planned["conflicts"]] == ["moratorium"]
    maintenance = post(client, city, geometry=line(600, 50, 50), kind="road_maintenance", impact="footway")
    assert [x["kind"] for x in conflicts(client, city, maintenance)] == []  # not excavating
    assert all(x["kind"] != "moratorium" for x in conflicts(client, utility, emergency))


def test_blackout_allows_only_up_to_an_impact(client, city, utility, coordinator) -> None:  # noqa: ANN001
    rule(client, coordinator, "blackouts", {"name": "Weihnachtsmarkt", "geometry": None, "start": "2027-11-20",
                                            "end": "2027-12-31", "max_impact": "lane_reduction"})
    dec = {"earliest_start": "2027-12-01", "latest_end": "2027-12-10", "duration_days": 10}
    full = post(client, city, geometry=line(0, 0), **dec)
    lane = post(client, utility, geometry=line(5000, 0), impact="lane_reduction", kind="water", **dec)
    [c] = conflicts(client, city, full)
    assert (c["kind"], c["hard"]) == ("blackout", True)
    assert c["overlap"] == {"start": "2027-12-01", "end": "2027-12-10"}
    assert "Weihnachtsmarkt" in c["explanation"]["de"] and "full closure" in c["explanation"]["en"]
    assert conflicts(client, utility, lane) == []


# --- dig once ------------------------------------------------------------------------------------


def test_dig_once_opportunity_and_accepting_it_bundles(client, city, utility, coordinator) -> None:  # noqa: ANN001
    road = post(client, city, geometry=line(0, 0), kind="road_construction")
    water = post(client, utility, geometry=line(0, 20), kind="water")
    post(client, utility, geometry=line(0, -20), kind="event", impact="footway",
         earliest_start="2028-01-01", latest_end="2028-01-10", duration_days=10)  # no dig-once kind
    assert kinds(conflicts(client, city, road)) == [("space", True)]
    opps = client.get("/v1/opportunities", headers=city.headers)
    assert opps.headers["content-type"].startswith("application/geo+json")
    [opp] = opps.json()["features"]
    assert {s["id"] for s in opp["properties"]["requests"]} == {road, water}
    assert opp["properties"]["gap_days"] == 0 and opp["geometry"]["type"] == "LineString"
    assert client.post(f"/v1/opportunities/{opp['id']}/accept", headers=city.headers).status_code == 403
    accepted = client.post(f"/v1/opportunities/{opp['id']}/accept", headers=coordinator.headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert conflicts(client, city, road) == []


def test_dig_once_within_months_without_time_overlap(client, city, utility) -> None:  # noqa: ANN001
    road = post(client, city, geometry=line(0, 0), kind="road_maintenance")
    post(client, utility, geometry=line(0, 30), kind="telecom", earliest_start="2027-09-01",
         latest_end="2027-10-30")
    post(client, utility, geometry=line(0, 30), kind="gas", earliest_start="2028-06-01", latest_end="2028-07-30")
    assert conflicts(client, city, road) == []
    [opp] = client.get("/v1/opportunities", headers=city.headers).json()["features"]
    assert opp["properties"]["gap_days"] == 93
    assert {s["kind"] for s in opp["properties"]["requests"]} == {"road_maintenance", "telecom"}


# --- visibility and API --------------------------------------------------------------------------


def test_others_drafts_stay_invisible(client, city, utility) -> None:  # noqa: ANN001
    mine = post(client, city, geometry=line(0, 0))
    draft = post(client, utility, geometry=line(0, 30), kind="water", status="draft")
    assert conflicts(client, city, mine) == []
    assert [c["other"]["id"] for c in conflicts(client, utility, draft)] == [mine]
    assert client.get(f"/v1/requests/{draft}/conflicts", headers=city.headers).status_code == 404
    assert client.get("/v1/conflicts", headers=city.headers).json()["features"] == []
    assert len(client.get("/v1/conflicts", headers=utility.headers).json()["features"]) == 1
    check = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": line(0, 40), "earliest_start": "2027-04-01", "latest_end": "2027-04-30",
        "impact": "full_closure", "kind": "gas"}).json()
    assert [c["other"]["id"] for c in check["conflicts"]] == [mine]


def test_conflict_list_is_geojson_and_filters(client, city, utility, make_caller, settings) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    post(client, utility, geometry=line(0, 30), kind="water")
    post(client, city, geometry=line(0, -30), title="Phase 2")
    r = client.get("/v1/conflicts", headers=city.headers)
    assert r.headers["content-type"].startswith("application/geo+json")
    features = r.json()["features"]
    assert sorted(f["properties"]["kind"] for f in features) == ["same_owner", "space", "space"]
    assert all(f["geometry"]["type"] == "LineString" for f in features)
    hard = client.get("/v1/conflicts", params={"kind": "space"}, headers=city.headers).json()["features"]
    assert len(hard) == 2
    assert client.get("/v1/conflicts", params={"hard": "false"}, headers=city.headers).json()["numberReturned"] == 1
    stranger = make_caller("utility", "submitter", "Fremde Stadtwerke")
    assert client.get("/v1/conflicts", params={"owner": str(stranger.org_id)},
                      headers=city.headers).json()["features"] == []
    assert client.get("/v1/conflicts", params={"bbox": "7.3,51.5,7.4,51.6"},
                      headers=city.headers).json()["features"] == []
    assert client.get("/v1/conflicts", params={"start": "2028-01-01"}, headers=city.headers).json()["features"] == []
    page = client.get("/v1/conflicts", params={"limit": 2}, headers={**city.headers, "Host": "evil.example"}).json()
    assert page["numberReturned"] == 2 and page["next_cursor"] is not None
    (link,) = [x for x in page["links"] if x["rel"] == "next"]  # from BAUSTELLEN_PUBLIC_URL, never the Host header
    assert link["href"].startswith(f"{settings.public_url.rstrip('/')}/v1/conflicts?")
    assert "evil.example" not in link["href"]
    rest = client.get("/v1/conflicts", params={"limit": 2, "cursor": page["next_cursor"]}, headers=city.headers)
    assert rest.json()["numberReturned"] == 1
    assert client.get("/v1/conflicts").status_code == 401
    assert a


def test_two_sites_on_the_same_footprint_are_joined_by_a_point_not_a_zero_length_line(client, city,
                                                                                      utility) -> None:  # noqa: ANN001
    post(client, city, geometry=line(0, 0))
    post(client, utility, geometry=line(0, 0), kind="water")
    (feature,) = client.get("/v1/conflicts", params={"kind": "space"}, headers=city.headers).json()["features"]
    assert feature["geometry"]["type"] == "Point"
    opportunities = client.get("/v1/opportunities", headers=city.headers).json()["features"]
    assert opportunities and all(f["geometry"]["type"] == "Point" for f in opportunities)


def test_check_is_a_dry_run(client, db, city, utility) -> None:  # noqa: ANN001
    post(client, utility, geometry=line(0, 30), kind="water")
    before = db.scalar(select(func.count()).select_from(Conflict))
    r = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": line(0, 0), "earliest_start": "2027-05-01", "latest_end": "2027-06-30",
        "impact": "full_closure", "kind": "road_construction", "diversions": [line(-300, 500, 600)]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["kind"], c["hard"]) for c in body["conflicts"]] == [("space", True)]
    assert body["conflicts"][0]["overlap"] == {"start": "2027-05-01", "end": "2027-05-30"}
    assert body["hard"] == 1 and len(body["opportunities"]) == 1
    assert db.scalar(select(func.count()).select_from(Conflict)) == before
    bad = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": {"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.45], [7.0, 51.45],
                                                         [7.01, 51.44], [7.0, 51.44]]]},
        "earliest_start": "2027-05-01", "latest_end": "2027-06-30", "impact": "full_closure", "kind": "gas"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "geometry"
    backwards = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": line(0, 0), "earliest_start": "2027-05-01", "latest_end": "2027-04-30",
        "impact": "full_closure", "kind": "gas"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "latest_end"


def test_changing_a_request_updates_its_conflicts(client, city, utility) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    b = post(client, utility, geometry=line(0, 30), kind="water")
    assert len(conflicts(client, city, a)) == 1
    r = client.patch(f"/v1/requests/{b}", json={"geometry": line(2000, 2000)},
                     headers={**utility.headers, "If-Match": '"v1"'})
    assert r.status_code == 200, r.text
    assert conflicts(client, city, a) == []
