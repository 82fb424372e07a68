"""Validation of incoming GeoJSON geometries (RFC 7946).

:func:`validate_geojson` turns a GeoJSON geometry object into a Shapely geometry or raises
:class:`GeometryError` saying exactly what is wrong and where. Z coordinates are dropped (and reported),
everything else that is not a clean 2-D WGS84 geometry inside the service area is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

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
    (Multi)LineString, None: no cap (routes and corridors, which may run far). Both are measured in EPSG:25832."""

    service_area: tuple[float, float, float, float] = (5.86, 47.27, 15.05, 55.06)
    max_vertices: int = 10_000
    max_area_km2: float = 25.0
    max_line_km: float | None = None


@dataclass
class ValidGeometry:
    geometry: BaseGeometry
    dropped_z: bool = False
    repaired: str | None = None
    warnings: list[str] = field(default_factory=list)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _metres_hint(x: float, y: float, service_area: tuple[float, float, float, float]) -> str:
    """A hint for a position out of the WGS84 range that, read as ETRS89 / UTM 32N metres, lies in the service
    area (coordinates sent as the German surveying offices publish them); empty when it does not."""
    try:
        lon, lat = transform_point(x, y, METRIC_SRID)
    except Exception:  # noqa: BLE001 - no hint is better than a crash
        return ""
    ax0, ay0, ax1, ay1 = service_area
    if ax0 <= lon <= ax1 and ay0 <= lat <= ay1:
        return f": they look like ETRS89 / UTM 32N (EPSG:{METRIC_SRID}) metres; send WGS84 longitude/latitude"
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

    repaired = None
    if not geom.is_valid:
        reason = explain_validity(geom)
        if not repair:
            raise GeometryError(f"geometry is not valid: {reason}", location=_location(reason))
        fixed = _repair(geom)
        if fixed is None:
            raise GeometryError(f"geometry is not valid and cannot be repaired: {reason}")
        geom, repaired = fixed, reason

    crossing = _self_crossing(geom) if simple_lines else None
    if crossing is not None and not repair:
        raise GeometryError(f"{crossing} crosses or touches itself; split it into parts that do not",
                            location=_first_point(geom))

    minx, miny, maxx, maxy = geom.bounds
    ax0, ay0, ax1, ay1 = limits.service_area
    if minx < ax0 or miny < ay0 or maxx > ax1 or maxy > ay1:
        raise GeometryError(
            f"geometry (bounds {minx:.5f},{miny:.5f},{maxx:.5f},{maxy:.5f}) lies outside the service area "
            f"{ax0},{ay0},{ax1},{ay1}" + _swapped_hint(geom.bounds, limits.service_area),
            location=_first_point(geom),
        )
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        area_km2 = to_metric(geom).area / 1e6
        if area_km2 > limits.max_area_km2:
            raise GeometryError(f"area is {area_km2:.1f} km²; at most {limits.max_area_km2:g} km² are allowed")
    if limits.max_line_km is not None and geom.geom_type in ("LineString", "MultiLineString"):
        length_km = to_metric(geom).length / 1000
        if length_km > limits.max_line_km:
            what = "the line is" if geom.geom_type == "LineString" else "the lines are together"
            raise GeometryError(f"{what} {length_km:.1f} km long; at most {limits.max_line_km:g} km are allowed "
                                "(split longer works into sections)")
    warnings = ["Z coordinates were dropped; only longitude and latitude are stored"] if dropped_z else []
    if crossing is not None:
        warnings.append(f"{crossing} crosses or touches itself")
    if repaired:
        warnings.append(f"geometry was invalid as submitted ({repaired}) and was repaired with make_valid")
    return ValidGeometry(geometry=geom, dropped_z=dropped_z, repaired=repaired, warnings=warnings)


def _self_crossing(geom: BaseGeometry) -> str | None:
    """Which line of a (Multi)LineString is not simple, or None."""
    if geom.geom_type == "LineString":
        return None if geom.is_simple else "the line"
    if geom.geom_type == "MultiLineString":
        for i, part in enumerate(geom.geoms):
            if not part.is_simple:
                return f"line {i}"
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
    """make_valid, keeping only the parts of the original dimension (a polygon stays areal)."""
    fixed = make_valid(geom)
    dim = shapely.get_dimensions(geom)
    if fixed.geom_type == "GeometryCollection":
        parts = [g for g in fixed.geoms if shapely.get_dimensions(g) == dim]
        if not parts:
            return None
        fixed = shapely.union_all(parts)
    if fixed.is_empty or shapely.get_dimensions(fixed) != dim or not fixed.is_valid:
        return None
    return fixed
