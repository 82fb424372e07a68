"""Mapping of the City of Karlsruhe's open data set "Baustellen" (CC BY 4.0) onto site requests.

Pure: one published feature in, ``(owner name, owner kind, write body, notes)`` out; a feature that cannot be
mapped (no ``id``, a missing or malformed ``von``/``bis``, an unreadable geometry) raises :class:`InvalidFeature`
naming the property, and the loader refuses that feature alone.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape

from service.geo import GeometryError, check_crs, to_metric, to_wgs84

ATTRIBUTION = "Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0"
MAX_OWNER_NAME = 200  # organisations.name
# A GeometryCollection that mixes areas with lines or points (a trench drawn as a line next to the polygons of its
# pits) is stored as one area: each line becomes a strip this wide on each side (a 1 m strip: a cable or pipe
# trench is 0.3 to 0.6 m wide, plus its edges) and each point a disc of this radius, measured in EPSG:25832. The
# line stays inside its strip, so every distance to it (conflicts, notices) is at most this much shorter.
STRIP_HALF_WIDTH_M = 0.5

KIND_BY_ART = {
    "Strom bzw. TK-Versorgung": "power",
    "Bauliche Sondernutzung": "building",
    "Fernwärmeversorgung": "district_heating",
    "Gas bzw. Wasserversorgung": "water",
    "Straßenunterhaltung": "road_maintenance",
    "Kanalbau": "sewer",
    "Kanalarbeiten": "sewer",
    "Straßenbau": "road_construction",
    "Haltestellenumbau mit Straßenumgestaltung": "road_construction",
    "Gleisbau": "tram_track",
    "Kraneinsatz": "building",
    "Abbruch/Rückbau": "building",
    "Brückenbau": "bridge",
    "Brückenarbeiten": "bridge",
    "Bauwerksprüfung": "bridge",
    "Stützwand": "bridge",
    "Leitungsarbeiten": "power",
}
IMPACT_BY_AMPEL = {"gering": "footway", "teil": "lane_reduction", "voll": "full_closure"}
MODE_BY_KEY = {"fuss": "pedestrian", "rad": "cycle", "auto": "car", "oepnv": "transit"}
OWNER_ALIASES = {"TBA": "Tiefbauamt", "VBK": "Verkehrsbetriebe Karlsruhe", "Stadtwerke": "Stadtwerke Karlsruhe"}
OWNER_KINDS = [
    (r"stadtwerke|telekommunikation", "utility"),
    (r"verkehrsbetriebe", "transit_operator"),
    (r"deutsche bahn", "rail"),
    (r"autobahn|land |rp karlsruhe|vermögen und bau", "road_authority"),
    (r"privat", "business"),
]


class InvalidFeature(ValueError):
    """A published feature that cannot be mapped onto a request; the message names the property."""


def _text(p: dict[str, Any], key: str) -> str | None:
    value = p.get(key)
    return value if isinstance(value, str) else None


def _day(p: dict[str, Any], key: str) -> date:
    value = p.get(key)
    if value is None:
        raise InvalidFeature(f"{key}: missing")
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidFeature(f"{key}: {value!r} is not a date like 2026-08-31") from None


def owner_of(verursacher: str | None) -> tuple[str, str]:
    name = re.sub(r"\s+", " ", (verursacher or "unbekannt").replace(" - ", "-")).strip()
    name = OWNER_ALIASES.get(name, name)
    kind = next((k for pattern, k in OWNER_KINDS if re.search(pattern, name.lower())), "city")
    return f"{name} (Karlsruhe)", kind


def _flatten_collection(geometry: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A GeometryCollection becomes one geometry: the union of its parts when they all have one dimension, else
    one area: its polygons as published, its lines and points widened by :data:`STRIP_HALF_WIDTH_M` (nothing of
    the published site is dropped). The note says what was widened."""
    if not isinstance(geometry, dict) or geometry.get("type") != "GeometryCollection":
        return geometry, None  # anything else is the request validation's to judge
    try:
        check_crs(geometry)  # the merged geometry carries no crs member any more: judged here
    except GeometryError as exc:
        raise InvalidFeature(f"geometry.crs: {exc.detail}") from None
    try:
        parts = [g for g in shape(geometry).geoms if not g.is_empty]
        dims = {int(shapely.get_dimensions(g)) for g in parts}
        if not dims:
            raise ValueError("it has no parts")
        if len(dims) == 1:
            merged = shapely.union_all(parts)
            return mapping(merged), "GeometryCollection as published; its parts were merged"
        areas = [g for g in parts if shapely.get_dimensions(g) == 2]
        lines = [g for g in parts if shapely.get_dimensions(g) == 1]
        points = [g for g in parts if shapely.get_dimensions(g) == 0]
        widened = [to_wgs84(to_metric(g).buffer(STRIP_HALF_WIDTH_M, quad_segs=4)) for g in lines + points]
        merged = shapely.union_all(areas + widened)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, ShapelyError) as exc:
        raise InvalidFeature(f"geometry: unreadable GeometryCollection ({exc or type(exc).__name__})") from None
    what = []
    if lines:
        metres = sum(to_metric(g).length for g in lines)
        what.append(f"its {_count(len(lines), 'line')} ({metres:,.0f} m) widened by {STRIP_HALF_WIDTH_M:g} m on "
                    "each side")
    if points:
        what.append(f"its {_count(len(points), 'point')} widened to {'a disc' if len(points) == 1 else 'discs'} "
                    f"of {STRIP_HALF_WIDTH_M:g} m radius")
    kept = f", merged with its {_count(len(areas), 'area')} as published" if areas else ""
    return mapping(merged), f"GeometryCollection as published, stored as one area: {' and '.join(what)}{kept}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def to_request(feature: dict[str, Any]) -> tuple[str, str, dict[str, Any], list[str]]:
    if not isinstance(feature, dict):
        raise InvalidFeature("not a GeoJSON Feature")
    p = feature.get("properties")
    if not isinstance(p, dict):
        raise InvalidFeature("properties: missing")
    site_id = p.get("id")
    if not isinstance(site_id, str) or not site_id.strip():
        raise InvalidFeature("id: missing")
    try:
        check_crs(feature)  # RFC 7946 has no crs: one naming another CRS would be misread
    except GeometryError as exc:
        raise InvalidFeature(f"crs: {exc.detail}") from None
    owner_name, owner_kind = owner_of(_text(p, "verursacher"))
    if len(owner_name) > MAX_OWNER_NAME:
        raise InvalidFeature(f"verursacher: longer than {MAX_OWNER_NAME - len(' (Karlsruhe)')} characters")
    kind = KIND_BY_ART.get(_text(p, "art") or "", "other")
    if kind == "power" and owner_kind == "utility" and "telekommunikation" in owner_name.lower():
        kind = "telecom"
    if kind == "tram_track" and owner_kind == "rail":
        kind = "rail"
    traffic = p.get("verkehrsmittel")
    modes = sorted(MODE_BY_KEY[k] for k, v in (traffic if isinstance(traffic, dict) else {}).items()
                   if v and k in MODE_BY_KEY)
    von, bis = _day(p, "von"), _day(p, "bis")
    geometry = feature.get("geometry") or {"type": "Point", "coordinates": p.get("point")}
    geometry, note = _flatten_collection(geometry)
    body = {
        "title": p.get("titel") or site_id,
        "description": p.get("info") or "",
        "kind": kind,
        "impact": IMPACT_BY_AMPEL.get(_text(p, "ampel") or "", "lane_reduction"),
        "modes": modes,
        "shift": "continuous",
        "geometry": geometry,
        "earliest_start": von,
        "latest_end": bis,
        "duration_days": max((bis - von).days + 1, 1),
        "preferred_start": von,
        "urgency": "planned",
        "external_id": site_id,
    }
    return owner_name, owner_kind, body, [note] if note else []
