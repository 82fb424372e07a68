"""Vector tiles decoded with mapbox-vector-tile; conflicts, zones and the zone timeline."""

from __future__ import annotations

import math
import uuid
from datetime import date

import mapbox_vector_tile
from geoalchemy2.shape import from_shape
from shapely.geometry import Polygon

from service.conflicts.models import Blackout, Conflict, Corridor, Zone
from service.slots.models import Slot
from tests.map.helpers import add_site


def _create(db, caller, **overrides) -> str:  # noqa: ANN001, ANN003
    return str(add_site(db, caller.org_id, **overrides).id)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _decode(client, path: str, **params) -> dict:  # noqa: ANN001, ANN003
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(r.content)


def test_site_tile_has_properties_and_honours_datetime_and_filters(client, city, utility, db) -> None:  # noqa: ANN001
    a = _create(db, city, title="Kanal A", earliest_start="2027-03-01", latest_end="2027-09-30")
    b = _create(db, utility, title="Gas B", kind="gas", impact="lane_reduction",
                geometry={"type": "Point", "coordinates": [7.0005, 51.4390]}, diversions=[])
    draft = _create(db, utility, title="Entwurf", status="draft")
    db.add(Slot(request_id=uuid.UUID(a), start=date(2027, 4, 1), end=date(2027, 5, 30), status="approved"))
    db.flush()
    x, y = tile_of(7.0005, 51.439, 14)
    tile = _decode(client, f"/tiles/sites/14/{x}/{y}.mvt")
    feats = {f["properties"]["id"]: f["properties"] for f in tile["sites"]["features"]}
    assert set(feats) == {a, b}  # the draft is not public
    assert draft not in feats
    assert feats[a] | {"id": None} == {"id": None, "title": "Kanal A", "status": "submitted",
                                       "impact": "full_closure", "kind": "sewer", "owner": city.name,
                                       "slot_status": "approved", "start": "2027-04-01", "end": "2027-05-30"}
    assert feats[b]["start"] == "2027-03-01" and "slot_status" not in feats[b]
    in_march = _decode(client, f"/tiles/sites/14/{x}/{y}.mvt", datetime="2027-03-15")
    assert {f["properties"]["id"] for f in in_march["sites"]["features"]} == {b}
    gas = _decode(client, f"/tiles/sites/14/{x}/{y}.mvt", kind="gas")
    assert {f["properties"]["id"] for f in gas["sites"]["features"]} == {b}
    # a tile far away is empty, a bad tile address is 404, an unknown layer 404
    fx, fy = tile_of(9.99, 53.55, 14)
    assert client.get(f"/tiles/sites/14/{fx}/{fy}.mvt").content == b""
    assert client.get("/tiles/sites/3/9/1.mvt").status_code == 404
    assert client.get(f"/tiles/nope/14/{x}/{y}.mvt").status_code == 404
    # the owner's key shows the draft
    r = client.get(f"/tiles/sites/14/{x}/{y}.mvt", headers=utility.headers)
    assert draft in {f["properties"]["id"] for f in mapbox_vector_tile.decode(r.content)["sites"]["features"]}


def test_low_zoom_site_tile_draws_points_without_ids_and_still_filters(client, city, utility, db) -> None:  # noqa: ANN001
    _create(db, city, title="Kanal A", earliest_start="2027-03-01", latest_end="2027-09-30")
    _create(db, utility, title="Gas B", kind="gas", impact="lane_reduction", earliest_start="2027-01-04",
            latest_end="2027-02-26", duration_days=30, preferred_start=None,
            geometry={"type": "Point", "coordinates": [7.0005, 51.4390]}, diversions=[])
    x, y = tile_of(7.0005, 51.439, 10)
    tile = _decode(client, f"/tiles/sites/10/{x}/{y}.mvt")
    feats = tile["sites"]["features"]
    assert len(feats) == 2
    assert {f["geometry"]["type"] for f in feats} == {"Point"}  # the line of Kanal A is a point at z10
    assert all("id" not in f["properties"] and "title" not in f["properties"] for f in feats)
    assert sorted(f["properties"]["kind"] for f in feats) == ["gas", "sewer"]
    in_march = _decode(client, f"/tiles/sites/10/{x}/{y}.mvt", datetime="2027-03-15")
    assert [f["properties"]["kind"] for f in in_march["sites"]["features"]] == ["sewer"]
    # from z11 the same site is its line again, with its id
    x11, y11 = tile_of(7.0005, 51.439, 11)
    kanal = [f for f in _decode(client, f"/tiles/sites/11/{x11}/{y11}.mvt")["sites"]["features"]
             if f["properties"]["kind"] == "sewer"]
    assert kanal[0]["geometry"]["type"] == "LineString" and "id" in kanal[0]["properties"]


