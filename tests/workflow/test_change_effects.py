"""Changes after approval that change the works' effect on traffic: impact, modes, shift, diversions and
replacement routes. Validated as on creation, checked for conflicts like a change of dates or area, taken over
by the request only when a coordinator approves."""

from __future__ import annotations

import uuid

import pytest

from service.notices import repository as notices_repository
from service.notices import service as notices_service
from tests.workflow.flow import approved, d, events, history, ok

LINE = [[7.0001, 51.4402], [7.0012, 51.4371]]  # the request's own footprint (tests.conftest.site_body)
# ~115 m east of it: beyond a lane reduction's conflict distance (50 m), within a full closure's (200 m)
NEIGHBOUR = [[7.0018, 51.4402], [7.0029, 51.4371]]
DETOUR = {"type": "LineString", "coordinates": [[7.0040, 51.4410], [7.0052, 51.4365]]}
BUS_1 = [[7.0045, 51.4405], [7.0060, 51.4380]]
BUS_2 = [[7.0060, 51.4380], [7.0070, 51.4360]]
# what the request starts with: a lane reduction for cars, around the clock, no routes
PLAIN = {"impact": "lane_reduction", "modes": ["car"], "shift": "continuous", "diversions": [],
         "replacement_routes": []}


def _line(coords: list[list[float]]) -> dict:
    return {"type": "LineString", "coordinates": coords}


def _as_history(field: str, value: object) -> object:
    """A field's value as the history's snapshots hold it: the routes as one MultiLineString (null: none)."""
    if field not in ("diversions", "replacement_routes"):
        return value
    return {"type": "MultiLineString", "coordinates": [line["coordinates"] for line in value]} if value else None


def _change(client, caller, rid: str, body: dict):  # noqa: ANN001, ANN202
    return client.post(f"/v1/requests/{rid}/changes", json=body, headers=caller.headers)


def _get(client, caller, rid: str) -> dict:  # noqa: ANN001
    r = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()


EFFECTS = ("impact", "modes", "shift", "diversions", "replacement_routes")


@pytest.mark.parametrize(("start", "field", "sent", "stored"), [
    (PLAIN, "impact", "full_closure", "full_closure"),
    (PLAIN, "modes", ["tram", "car", "bus", "car"], ["bus", "car", "tram"]),
    (PLAIN, "shift", "night", "night"),
    (PLAIN, "diversions", [DETOUR], [DETOUR]),
    # a route in pieces is its lines, as on creation
    (PLAIN, "replacement_routes", [{"type": "MultiLineString", "coordinates": [BUS_1, BUS_2]}],
     [_line(BUS_1), _line(BUS_2)]),
    ({**PLAIN, "diversions": [DETOUR]}, "diversions", [], []),  # the diversion is no longer needed
])
def test_each_effect_of_a_change_reaches_the_request_on_approval(client, db, city, coordinator, start, field,  # noqa: ANN001
                                                                  sent, stored) -> None:
    rid = approved(client, city, coordinator, **start)["id"]
    before = _get(client, city, rid)
    r = _change(client, city, rid, {field: sent, "reason": "Anordnung der Straßenverkehrsbehörde"})
    assert r.status_code == 201, r.text
    change = r.json()
    assert change[field] == stored
    assert all(change[other] is None for other in EFFECTS if other != field), change
    assert client.get(f"/v1/requests/{rid}/changes/{change['id']}", headers=coordinator.headers).json() == change
    asked = history(db, rid)[-1]
    assert asked.action == "change.requested" and asked.after[field] == stored
    assert _get(client, city, rid)[field] == before[field], "pending: the request keeps its value"

    done = client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve", json={"reason": "ok"},
                       headers=coordinator.headers)
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text
    got = _get(client, city, rid)
    assert got[field] == stored
    assert (got["slot"]["start"], got["slot"]["end"], got["status"]) == (d(0), d(9), "approved")
    row = history(db, rid)[-1]  # the request's history says what the approval changed
    assert row.action == "change.approved"
    assert (row.before[field], row.after[field]) == (_as_history(field, before[field]), _as_history(field, stored))
    event = events(db, rid)[-1]
    assert (event.kind, event.payload["change"], event.payload["effect"]) == ("change.approved", "effect", [field])
    ex = got["slot"]["explanation"]
    assert (ex["change"], ex["effect"]) == ("effect", [field])
    assert "Geänderte Angaben:" in ex["summary"]["de"] and ex["summary"]["en"].endswith(
        "Reason: “Anordnung der Straßenverkehrsbehörde”.")


