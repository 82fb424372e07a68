"""A PATCH that sends values the request already has changes nothing: no new version, no event (and so no
re-placement of the slot by the hooks), even when the values are written differently from how the request stores
them: a MultiLineString route (stored as its lines), a geometry with Z (stored without), ``7`` for ``7.0``, the
modes in another order or twice. Only the fields whose stored value really changes count as changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.events.models import Event
from tests.conftest import site_body

L1 = [[7.0030, 51.4405], [7.0041, 51.4368]]
L2 = [[7.0050, 51.4405], [7.0061, 51.4368]]
MULTI = {"type": "MultiLineString", "coordinates": [L1, L2]}
LINE_3D = {"type": "LineString", "coordinates": [[7.0001, 51.4402, 80.0], [7.0012, 51.4371, 81.0]]}
POINT_INT = {"type": "Point", "coordinates": [7, 51]}
LINE = {"type": "LineString", "coordinates": L1}


def _events(db, request_id: str) -> list[tuple[str, dict]]:  # noqa: ANN001
    return [(e.kind, e.payload) for e in db.scalars(select(Event).where(Event.request_id == request_id)
                                                    .order_by(Event.id))]


@pytest.mark.parametrize(("posted", "patch"), [
    ({"diversions": [MULTI]}, {"diversions": [MULTI]}),
    ({"replacement_routes": [MULTI]}, {"replacement_routes": [MULTI]}),
    ({"geometry": LINE_3D}, {"geometry": LINE_3D}),
    ({"geometry": POINT_INT}, {"geometry": POINT_INT}),
    ({"geometry": {"type": "Point", "coordinates": [7.0, 51.0]}}, {"geometry": POINT_INT}),
    ({"modes": ["car", "cycle"]}, {"modes": ["cycle", "car"]}),
    ({"modes": ["car"]}, {"modes": ["car", "car"]}),
    ({"modes": ["car", "cycle"]}, {"modes": ["cycle", "car", "cycle"], "diversions": [LINE]}),
], ids=["multilinestring-diversion", "multilinestring-replacement", "3d-geometry", "point-int", "point-float-vs-int",
        "modes-order", "modes-twice", "modes-and-line"])
def test_sending_the_stored_values_again_changes_nothing(client, city, db, posted, patch) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(**{"diversions": [LINE], **posted}), headers=city.headers)
    assert created.status_code == 201, created.text
    url, rid = created.headers["location"], created.json()["id"]
    before = _events(db, rid)
    for _ in range(2):
        r = client.patch(url, json=patch, headers={**city.headers, "If-Match": '"v1"'})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"v1"', "nothing changed: no new version"
        assert r.json()["updated_at"] == created.json()["updated_at"]
        assert r.json()["slot"] == created.json()["slot"]
    assert _events(db, rid) == before, "nothing changed: no request.updated event"


def test_a_3d_geometry_sent_again_still_says_z_was_dropped(client, city) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(geometry=LINE_3D), headers=city.headers)
    r = client.patch(created.headers["location"], json={"geometry": LINE_3D},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.headers["etag"] == '"v1"'
    assert any("Z coordinates" in w for w in r.json()["warnings"]), r.json()["warnings"]


def test_only_the_fields_that_really_change_are_named(client, city, db) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(diversions=[MULTI], modes=["car", "cycle"]),
                          headers=city.headers)
    url, rid = created.headers["location"], created.json()["id"]
    r = client.patch(url, json={"diversions": [MULTI], "modes": ["cycle", "car"], "title": "Neu"},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"v2"' and r.json()["title"] == "Neu"
    updated = [p for kind, p in _events(db, rid) if kind == "request.updated"]
    assert [p["fields"] for p in updated] == [["title"]]
    # a real change of the modes or the route still counts
    r = client.patch(url, json={"modes": ["car"], "diversions": [{"type": "MultiLineString", "coordinates": [L1]}]},
                     headers={**city.headers, "If-Match": '"v2"'})
    assert r.headers["etag"] == '"v3"' and r.json()["modes"] == ["car"] and len(r.json()["diversions"]) == 1
    updated = [p for kind, p in _events(db, rid) if kind == "request.updated"]
    assert updated[-1]["fields"] == ["diversions", "modes"]


def test_an_invalid_value_is_still_refused(client, city) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    bad = {"type": "LineString", "coordinates": [[7.0, 51.44]]}
    r = client.patch(created.headers["location"], json={"geometry": bad}, headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry", r.text


def test_a_new_geometry_is_a_change(client, city, db) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    rid = created.json()["id"]
    n = db.scalar(select(func.count()).select_from(Event).where(Event.request_id == rid))
    r = client.patch(created.headers["location"], json={"geometry": POINT_INT},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.headers["etag"] == '"v2"'

    assert db.scalar(select(func.count()).select_from(Event).where(Event.request_id == rid)) > n