def test_conflicts_collection_tile_and_zone_timeline(client, city, utility, db) -> None:  # noqa: ANN001
    a = uuid.UUID(_create(db, city, title="Kanal A"))
    b = uuid.UUID(_create(db, utility, title="Gas B", kind="gas",
                          geometry={"type": "Point", "coordinates": [7.0020, 51.4390]}, diversions=[]))
    lo, hi = sorted([a, b])
    db.add(Conflict(request_a=lo, request_b=hi, kind="space", hard=True, distance_m=80.0,
                    overlap_start=date(2027, 3, 1), overlap_end=date(2027, 9, 30), reason={"distance_m": 80}))
    blackout = Blackout(name="Weihnachtsmarkt Essen", start=date(2027, 11, 20), end=date(2027, 12, 31),
                        max_impact="footway",
                        geom=from_shape(Polygon([(6.99, 51.43), (7.02, 51.43), (7.02, 51.45), (6.99, 51.45)]),
                                        srid=4326))
    zone = Zone(name="Innenstadt Essen", capacity=1, min_impact="lane_reduction",
                geom=from_shape(Polygon([(6.99, 51.43), (7.0015, 51.43), (7.0015, 51.45), (6.99, 51.45)]),
                                    srid=4326))
    corridor = Corridor(name="B224", kind="arterial", buffer_m=30.0, max_concurrent=1,
                        geom=from_shape(Polygon([(7.3, 51.5), (7.31, 51.5), (7.31, 51.51)]).exterior, srid=4326))
    db.add_all([blackout, zone, corridor])
    db.flush()
    db.add(Conflict(request_a=a, request_b=None, kind="blackout", hard=True, overlap_start=date(2027, 11, 20),
                    overlap_end=date(2027, 12, 31), blackout_id=blackout.id, reason={}))
    db.flush()

    body = client.get("/ogc/collections/conflicts/items").json()
    assert body["numberMatched"] == 2
    pair = next(f for f in body["features"] if f["properties"]["kind"] == "space")
    assert pair["geometry"]["type"] == "LineString"
    assert {pair["properties"]["site_a"], pair["properties"]["site_b"]} == {str(a), str(b)}
    assert pair["properties"]["title_b"] in ("Kanal A", "Gas B")
    rule = next(f for f in body["features"] if f["properties"]["kind"] == "blackout")
    assert rule["geometry"]["type"] == "Point"
    assert client.get("/ogc/collections/conflicts/items", params={"kind": "space"}).json()["numberMatched"] == 1
    assert client.get("/ogc/collections/conflicts/items", params={"site": str(b)}).json()["numberMatched"] == 1
    assert client.get("/ogc/collections/conflicts/items",
                      params={"datetime": "2027-10-01/2027-10-31"}).json()["numberMatched"] == 0
    one = client.get(f"/ogc/collections/conflicts/items/{pair['id']}").json()
    assert one["properties"]["distance_m"] == 80.0

    zones = client.get("/ogc/collections/zones/items").json()
    assert [f["properties"]["name"] for f in zones["features"]] == ["Innenstadt Essen"]
    assert "geom_utm" not in zones["features"][0]["properties"]
    blackouts = client.get("/ogc/collections/blackouts/items", params={"datetime": "2027-12-01"}).json()
    assert blackouts["numberMatched"] == 1
    assert client.get("/ogc/collections/blackouts/items", params={"datetime": "2027-06-01"}).json()[
        "numberMatched"] == 0
    assert client.get("/ogc/collections/corridors/items", params={"bbox": "7.2,51.4,7.4,51.6"}).json()[
        "numberMatched"] == 1

    x, y = tile_of(7.001, 51.439, 14)
    tile = _decode(client, f"/tiles/conflicts/14/{x}/{y}.mvt")
    kinds = sorted(f["properties"]["kind"] for f in tile["conflicts"]["features"])
    assert kinds == ["blackout", "space"]

    timeline = client.get(f"/map/timeline/zones/{zone.id}").json()
    assert timeline["name"] == "Innenstadt Essen"
    assert [s["id"] for s in timeline["sites"]] == [str(a)]  # the gas site lies east of the zone
    assert client.get(f"/map/timeline/zones/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/map/timeline/sites/{a}").status_code == 404


def test_corridor_timeline_lists_the_sites_that_count_on_it_not_those_ending_near_it(client, city, db) -> None:  # noqa: ANN001
    """The corridor's Gantt shows the sites its capacity counts (``corridor_counts``: along or across it), as the
    conflict rule does."""
    from shapely.geometry import LineString

    along = _create(db, city, title="Deckensanierung B224",
                    geometry={"type": "LineString", "coordinates": [[7.3000, 51.5001], [7.3040, 51.5001]]})
    crossing = _create(db, city, title="Kanal Querstraße",  # about 330 m north-south, crossing the corridor
                       geometry={"type": "LineString", "coordinates": [[7.3060, 51.4985], [7.3060, 51.5015]]})
    ending = _create(db, city, title="Kanal Seitenstraße",  # about 300 m north-south, ending 20 m from it
                     geometry={"type": "LineString", "coordinates": [[7.3080, 51.50018], [7.3080, 51.5029]]})
    corridor = Corridor(name="B224 Test", kind="arterial", buffer_m=25.0, max_concurrent=1,
                        geom=from_shape(LineString([(7.29, 51.5), (7.32, 51.5)]), srid=4326))
    db.add(corridor)
    db.flush()
    timeline = client.get(f"/map/timeline/corridors/{corridor.id}").json()
    ids = [s["id"] for s in timeline["sites"]]
    assert along in ids and crossing in ids and ending not in ids
