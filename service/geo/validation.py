"""Validation of incoming GeoJSON geometries (RFC 7946).

:func:`validate_geojson` turns a GeoJSON geometry object into a Shapely geometry or raises
:class:`GeometryError` saying exactly what is wrong and where. Z coordinates are dropped (and reported),
everything else that is not a clean 2-D WGS84 geometry inside the service area is refused. What passes is
normalised as RFC 7946 wants it output (polygon exteriors counter-clockwise, holes clockwise; section 3.1.6) and
without repeated consecutive positions, so what is stored is what is returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity, make_valid

from service.geo.crs import METRIC_SRID, to_metric, transform_point

ALL_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


class GeometryError(ValueError):
    """A geometry that cannot be accepted. ``detail`` is a sentence for the caller; ``member`` the member of the
    geometry object at fault when it is not the coordinates (``"crs"``), for the field name."""

    def __init__(self, detail: str, *, location: tuple[float, float] | None = None, member: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.location = location
        self.member = member

    def field(self, base: str) -> str:
        """The name of the field at fault, given the geometry's own (``geometry`` → ``geometry.crs``)."""
        return f"{base}.{self.member}" if self.member else base


# The names of WGS84 longitude/latitude a GeoJSON 2008 ``crs`` member may carry (OGC CRS84, EPSG:4326 in its URN,
# URL and short forms, with or without a version). RFC 7946 removed ``crs``: coordinates are always these.
_WGS84_NAMES = re.compile(
    r"(urn:ogc:def:crs:ogc:[\d.]*:crs84|urn:ogc:def:crs:epsg:[\d.]*:4326|(ogc:)?crs84|epsg:4326"
    r"|https?://www\.opengis\.net/def/crs/ogc/[\d.]+/crs84|https?://www\.opengis\.net/def/crs/epsg/[\d.]+/4326)"
)
CRS_DETAIL = "coordinates must be WGS84 longitude/latitude (RFC 7946)"


def _crs_name(crs: object) -> str | None:
    """What a GeoJSON 2008 ``crs`` member names, as far as it can be read (a ``name`` or ``EPSG`` crs)."""
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        props = crs["properties"]
        if crs.get("type") == "name" and isinstance(props.get("name"), str):
            return props["name"].strip()
        if crs.get("type") == "EPSG" and isinstance(props.get("code"), int | str) and not isinstance(
                props.get("code"), bool):
            return f"EPSG:{props['code']}"
    return crs.strip() if isinstance(crs, str) else None


def check_crs(obj: dict) -> None:
    """A ``crs`` member of a GeoJSON object (a geometry, a Feature, a FeatureCollection): RFC 7946 removed it and
    reads every coordinate as WGS84 longitude/latitude. One naming WGS84 (CRS84, EPSG:4326) or null says nothing
    else and is ignored; any other (EPSG:25832, a link, one that cannot be read) would be silently misread, so it
    is refused (``member`` "crs")."""
    if "crs" not in obj or obj["crs"] is None:
        return
    name = _crs_name(obj["crs"])
    if name is not None and _WGS84_NAMES.fullmatch(name.lower()):
        return
    named = f"crs names {name!r}" if name else "crs does not name WGS84"
    raise GeometryError(f"{named}, but {CRS_DETAIL}; GeoJSON has no crs member any more, leave it out",
                        member="crs")


@dataclass(frozen=True)
class GeometryLimits:
    """What a geometry may be. ``max_area_km2`` caps (Multi)Polygons; ``max_line_km`` caps the total length of a
    (Multi)LineString, None: no cap (routes and corridors, which may run far); ``max_extent_km`` caps the diagonal
    of the bounding box, so the parts of a Multi* geometry cannot lie far apart (None: no cap). ``min_line_m`` and
    ``min_area_m2`` are the least a (Multi)LineString's total length and a (Multi)Polygon's total area may be. All
    are measured in EPSG:25832."""

    service_area: tuple[float, float, float, float] = (5.86, 47.27, 15.05, 55.06)
    max_vertices: int = 10_000
    max_area_km2: float = 25.0
    max_line_km: float | None = None
    max_extent_km: float | None = None
    min_line_m: float = 0.5
    min_area_m2: float = 0.5


# Output rounds coordinates to 7 decimals (ST_AsGeoJSON(geom, 7): about 1 cm); a geometry must survive that.
OUTPUT_DECIMALS = 7