def test_several_effects_and_dates_change_at_once(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator, **PLAIN)["id"]
    change = _change(client, city, rid, {"duration_days": 12, "impact": "full_closure", "modes": ["car", "bus"],
                                         "diversions": [DETOUR]}).json()
    client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve", headers=coordinator.headers)
    got = _get(client, city, rid)
    assert (got["duration_days"], got["impact"], got["modes"], got["diversions"], got["shift"]) == (
        12, "full_closure", ["bus", "car"], [DETOUR], "continuous")
    ex = got["slot"]["explanation"]
    assert (ex["change"], ex["effect"]) == ("extended", ["impact", "modes", "diversions"])
    assert ex["summary"]["de"].endswith("Geänderte Angaben: Verkehrseinschränkung, betroffene Verkehrsarten, "
                                        "Umleitungen.")


POINT = {"type": "Point", "coordinates": [7.0, 51.44]}
STUB = {"type": "LineString", "coordinates": [[7.0, 51.44]]}
FAR = {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.85]]}  # Paris: outside the service area


@pytest.mark.parametrize(("body", "field"), [
    ({"impact": "total_closure"}, "impact"),
    ({"impact": None, "modes": ["car", "boat"]}, "modes[1]"),
    ({"modes": "car"}, "modes"),
    ({"shift": "weekend"}, "shift"),
    ({"diversions": [DETOUR, POINT]}, "diversions[1]"),
    ({"diversions": DETOUR}, "diversions"),
    ({"replacement_routes": [STUB]}, "replacement_routes[0]"),
    ({"replacement_routes": [FAR], "impact": "full_closure"}, "replacement_routes[0]"),
    ({"diversions": [DETOUR] * 51}, "diversions"),
])
def test_an_invalid_effect_is_refused_by_name_and_nothing_is_stored(client, db, city, coordinator, body,  # noqa: ANN001
                                                                   field) -> None:
    rid = approved(client, city, coordinator, **PLAIN)["id"]
    before, rows, kinds = _get(client, city, rid), len(history(db, rid)), [e.kind for e in events(db, rid)]
    r = _change(client, city, rid, body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field, r.text
    assert client.get(f"/v1/requests/{rid}/changes", headers=city.headers).json() == []
    assert len(history(db, rid)) == rows and [e.kind for e in events(db, rid)] == kinds
    assert _get(client, city, rid) == before


def test_an_empty_change_names_what_it_may_carry(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    r = _change(client, city, rid, {"reason": "nur so"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    detail = r.json()["errors"][0]["detail"]
    assert all(name in detail for name in ("latest_end", "geometry", *EFFECTS)), detail


def test_a_rejected_change_leaves_the_request_as_it_was(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator, **PLAIN)["id"]
    before = _get(client, city, rid)
    change = _change(client, city, rid, {
        "impact": "full_closure", "modes": ["car", "cycle", "pedestrian"], "shift": "night",
        "diversions": [DETOUR], "replacement_routes": [_line(BUS_1)], "reason": "Vollsperrung nötig"}).json()
    r = client.post(f"/v1/requests/{rid}/changes/{change['id']}/reject",
                    json={"reason_code": "other", "reason": "Bitte mit dem Verkehrsbetrieb abstimmen"},
                    headers=coordinator.headers)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert (r.json()["impact"], r.json()["shift"]) == ("full_closure", "night"), "the change keeps what was asked"
    assert _get(client, city, rid) == before
    assert (history(db, rid)[-1].action, events(db, rid)[-1].kind) == ("change.rejected", "change.rejected")


def _neighbours(client, owner, other, coordinator, mine: dict, theirs: dict) -> tuple[str, str]:  # noqa: ANN001
    """Two approved sites on the same dates (d(0) to d(9)) that do not conflict as they are."""
    a = approved(client, owner, coordinator, **{**PLAIN, **mine})["id"]
    b = approved(client, other, coordinator, **{**PLAIN, "impact": "footway",
                                                "geometry": _line(NEIGHBOUR), **theirs})["id"]
    return a, b


@pytest.mark.parametrize(("mine", "theirs", "body"), [
    ({}, {}, {"impact": "full_closure"}),  # reaches 200 m instead of 50 m
    ({}, {}, {"diversions": [_line(NEIGHBOUR)]}),  # the detour runs through the other site
    ({}, {}, {"replacement_routes": [_line(NEIGHBOUR)]}),
    ({"impact": "full_closure", "shift": "day"}, {"shift": "night"}, {"shift": "continuous"}),  # now also at night
])
def test_a_wider_effect_is_checked_for_conflicts_and_placed_around_them(client, db, city, utility, coordinator,  # noqa: ANN001
                                                                        mine, theirs, body) -> None:
    a, b = _neighbours(client, city, utility, coordinator, mine, theirs)
    r = _change(client, city, a, body)
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["start"], change["end"]) == (d(10), d(19)), "after the other site, nearest to its start"
    assert change["placement"]["method"] != "in_place" and b in change["placement"]["blocking"]
    assert change["conflicts"] == []
    client.post(f"/v1/requests/{a}/changes/{change['id']}/approve", headers=coordinator.headers)
    got = _get(client, city, a)
    assert (got["slot"]["start"], got["slot"]["explanation"]["change"]) == (d(10), "moved")

    # an active site cannot move: the same change is refused, naming the site it would clash with
    c, d_ = _neighbours(client, city, utility, coordinator, mine, theirs)
    ok(client, city, c, "start")
    r = _change(client, city, c, body)
    assert r.status_code == 409 and r.json()["type"].endswith("/no-slot"), r.text
    assert d_ in {x["request_id"] for x in r.json()["conflicts"]}
    assert client.get(f"/v1/requests/{c}/changes", headers=city.headers).json() == []


def test_a_narrower_effect_stays_in_place(client, city, utility, coordinator) -> None:  # noqa: ANN001
    a, _ = _neighbours(client, city, utility, coordinator, {"impact": "full_closure", "shift": "day"},
                       {"shift": "night"})
    # (the site works by day and has no diversions already: asking for that changes nothing, 422)
    for body in ({"shift": "day"}, {"diversions": []}):
        r = _change(client, city, a, body)
        assert r.status_code == 422 and "changes nothing" in r.json()["detail"], r.text
    for body in ({"impact": "footway"}, {"modes": ["pedestrian"]}):
        change = _change(client, city, a, body).json()
        assert (change["start"], change["placement"]["method"]) == (d(0), "in_place"), (body, change)
        client.post(f"/v1/requests/{a}/changes/{change['id']}/reject", json={"reason_code": "other",
                                                                            "reason": "weiter"},
                    headers=coordinator.headers)


def test_an_approved_wider_impact_recomputes_the_stored_conflicts(client, city, coordinator) -> None:  # noqa: ANN001
    """Two sites of one owner may share dates; the conflict graph still records that they now meet."""
    a, b = _neighbours(client, city, city, coordinator, {}, {})
    assert client.get(f"/v1/requests/{a}/conflicts", headers=city.headers).json() == []
    change = _change(client, city, a, {"impact": "full_closure"}).json()
    assert (change["start"], change["placement"]["method"]) == (d(0), "in_place")
    client.post(f"/v1/requests/{a}/changes/{change['id']}/approve", headers=coordinator.headers)
    conflicts = client.get(f"/v1/requests/{a}/conflicts", headers=city.headers).json()
    assert [(c["other"]["id"], c["kind"]) for c in conflicts] == [(b, "same_owner")], conflicts


def test_an_effect_only_change_is_news_for_the_street(client, db, city, coordinator) -> None:  # noqa: ANN001
    """Same dates and area, but a full closure now: unlike a change of the window alone it becomes a notice."""
    rid = approved(client, city, coordinator, **PLAIN)["id"]
    for body in ({"latest_end": d(80)}, {"impact": "full_closure"}):
        change = _change(client, city, rid, body).json()
        client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve", headers=coordinator.headers)
    window, effect = [e for e in events(db, rid) if e.kind == "change.approved"]
    site = notices_repository.site_snapshots(db, [uuid.UUID(rid)])[uuid.UUID(rid)]
    assert (window.payload["change"], effect.payload["change"]) == ("window", "effect")
    assert notices_service.notice_kind_for(window, site) is None
    assert notices_service.notice_kind_for(effect, site) == "change.approved"
    assert site["impact"] == "full_closure"
