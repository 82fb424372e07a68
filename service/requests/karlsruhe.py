"""Mapping of the City of Karlsruhe's open data set "Baustellen" (CC BY 4.0) onto site requests.

Pure: one published feature in, ``(owner name, owner kind, write body, notes)`` out.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import shapely
from shapely.geometry import mapping, shape

ATTRIBUTION = "Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0"

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


def owner_of(verursacher: str | None) -> tuple[str, str]:
    name = re.sub(r"\s+", " ", (verursacher or "unbekannt").replace(" - ", "-")).strip()
    name = OWNER_ALIASES.get(name, name)
    kind = next((k for pattern, k in OWNER_KINDS if re.search(pattern, name.lower())), "city")
    return f"{name} (Karlsruhe)", kind


def _flatten_collection(geometry: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A GeometryCollection becomes the union of its highest-dimension parts."""
    if geometry.get("type") != "GeometryCollection":
        return geometry, None
    geom = shape(geometry)
    top = max(shapely.get_dimensions(g) for g in geom.geoms)
    merged = shapely.union_all([g for g in geom.geoms if shapely.get_dimensions(g) == top])
    return mapping(merged), "GeometryCollection as published; its highest-dimension parts were merged"


def to_request(feature: dict[str, Any]) -> tuple[str, str, dict[str, Any], list[str]]:
    p = feature["properties"]
    owner_name, owner_kind = owner_of(p.get("verursacher"))
    kind = KIND_BY_ART.get(p.get("art") or "", "other")
    if kind == "power" and owner_kind == "utility" and "telekommunikation" in owner_name.lower():
        kind = "telecom"
    if kind == "tram_track" and owner_kind == "rail":
        kind = "rail"
    modes = sorted(MODE_BY_KEY[k] for k, v in (p.get("verkehrsmittel") or {}).items() if v and k in MODE_BY_KEY)
    von, bis = date.fromisoformat(p["von"]), date.fromisoformat(p["bis"])
    geometry = feature.get("geometry") or {"type": "Point", "coordinates": p.get("point")}
    geometry, note = _flatten_collection(geometry)
    body = {
        "title": p.get("titel") or p["id"],
        "description": p.get("info") or "",
        "kind": kind,
        "impact": IMPACT_BY_AMPEL.get(p.get("ampel") or "", "lane_reduction"),
        "modes": modes,
        "shift": "continuous",
        "geometry": geometry,
        "earliest_start": von,
        "latest_end": bis,
        "duration_days": max((bis - von).days + 1, 1),
        "preferred_start": von,
        "urgency": "planned",
        "external_id": p["id"],
    }
    return owner_name, owner_kind, body, [note] if note else []