@dataclass
class ValidGeometry:
    geometry: BaseGeometry
    dropped_z: bool = False
    repaired: str | None = None
    warnings: list[str] = field(default_factory=list)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


UTM_ZONE_PREFIXED_SRID = 4647  # ETRS89 / UTM zone 32N (zE-N): the easting with the zone number 32 in front
GAUSS_KRUEGER_SRIDS = {2: 31466, 3: 31467, 4: 31468, 5: 31469}  # DHDN / 3-degree Gauss-Krüger zones 2 to 5


def _metric_form(east: float) -> tuple[int, str]:
    """The surveying-office coordinate form an easting of that size is written in: (EPSG code, its name)."""
    if 32_000_000 <= east < 33_000_000:
        return UTM_ZONE_PREFIXED_SRID, (f"ETRS89 / UTM 32N metres with the zone number 32 before the easting "
                                        f"(EPSG:{UTM_ZONE_PREFIXED_SRID})")
    zone = int(east // 1_000_000) if 0 <= east < 10_000_000 else 0
    if zone in GAUSS_KRUEGER_SRIDS:
        return GAUSS_KRUEGER_SRIDS[zone], f"Gauss-Krüger metres (DHDN zone {zone}, EPSG:{GAUSS_KRUEGER_SRIDS[zone]})"
    return METRIC_SRID, f"ETRS89 / UTM 32N (EPSG:{METRIC_SRID}) metres"


def _metres_hint(x: float, y: float, service_area: tuple[float, float, float, float]) -> str:
    """A hint for a position out of the WGS84 range that, read as metres the German surveying offices publish
    (ETRS89 / UTM 32N, also with the zone number before the easting, or Gauss-Krüger), lies in the service area,
    also when northing and easting are swapped; empty when it does not."""
    ax0, ay0, ax1, ay1 = service_area
    for east, north, order in ((x, y, ""), (y, x, " with northing and easting swapped (easting comes first)")):
        srid, name = _metric_form(east)
        try:
            lon, lat = transform_point(east, north, srid)
        except Exception:  # noqa: BLE001 - no hint is better than a crash
            continue
        if ax0 <= lon <= ax1 and ay0 <= lat <= ay1:
            return f": they look like {name}{order}; send WGS84 longitude/latitude"
    return ""


def _swapped_hint(bounds: tuple[float, float, float, float], service_area: tuple[float, float, float, float]) -> str:
    """A hint for a geometry outside the service area that, with each position's numbers swapped, lies inside."""
    minx, miny, maxx, maxy = bounds
    ax0, ay0, ax1, ay1 = service_area
    if ax0 <= miny and maxy <= ax1 and ay0 <= minx and maxx <= ay1:
        return ": the coordinates look like latitude, longitude; GeoJSON order is longitude, latitude"
    return ""


def _clean_positions(obj: dict, service_area: tuple[float, float, float, float]) -> tuple[dict, bool]:
    """Check every position is 2 or 3 finite numbers in WGS84 range; drop Z. Returns (2-D obj, dropped_z)."""
    gtype = obj["type"]
    depth = _DEPTH[gtype]
    dropped = False

    def clean(coords: object, d: int) -> object:
        nonlocal dropped
        if d == 0:
            if coords == []:
                raise GeometryError("geometry is empty")
            if not isinstance(coords, list | tuple) or len(coords) < 2:
                raise GeometryError("a position must be an array of two numbers [longitude, latitude]")
            if len(coords) > 3:
                raise GeometryError("a position has more than three numbers")
            for v in coords:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise GeometryError(f"coordinate {v!r} is not a number")
                try:
                    finite = math.isfinite(v)
                except OverflowError:  # an integer too large for a float
                    finite = False
                if not finite:
                    raise GeometryError("coordinates must be finite numbers in the WGS84 range")
            lon, lat = float(coords[0]), float(coords[1])
            if not (-180.0 <= lon <= 180.0) or not (-90.0 <= lat <= 90.0):
                raise GeometryError(
                    f"position [{lon}, {lat}] is outside the WGS84 range (longitude first, then latitude)"
                    + _metres_hint(lon, lat, service_area),
                    location=(lon, lat),
                )
            if len(coords) == 3:
                dropped = True
            return [lon, lat]
        if not isinstance(coords, list | tuple):
            raise GeometryError("coordinates must be nested arrays of positions")
        return [clean(c, d - 1) for c in coords]

    cleaned = clean(obj.get("coordinates"), depth)
    if not _is_empty_nested(cleaned):  # an empty geometry is reported as such by the caller
        _check_structure(gtype, cleaned)
    return {"type": gtype, "coordinates": cleaned}, dropped


def _each_part(gtype: str, coords: list, line: Callable[[list, str], None],
               polygon: Callable[[list, str], None]) -> None:
    """``line(positions, where)`` for each line and ``polygon(rings, where)`` for each polygon of a (Multi)LineString
    or (Multi)Polygon, ``where`` naming the part for a message ("line 2 ", "the polygon ")."""
    if gtype == "LineString":
        line(coords, "the line ")
    elif gtype == "MultiLineString":
        for i, part in enumerate(coords):
            line(part, f"line {i} ")
    elif gtype == "Polygon":
        polygon(coords, "the polygon ")
    elif gtype == "MultiPolygon":
        for i, part in enumerate(coords):
            polygon(part, f"polygon {i} ")


def _check_structure(gtype: str, coords: list) -> None:
    """What RFC 7946 requires of each part: a line has two or more positions, a ring four or more with the
    last equal to the first. Checked here so that the caller learns which part is wrong."""

    def line(positions: list, where: str) -> None:
        if len(positions) < 2:
            raise GeometryError(f"{where}has {len(positions)} position(s); a line needs at least two")

    def ring(positions: list, where: str) -> None:
        if len(positions) < 4:
            raise GeometryError(f"{where}has {len(positions)} position(s); a ring needs at least four")
        if positions[0] != positions[-1]:
            raise GeometryError(f"{where}is not closed: its last position must equal its first (RFC 7946)")

    def polygon(rings: list, where: str) -> None:
        if not rings:
            raise GeometryError(f"{where}has no rings")
        for i, r in enumerate(rings):
            ring(r, f"{where}ring {i} ")

    _each_part(gtype, coords, line, polygon)


def _first_point(geom: BaseGeometry) -> tuple[float, float] | None:
    coords = shapely.get_coordinates(geom)
    return (float(coords[0][0]), float(coords[0][1])) if len(coords) else None


def validate_geojson(
    obj: object,
    *,
    limits: GeometryLimits = GeometryLimits(),
    allowed: tuple[str, ...] = ALL_TYPES,
    repair: bool = False,
    simple_lines: bool = True,
) -> ValidGeometry:
    """Validate a GeoJSON geometry object.

    With ``repair=True`` an invalid geometry is passed through ``make_valid`` and accepted when the result
    is a non-empty geometry of the same dimension (used for imports of published data).
    With ``simple_lines=True`` a line that crosses or touches itself is refused (the footprint of works);
    routes and transit lines pass ``False``, since a vehicle may pass the same junction twice. Separate parts of
    a MultiLineString may always cross (two trenches across a junction).
    """
    if not isinstance(obj, dict) or "type" not in obj:
        raise GeometryError("must be a GeoJSON geometry object with 'type' and 'coordinates'")
    gtype = obj["type"]
    if gtype == "GeometryCollection":
        raise GeometryError("GeometryCollection is not accepted; send a single or Multi* geometry")
    if gtype not in allowed:
        raise GeometryError(f"geometry type {gtype!r} is not accepted here; use one of {', '.join(allowed)}")
    if "coordinates" not in obj:
        raise GeometryError("'coordinates' is missing")
    check_crs(obj)
    flat, dropped_z = _clean_positions(obj, limits.service_area)
    if flat["coordinates"] == [] or _is_empty_nested(flat["coordinates"]):
        raise GeometryError("geometry is empty")
    try:
        geom = shape(flat)
    except (ValueError, TypeError, AttributeError, IndexError, ShapelyError) as exc:
        raise GeometryError(f"coordinates do not form a {gtype}: {exc}") from exc
    if geom.is_empty:
        raise GeometryError("geometry is empty")
    n = shapely.get_num_coordinates(geom)
    if n > limits.max_vertices:
        raise GeometryError(f"geometry has {n} vertices; at most {limits.max_vertices} are allowed")
    try:
        _check_collapsed(flat)
        collapsed = None
    except GeometryError as exc:
        if not repair:
            raise
        collapsed = exc  # published data: make_valid drops a collapsed part when others remain

    repaired = None
    if not geom.is_valid:
        reason = explain_validity(geom)
        if not repair:
            raise GeometryError(f"geometry is not valid: {reason}", location=_location(reason))
        fixed = _repair(geom)
        if fixed is None:
            raise collapsed or GeometryError(f"geometry is not valid and cannot be repaired: {reason}")
        geom, repaired = fixed, reason

    crossing = _self_crossing(geom) if simple_lines else None
    if crossing is not None and not repair:
        raise GeometryError(f"{crossing} crosses or touches itself; split it into parts that do not",
                            location=_crossing_point(geom) or _first_point(geom))

    minx, miny, maxx, maxy = geom.bounds
    ax0, ay0, ax1, ay1 = limits.service_area
    if minx < ax0 or miny < ay0 or maxx > ax1 or maxy > ay1:
        raise GeometryError(
            f"geometry (bounds {minx:.5f},{miny:.5f},{maxx:.5f},{maxy:.5f}) lies outside the service area "
            f"{ax0},{ay0},{ax1},{ay1}" + _swapped_hint(geom.bounds, limits.service_area),
            location=_first_point(geom),
        )
    metric = to_metric(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        area_km2 = metric.area / 1e6
        if area_km2 > limits.max_area_km2:
            raise GeometryError(f"area is {area_km2:.1f} km²; at most {limits.max_area_km2:g} km² are allowed")
        if metric.area < limits.min_area_m2:
            what = "the polygon has" if geom.geom_type == "Polygon" else "the polygons have together"
            raise GeometryError(f"{what} an area of {_amount(metric.area)} m²; an area must have at least "
                                f"{limits.min_area_m2:g} m² (send a Point for works at one place)",
                                location=_first_point(geom))
    if geom.geom_type in ("LineString", "MultiLineString"):
        what = "the line is" if geom.geom_type == "LineString" else "the lines are together"
        if limits.max_line_km is not None and metric.length / 1000 > limits.max_line_km:
            raise GeometryError(f"{what} {metric.length / 1000:.1f} km long; at most {limits.max_line_km:g} km are "
                                "allowed (split longer works into sections)")
        if metric.length < limits.min_line_m:
            raise GeometryError(f"{what} {_amount(metric.length)} m long; a line must be at least "
                                f"{limits.min_line_m:g} m long (send a Point for works at one place)",
                                location=_first_point(geom))
    if limits.max_extent_km is not None:
        x0, y0, x1, y1 = metric.bounds
        extent_km = math.hypot(x1 - x0, y1 - y0) / 1000
        if extent_km > limits.max_extent_km:
            raise GeometryError(
                f"the geometry spans {extent_km:.1f} km (the diagonal of its bounding box); at most "
                f"{limits.max_extent_km:g} km are allowed: the parts of one site lie together (submit works far "
                "apart as requests of their own)", location=_first_point(geom))
    _check_rounding(geom)
    geom = _normalised(geom)
    warnings = ["Z coordinates were dropped; only longitude and latitude are stored"] if dropped_z else []
    if crossing is not None:
        warnings.append(f"{crossing} crosses or touches itself")
    if repaired:
        warnings.append(f"geometry was invalid as submitted ({repaired}) and was repaired with make_valid")
    return ValidGeometry(geometry=geom, dropped_z=dropped_z, repaired=repaired, warnings=warnings)


def _check_collapsed(flat: dict) -> None:
    """A line whose positions are all one, or a ring with fewer than three different positions, has no length or
    area (GEOS says only "Too few points in geometry component"): refused saying which part."""
    gtype, coords = flat["type"], flat["coordinates"]

    def distinct(positions: list) -> int:
        return len({(p[0], p[1]) for p in positions})

    def line(positions: list, where: str) -> None:
        if distinct(positions) < 2:
            raise GeometryError(f"{where}has all its positions at one place; a line needs two different positions "
                                "(send a Point for works at one place)", location=tuple(positions[0]))

    def polygon(rings: list, where: str) -> None:
        for i, r in enumerate(rings):
            if distinct(r) < 3:
                raise GeometryError(f"{where}ring {i} encloses no area: it needs at least three different positions",
                                    location=tuple(r[0]))

    _each_part(gtype, coords, line, polygon)


def rounded(geom: BaseGeometry, decimals: int = OUTPUT_DECIMALS) -> BaseGeometry:
    """``geom`` with its coordinates rounded as the output writes them (``ST_AsGeoJSON(geom, 7)``)."""
    return shapely.transform(geom, lambda xy: np.round(xy, decimals))


def _check_rounding(geom: BaseGeometry) -> None:
    """Refuse a geometry that the output's 7 decimals (about 1 cm) would collapse or make invalid: a line part
    shorter than that becomes a line of one position, a sliver of a polygon no area."""
    out = rounded(geom)
    if out.is_valid and not out.is_empty:
        return
    parts = list(getattr(geom, "geoms", [geom]))
    where = "the geometry"
    for i, part in enumerate(parts):
        if not rounded(part).is_valid:
            name = {"LineString": "line", "Polygon": "polygon", "Point": "point"}.get(part.geom_type, "part")
            where = f"{name} {i}" if len(parts) > 1 else f"the {name}"
            break
    raise GeometryError(f"{where} collapses or becomes invalid when its coordinates are rounded to {OUTPUT_DECIMALS} "
                        "decimals (about 1 cm), as the service publishes them: make it larger than that",
                        location=_first_point(geom))


def _amount(value: float) -> str:
    """A small length or area for a message: two decimals, "less than 0.01" below that."""
    return f"{value:.2f}" if value >= 0.01 else "less than 0.01"


def _normalised(geom: BaseGeometry) -> BaseGeometry:
    """RFC 7946 section 3.1.6: exterior rings counter-clockwise, holes clockwise; repeated consecutive positions
    of lines and rings dropped (a Point or MultiPoint stays as sent)."""
    if geom.geom_type in ("Point", "MultiPoint"):
        return geom
    return shapely.orient_polygons(shapely.remove_repeated_points(geom, 0.0), exterior_cw=False)


def _self_crossing(geom: BaseGeometry) -> str | None:
    """Which line of a (Multi)LineString is not simple, or None."""
    if geom.geom_type == "LineString":
        return None if geom.is_simple else "the line"
    if geom.geom_type == "MultiLineString":
        for i, part in enumerate(geom.geoms):
            if not part.is_simple:
                return f"line {i}"
    return None


def _crossing_point(geom: BaseGeometry) -> tuple[float, float] | None:
    """Where the first line of a (Multi)LineString that is not simple crosses or touches itself, or None. The
    line noded at its self-intersections (``shapely.node``) ends its pieces there: a piece end met more often than
    the line's own two ends account for is such a point (for a line that crosses itself, the crossing, not its
    first vertex)."""
    for line in getattr(geom, "geoms", [geom]):
        if line.geom_type != "LineString" or line.is_simple:
            continue
        ends: list[tuple[float, float]] = []
        for piece in shapely.node(line).geoms:
            coords = list(piece.coords)
            ends += [tuple(coords[0][:2]), tuple(coords[-1][:2])]
        own = [tuple(line.coords[0][:2]), tuple(line.coords[-1][:2])]
        for point in ends:
            if ends.count(point) > own.count(point):
                return float(point[0]), float(point[1])
    return None


def _is_empty_nested(coords: object) -> bool:
    if isinstance(coords, list):
        return len(coords) == 0 or all(_is_empty_nested(c) for c in coords) and not _is_position(coords)
    return False


def _is_position(coords: list) -> bool:
    return len(coords) > 0 and all(isinstance(c, int | float) for c in coords)


def _location(reason: str) -> tuple[float, float] | None:
    # explain_validity says e.g. "Self-intersection[7.001 51.44]"
    if "[" in reason and reason.endswith("]"):
        try:
            x, y = reason[reason.index("[") + 1 : -1].split()[:2]
            return float(x), float(y)
        except ValueError:
            return None
    return None


def _repair(geom: BaseGeometry) -> BaseGeometry | None:
    """make_valid, keeping only the parts of the original dimension (a polygon stays areal), on the output's grid
    of 7 decimals: noding can leave a part of a few millimetres that the output would collapse, which is dropped."""
    fixed = make_valid(geom)
    dim = shapely.get_dimensions(geom)
    if fixed.geom_type == "GeometryCollection":
        parts = [g for g in fixed.geoms if shapely.get_dimensions(g) == dim]
        if not parts:
            return None
        fixed = shapely.union_all(parts)
    fixed = shapely.set_precision(fixed, 10.0**-OUTPUT_DECIMALS)
    if fixed.is_empty or shapely.get_dimensions(fixed) != dim or not fixed.is_valid:
        return None
    return fixed
