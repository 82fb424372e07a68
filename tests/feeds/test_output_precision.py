"""Published geometry stays valid after the outputs' rounding (``service.geo.precision``).

Every site of the City of Karlsruhe's data set (Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0; the shared
data's ``real/karlsruhe/sites.geojson``) is imported as the CLI does, published, and read back from DATEX II (6
decimals), WZDx and the request list (GeoJSON, 7 decimals): each geometry parses valid. Stored valid, seven of them
(2026V2418's two parts a few millimetres apart among them) were written invalid in DATEX II before.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import shapely
from geoalchemy2.shape import to_shape
from lxml import etree
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape
from sqlalchemy import func, literal_column, select, text

from service.geo.precision import is_on_grid, on_grid
from service.kit.spatial_sql import geojson_sql
from service.requests import loaders
from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots.models import Slot

KARLSRUHE = Settings().shared_data_dir / "real" / "karlsruhe" / "sites.geojson"
GML = {"loc": "http://datex2.eu/schema/3/locationReferencing", "sit": "http://datex2.eu/schema/3/situation"}
# two squares 2 mm apart: they overlap once rounded to 7 decimals
TWO_SQUARES = ("MULTIPOLYGON(((7 51.4, 7.0001 51.4, 7.0001 51.4001, 7 51.4001, 7 51.4)),"
               "((7.00010003 51.4, 7.0002 51.4, 7.0002 51.4001, 7.00010003 51.4001, 7.00010003 51.4)))")
# stored valid, invalid when rounded to DATEX II's 6 decimals
AT_SIX = {"2026V2418", "2026V4804", "2026V4905", "2024V2069", "2024V6440", "2026V3275"}


def _publish_karlsruhe(db, settings) -> dict[uuid.UUID, SiteRequest]:  # noqa: ANN001
    """The Karlsruhe sites as imported, each approved with a slot ahead, so that every feed publishes them."""
    summary = loaders.load_karlsruhe(db, KARLSRUHE, settings)
    assert not summary.refused
    sites = {r.id: r for r in db.scalars(select(SiteRequest).where(SiteRequest.source == "karlsruhe"))}
    assert len(sites) == 368
    start, end = date(2027, 3, 1), date(2027, 3, 31)
    for req in sites.values():
        req.status, req.earliest_start, req.latest_end, req.duration_days = "approved", start, end, 31
        slot = db.get(Slot, req.id)
        if slot is None:
            db.add(Slot(request_id=req.id, start=start, end=end, status="approved"))
        else:
            slot.start, slot.end, slot.status = start, end, "approved"
    db.flush()
    return sites


def _positions(text: str) -> list[tuple[float, float]]:
    values = [float(v) for v in text.split()]
    return [(lon, lat) for lat, lon in zip(values[0::2], values[1::2], strict=True)]


def _datex_geometries(doc: etree._Element) -> dict[str, list]:  # noqa: ANN001
    """Per situation id, the geometries of its locations, as written."""
    out: dict[str, list] = {}
    for situation in doc.iter(f"{{{GML['sit']}}}situation"):
        geoms = out.setdefault(situation.get("id"), [])
        for multi in situation.iter(f"{{{GML['loc']}}}gmlMultiPolygon"):
            polygons = []
            for gml in multi.findall("loc:gmlPolygon", GML):
                shell = _positions(gml.find("loc:exterior/loc:posList", GML).text)
                holes = [_positions(p.text) for p in gml.findall("loc:interior/loc:posList", GML)]
                polygons.append(Polygon(shell, holes))
            geoms.append(MultiPolygon(polygons))
        for line in situation.iter(f"{{{GML['loc']}}}gmlLineString"):
            geoms.append(LineString(_positions(line.find("loc:posList", GML).text)))
        for point in situation.iter(f"{{{GML['loc']}}}pointCoordinates"):
            geoms.append(Point(float(point.find("loc:longitude", GML).text),
                               float(point.find("loc:latitude", GML).text)))
    return out


def _check_datex2(client, karlsruhe) -> None:  # noqa: ANN001
    response = client.get("/feeds/datex2/situations.xml")
    assert response.status_code == 200
    written = _datex_geometries(etree.fromstring(response.content))
    assert {uuid.UUID(s) for s in written} == set(karlsruhe)
    invalid = {karlsruhe[uuid.UUID(s)].external_id: shapely.is_valid_reason(g)
               for s, geoms in written.items() for g in geoms if not g.is_valid}
    assert invalid == {}
    areas = {karlsruhe[uuid.UUID(s)].external_id for s, geoms in written.items()
             if any(isinstance(g, MultiPolygon) for g in geoms)}
    assert {"2026V2418", "2026V4804", "2026V4905"} <= areas  # the polygons, still areas


def _check_wzdx(client) -> None:  # noqa: ANN001
    response = client.get("/feeds/wzdx.geojson")
    assert response.status_code == 200
    features = response.json()["features"]
    assert features
    invalid = [(f["id"], shapely.is_valid_reason(shape(f["geometry"]))) for f in features
               if not shape(f["geometry"]).is_valid]
    assert invalid == []
    for f in features:  # written with 7 decimals at most
        assert is_on_grid(shape(f["geometry"]), 7)


def _check_list(client, coordinator, karlsruhe) -> None:  # noqa: ANN001
    seen: dict[str, dict] = {}
    params: dict = {"limit": 1000}
    while True:
        page = client.get("/v1/requests", params=params, headers=coordinator.headers).json()
        seen.update({f["id"]: f["geometry"] for f in page["features"]})
        if not page["next_cursor"]:
            break
        params = {"limit": 1000, "cursor": page["next_cursor"]}
    assert {str(i) for i in karlsruhe} <= set(seen)
    invalid = {karlsruhe[i].external_id: shapely.is_valid_reason(shape(seen[str(i)])) for i in karlsruhe
               if not shape(seen[str(i)]).is_valid}
    assert invalid == {}


def _check_on_grid(karlsruhe) -> None:  # noqa: ANN001
    changed = set()
    for req in karlsruhe.values():
        stored = to_shape(req.geom)
        assert stored.is_valid
        for decimals in (6, 7):
            out = on_grid(stored, decimals)
            assert out.is_valid, (req.external_id, decimals)
            assert is_on_grid(out, decimals)
            assert shapely.get_dimensions(out) == shapely.get_dimensions(stored)
            if decimals == 6 and not on_grid(stored, 12).equals_exact(out, 1e-6):
                changed.add(req.external_id)
            # where rounding alone keeps it valid, nothing but the rounding happens
            plain = shapely.transform(stored, lambda xy, d=decimals: [[float(f"{v:.{d}f}") for v in c] for c in xy])
            if plain.is_valid:
                assert out.equals_exact(plain, 0)
    assert AT_SIX <= changed


def test_every_karlsruhe_site_round_trips_valid(client, db, settings, coordinator) -> None:  # noqa: ANN001
    """DATEX II, WZDx and the request list write every Karlsruhe site as a valid geometry of its dimension (one
    import for all four checks: it takes a while)."""
    karlsruhe = _publish_karlsruhe(db, settings)
    _check_on_grid(karlsruhe)
    _check_datex2(client, karlsruhe)
    _check_wzdx(client)
    _check_list(client, coordinator, karlsruhe)


def test_geojson_sql_is_valid_on_the_grid(db) -> None:  # noqa: ANN001
    """PostGIS's GeoJSON: two squares 2 mm apart overlap at 7 decimals; the output merges them, counter-clockwise."""
    two = text(f"'SRID=4326;{TWO_SQUARES}'::geometry")
    plain = shape(json.loads(db.scalar(select(func.ST_AsGeoJSON(two, 7)))))
    assert not plain.is_valid  # what the list wrote before
    out = shape(json.loads(db.scalar(select(literal_column(geojson_sql(str(two)))))))
    assert out.is_valid and out.geom_type == "Polygon" and out.exterior.is_ccw


def test_the_request_list_writes_a_stored_geometry_valid_on_its_grid(client, db, coordinator) -> None:  # noqa: ANN001
    """A geometry stored before the input checked the output's grid (or imported so): the list still writes it
    valid."""
    req = SiteRequest(
        owner_id=coordinator.org_id, title="Zwei Felder", kind="water", impact="footway", modes=[],
        shift="continuous", urgency="planned", status="submitted", contact={}, geometry_notes=[], bundle_with=[],
        geom=f"SRID=4326;{TWO_SQUARES}", earliest_start=date(2027, 3, 1), latest_end=date(2027, 3, 31),
        duration_days=31, source="test",
    )
    db.add(req)
    db.flush()
    page = client.get("/v1/requests", params={"limit": 1000}, headers=coordinator.headers).json()
    written = shape(next(f["geometry"] for f in page["features"] if f["id"] == str(req.id)))
    assert written.is_valid, shapely.is_valid_reason(written)
    assert written.geom_type == "Polygon"
