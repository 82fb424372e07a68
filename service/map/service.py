"""Map logic: the OGC API Features collections, their query parameters, vector tiles and the page's config.

Nothing here commits; every function only reads.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.auth.service import Principal
from service.kit.limits import has_control_character
from service.kit.problems import InvalidField, Problem, not_found
from service.kit.time import now, today, tz
from service.map import repository
from service.map.repository import SiteFilter, Viewer
from service.requests.models import Impact, Status, WorkKind
from service.requests.service import parse_bbox
from service.settings import Settings

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_ZOOM = 22

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    kind: str  # sites | routes | rule | pair
    table: str | None = None


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("sites", "Baustellen / Construction sites",
               "Site requests with their window, the proposed or approved slot, status and traffic impact. "
               "`datetime` filters on the slot where one is proposed, locked or approved, else on the window.",
               "sites"),
    Collection("routes", "Umleitungen und SEV / Diversions and rail-replacement routes",
               "Diversion routes and rail-replacement bus routes of the sites (`route_kind`).", "routes"),
    Collection("conflicts", "Konflikte / Conflicts",
               "Pairs of sites that must not run at the same time, drawn as a line joining both sites.",
               "pair", "conflicts"),
    Collection("opportunities", "Dig-once-Gelegenheiten / Dig-once opportunities",
               "Pairs of sites that could share one trench.", "pair", "opportunities"),
    Collection("zones", "Zonen / Zones", "Zones with a capacity of concurrent sites.", "rule", "zones"),
    Collection("corridors", "Korridore / Corridors", "Arterials, tram, rail and bus lines with a rule.",
               "rule", "corridors"),
    Collection("moratoriums", "Aufbruchsperren / Moratoriums",
               "Areas and periods in which excavating works are refused (emergencies exempt).", "rule",
               "moratoriums"),
    Collection("blackouts", "Sperrzeiten / Blackouts",
               "Areas and periods in which new sites are not allowed, or only up to an impact.", "rule",
               "blackouts"),
)}

TILE_LAYERS = ("sites", "conflicts", "opportunities")


def viewer_of(principal: Principal | None) -> Viewer:
    if principal is None:
        return Viewer()
    return Viewer(org_id=principal.org_id, all_=principal.is_coordinator)


def collection(collection_id: str) -> Collection:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise not_found("Collection", collection_id)
    return found


# --- query parameters ------------------------------------------------------------------------------


def _instant(value: str, settings: Settings, field: str) -> date | None:
    value = value.strip()
    if value in ("", ".."):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidField(field, f"{value!r} is not an RFC 3339 date or date-time") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz(settings))
    return parsed.date()


def parse_datetime(value: str | None, settings: Settings, field: str = "datetime") -> tuple[date | None, date | None]:
    """OGC ``datetime``: an instant, ``a/b``, ``../b``, ``a/..``. Dates are days in Europe/Berlin."""
    if value is None or value.strip() == "":
        return None, None
    if "/" in value:
        lo_s, _, hi_s = value.partition("/")
        lo, hi = _instant(lo_s, settings, field), _instant(hi_s, settings, field)
        if lo and hi and hi < lo:
            raise InvalidField(field, "the interval ends before it starts")
        return lo, hi
    day = _instant(value, settings, field)
    if day is None:
        raise InvalidField(field, "'..' is only allowed as one end of an interval")
    return day, day


def _csv(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return tuple(out)


def _checked(values: tuple[str, ...], allowed: set[str], field: str) -> tuple[str, ...]:
    for v in values:
        if v not in allowed:
            raise InvalidField(field, f"{v!r} is not one of {', '.join(sorted(allowed))}")
    return values


def site_filter(
    settings: Settings, *, bbox: str | None, datetime_: str | None, status: list[str] | None = None,
    kind: list[str] | None = None, impact: list[str] | None = None, owner: list[str] | None = None,
) -> SiteFilter:
    start, end = parse_datetime(datetime_, settings)
    return SiteFilter(
        bbox=parse_bbox(bbox), start=start, end=end,
        statuses=_checked(_csv(status), {s.value for s in Status}, "status"),
        kinds=_checked(_csv(kind), {k.value for k in WorkKind}, "kind"),
        impacts=_checked(_csv(impact), {i.value for i in Impact}, "impact"),
        owners=_names(_csv(owner), "owner"),
    )


def _names(values: tuple[str, ...], field: str) -> tuple[str, ...]:
    for v in values:
        if has_control_character(v):  # PostgreSQL refuses U+0000 in a parameter; no name holds one
            raise InvalidField(field, "contains a control character (such as U+0000); remove it")
    return values


# An offset past every collection's size (PostgreSQL's OFFSET is a bigint; a larger number is a client's error).
MAX_OFFSET = 2**31 - 1


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise InvalidField("limit", "must be at least 1")
    return min(limit, MAX_LIMIT)  # OGC API Features: a larger limit is reduced, not refused


# --- OGC documents ---------------------------------------------------------------------------------


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "Baustellenmanagement Ruhr – OGC API Features",
        "description": "Baustellen, Konflikte, Zonen, Korridore, Aufbruchsperren und Sperrzeiten im Ruhrgebiet. "
                       "Public information; send an API key to see your own drafts.",
        "links": [
            {"rel": "self", "type": "application/json", "title": "this document", "href": f"{base}/ogc/"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition", "href": f"{base}/openapi.json"},
            {"rel": "service-doc", "type": "text/html", "title": "the API documentation", "href": f"{base}/docs"},
            {"rel": "conformance", "type": "application/json", "title": "conformance classes",
             "href": f"{base}/ogc/conformance"},
            {"rel": "data", "type": "application/json", "title": "collections", "href": f"{base}/ogc/collections"},
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def collection_doc(session: Session, c: Collection, base: str, viewer: Viewer) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature", "crs": [CRS84],
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/ogc/collections/{c.id}"},
            {"rel": "items", "type": "application/geo+json", "href": f"{base}/ogc/collections/{c.id}/items"},
        ],
    }
    if c.kind == "sites":
        bbox, interval = repository.site_extent(session, viewer)
        doc["extent"] = {"spatial": {"bbox": [bbox or [5.86, 47.27, 15.05, 55.06]], "crs": CRS84},
                         "temporal": {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}}
    return doc


def collections_doc(session: Session, base: str, viewer: Viewer) -> dict[str, Any]:
    return {
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/ogc/collections"}],
        "collections": [collection_doc(session, c, base, viewer) for c in COLLECTIONS.values()],
    }


def _table(session: Session, c: Collection) -> repository.TableInfo | None:
    return repository.table_info(session, c.table) if c.table else None


def items(
    session: Session, settings: Settings, c: Collection, viewer: Viewer, f: SiteFilter, *, limit: int, offset: int,
    site: uuid.UUID | None = None, conflict_kinds: tuple[str, ...] = (), fid: str | None = None,
) -> tuple[int, list[str]]:
    if offset < 0:
        raise InvalidField("offset", "must not be negative")
    if offset > MAX_OFFSET:
        raise InvalidField("offset", f"must be at most {MAX_OFFSET}")
    if c.kind == "sites":
        if fid is not None:
            f = SiteFilter(ids=(_uuid(fid, c),))
        return repository.site_features(session, viewer, f, limit=limit, offset=offset)
    if c.kind == "routes":
        if fid is not None:
            site_id, _, route_kind = fid.partition(":")
            f = SiteFilter(ids=(_uuid(site_id, c),))
            matched, rows = repository.route_features(session, viewer, f, limit=2, offset=0)
            rows = [r for r in rows if json.loads(r)["id"] == fid]
            return len(rows), rows
        return repository.route_features(session, viewer, f, limit=limit, offset=offset)
    info = _table(session, c)
    if info is None:
        return 0, []
    if c.kind == "pair":
        return repository.pair_features(session, info, viewer, bbox=f.bbox, start=f.start, end=f.end, site=site,
                                        kinds=conflict_kinds, limit=limit, offset=offset, fid=fid)
    return repository.rule_features(session, info, bbox=f.bbox, start=f.start, end=f.end, limit=limit,
                                    offset=offset, fid=fid)


def _uuid(value: str, c: Collection) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise not_found(f"Feature in {c.id}", value) from exc


def feature_collection_bytes(
    features: list[str], *, matched: int, links: list[dict[str, str]], settings: Settings
) -> bytes:
    head = json.dumps({"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(features),
                       "timeStamp": now(settings).isoformat(timespec="seconds"), "links": links})
    return (head[:-1] + ', "features": [' + ",".join(features) + "]}").encode()


def item(session: Session, settings: Settings, c: Collection, viewer: Viewer, fid: str) -> str:
    if has_control_character(fid):  # no id holds one (and PostgreSQL refuses U+0000 in a parameter)
        raise not_found(f"Feature in {c.id}", fid)
    _, rows = items(session, settings, c, viewer, SiteFilter(), limit=1, offset=0, fid=fid)
    if not rows:
        raise not_found(f"Feature in {c.id}", fid)
    return rows[0]


# --- tiles -----------------------------------------------------------------------------------------


def tile(session: Session, settings: Settings, layer: str, viewer: Viewer, f: SiteFilter, z: int, x: int,
         y: int) -> bytes:
    if layer not in TILE_LAYERS:
        raise not_found("Tile layer", layer)
    if not (0 <= z <= MAX_ZOOM) or not (0 <= x < 2**z) or not (0 <= y < 2**z):
        raise Problem(404, "Not found", f"There is no tile {z}/{x}/{y}.", type_="not-found")
    if layer == "sites":
        return repository.site_tile(session, viewer, f, z, x, y)
    info = _table(session, COLLECTIONS[layer])
    if info is None:
        return b""
    return repository.pair_tile(session, info, viewer, layer, f.start, f.end, z, x, y)


# --- the page --------------------------------------------------------------------------------------


def page_config(session: Session, settings: Settings, viewer: Viewer) -> dict[str, Any]:
    bbox, interval = repository.site_extent(session, viewer)
    return {
        "style_url": settings.map_style_url,
        "today": today(settings).isoformat(),
        "bbox": bbox or [6.6, 51.35, 7.6, 51.6],
        "interval": interval,
        "owners": repository.owners(session, viewer),
        "kinds": [k.value for k in WorkKind],
        "impacts": [i.value for i in Impact],
        "statuses": [s.value for s in Status],
        "collections": list(COLLECTIONS),
        "available": {c.id: (c.table is None or _table(session, c) is not None) for c in COLLECTIONS.values()},
    }


def base_map(settings: Settings) -> bytes:
    """Municipality outlines of the example region for the offline base map (empty if not bundled)."""
    path: Path = settings.examples_dir / "ruhr" / "municipalities.geojson"
    if path.is_file():
        return path.read_bytes()
    return b'{"type": "FeatureCollection", "features": []}'


def timeline(session: Session, collection_id: str, rule_id: str, viewer: Viewer) -> dict[str, Any]:
    """The sites of a zone, corridor, moratorium or blackout for the page's Gantt chart."""
    c = collection(collection_id)
    # ids never hold control characters (and PostgreSQL refuses U+0000 in a parameter): such an id is unknown
    known = c.kind == "rule" and not has_control_character(rule_id)
    name = repository.rule_name(session, c.id, rule_id) if known else None
    if name is None:
        raise not_found(f"Feature in {collection_id}", rule_id)
    sites = repository.sites_in_rule(session, viewer, c.id, rule_id)
    return {"collection": c.id, "id": rule_id, "name": name, "sites": sites}


def linked(session: Session, request_id: uuid.UUID, viewer: Viewer) -> dict[str, Any]:
    """The sites linked to a site by a precedence (``after``, either way), as far as the viewer sees them: a step on
    the site may have placed them again (a successor's provisional slot moved behind an approved one)."""
    ids = repository.linked_sites(session, viewer, request_id)
    if ids is None:
        raise not_found("Site", request_id)
    return {"id": request_id, "linked": ids}
