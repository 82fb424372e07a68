"""WZDx 4.2 WorkZoneFeed (GeoJSON) for the published sites that affect the road.

- A site gives one ``work-zone`` road event, or several linked ones (``core_details.related_road_events``), ids
  stable from one feed to the next (they depend on the site and its geometry, dates and diversions only):

  - ``continuous`` works: one occurrence, id = the request id;
  - day and night work (``shift``): one occurrence per shift (``common.shift_periods``, the function behind the
    GTFS-RT ``active_period`` list; day 07:00–20:00, night 20:00–07:00 the morning after), id
    ``<request id>:<YYYY-MM-DD>`` of the day the shift begins on, as WZDx's recurring works (scenario 5): the
    occurrences after the first published one link ``first-occurrence`` to it, each links ``next-occurrence`` to the
    one after it. Published are :data:`SHIFT_HORIZON` of them: the shift running at the feed's reference time
    (``FeedMeta.reference``: the last 07:00 or 20:00; else ``updated``) and the next ones (two weeks of daily
    shifts; works further ahead their first two weeks). A shift over is left out, so the first published occurrence
    moves on and the later ones appear as the horizon rolls on;
  - a geometry that is not one path (see below) gives one event per part, ``<occurrence id>:part-<n>`` (n from 1),
    linked ``first-in-sequence`` / ``next-in-sequence`` as WZDx's detour segments (scenario 4); each part links
    ``first-occurrence`` / ``next-occurrence`` to the same part of the other occurrences.
- Diversions: each diversion route (the request's ``diversions``, one stored line each) of works that close
  vehicle lanes (impact on vehicles full closure, lane reduction, one-way) is a ``detour`` road event
  ``<occurrence id>:detour-<n>`` with the dates of its occurrence, linked ``related-work-zone`` to every event of
  the occurrence, which links ``related-detour`` back (scenario 4). The diversion of a closure of the cycle lane or
  the bus lane alone is the cyclists' or the buses', and replacement bus routes are no detour for road traffic: not
  published. A detour's ``road_names`` are the streets named after "Umleitung" in the description ("Umleitung über
  Alfredstraße und Martinstraße"), else "Umleitung <road>" of the work zone's.
- Geometry: WZDx allows LineString or MultiPoint, and a MultiPoint means the start and end of the event. LineStrings
  pass through; a MultiLineString is merged into one line where its parts connect, else each connected line is an
  event of its own (in the order of the parts given); a Polygon becomes the MultiPoint of the two points of its
  boundary farthest apart (start and end of the area along its longest extent, west first: a map-matcher routes
  between them along the road, where a straight line or the ring would cut across or around it), a MultiPolygon
  one event per polygon; a Point the MultiPoint of itself as start and end, a MultiPoint one such event per point.
- ``direction`` is ``unknown``: requests do not say which carriageway is affected.
- ``vehicle_impact`` is the impact on the vehicle lanes (``common.vehicle_impact``): a closed cycle lane leaves them
  open (``all-lanes-open``, as WZDx's own example of a closed shoulder does), a closed bus lane closes some; works
  that close the footway alone are no work zone on the road and are left out, as impact ``footway`` is. ``lanes``
  are omitted: a WZDx lane needs its position among all lanes of the road, which the requests do not give.
- ``start_date`` of ``continuous`` works: as in DATEX II and GTFS-RT (``common.site_start``), local midnight of the
  first day, ``is_start_date_verified`` false; once the works are reported set up (status ``active``, e.g. an
  emergency), the time they were (``FeedSite.activated_at``) and true. An active site whose set-up time is not
  recorded (or lies outside its period) keeps midnight, not verified. ``end_date``: local midnight after the last
  day (``common.site_end``). A shift's occurrence runs from the shift's start to its end; works reported set up are
  in place from the set-up time (verified) to the end of the shift running then or of the next one, their first
  occurrence (``common.setup_period``: an emergency with night work reported in the morning is in the feed now,
  not only from the evening).
- ``feed_info.license`` may only be CC0 in WZDx 4.2; for any other licence it is left out and the licence is
  stated in the HTTP ``Link: <…>; rel="license"`` header and in docs/feeds.md.
Pure: takes :class:`FeedSite` lists (and the diversion routes by request id), returns a dict.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from shapely import get_coordinates
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from service.feeds.common import (
    BUS_LANE,
    CC0_URL,
    CYCLE_LANE,
    ROAD_IMPACTS,
    SHIFT_HOURS,
    FeedMeta,
    FeedSite,
    iso_z,
    road_names,
    shift_periods,
    site_end,
    site_start,
)
from service.geo.crs import to_metric
from service.geo.precision import GEOJSON_DECIMALS, grid_coords, on_grid

MEDIA_TYPE = "application/geo+json"
# Occurrences of day and night work published: the shift running at the reference time and the next ones.
SHIFT_HORIZON = 14

# by the impact on the vehicles on the road (common.vehicle_impact)
VEHICLE_IMPACT = {
    "full_closure": "all-lanes-closed",
    "lane_reduction": "some-lanes-closed",
    "one_way": "some-lanes-closed",
    BUS_LANE: "some-lanes-closed",
    CYCLE_LANE: "all-lanes-open",
    "footway": "all-lanes-open",
    "none": "all-lanes-open",
}
TYPES_OF_WORK = {
    "road_maintenance": "maintenance",
    "road_construction": "roadway-creation",
    "gas": "below-road-work",
    "water": "below-road-work",
    "sewer": "below-road-work",
    "district_heating": "below-road-work",
    "power": "below-road-work",
    "telecom": "below-road-work",
    "tram_track": "surface-work",
    "bridge": "overhead-work",
    "building": "roadside-work",
}
# what follows "Umleitung" in a sentence of the description: the streets of the diversion
_DIVERSION_RE = re.compile(r"\bUmleitung\w*([^.!?]*)", re.IGNORECASE)


def _round(coords: Any) -> list[list[float]]:
    return grid_coords(coords, GEOJSON_DECIMALS)


def _farthest_pair(polygon: Polygon) -> list[tuple[float, float]]:
    """The two points of the polygon's boundary farthest apart (vertices of its convex hull, measured in EPSG:25832),
    west first."""
    points = np.unique(get_coordinates(polygon.convex_hull), axis=0)
    if len(points) < 2:
        return [(float(points[0][0]), float(points[0][1]))] * 2
    metric = get_coordinates(to_metric(MultiPoint(points)))
    best, pair = -1.0, (0, 0)
    for lo in range(0, len(metric), 512):  # in blocks: a hull of thousands of vertices stays small in memory
        block = ((metric[lo:lo + 512, None, :] - metric[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(block.argmax()), block.shape)
        if block[i, j] > best:
            best, pair = float(block[i, j]), (lo + int(i), int(j))
    return sorted((float(x), float(y)) for x, y in (points[pair[0]], points[pair[1]]))


def wzdx_geometries(geom: BaseGeometry) -> list[dict[str, Any]]:
    """The site geometry as the WZDx geometries of its road events, one per part that is a path of its own (see
    the module docstring): LineStrings, or MultiPoints of a start and an end; on the grid of the 7 decimals written
    and valid there (``service.geo.precision.on_grid``: no line collapses to one position)."""
    return _geometries(on_grid(geom, GEOJSON_DECIMALS))


def _geometries(geom: BaseGeometry) -> list[dict[str, Any]]:
    if isinstance(geom, LineString):
        return [{"type": "LineString", "coordinates": _round(geom.coords)}]
    if isinstance(geom, MultiLineString):
        merged = linemerge(geom)
        if isinstance(merged, LineString):
            return _geometries(merged)
        given = list(geom.geoms)
        lines = sorted(merged.geoms, key=lambda line: next(
            (n for n, part in enumerate(given) if line.covers(part)), len(given)))
        return [g for line in lines for g in _geometries(line)]
    if isinstance(geom, Polygon):
        return [{"type": "MultiPoint", "coordinates": _round(_farthest_pair(geom))}]
    if isinstance(geom, MultiPolygon | MultiPoint):
        return [g for part in geom.geoms for g in _geometries(part)]
    point = geom if isinstance(geom, Point) else geom.representative_point()
    return [{"type": "MultiPoint", "coordinates": _round([point.coords[0], point.coords[0]])}]


@dataclass(frozen=True)
class Occurrence:
    """One time the works occupy the road: ``key`` prefixes the ids of its road events."""

    key: str
    start: datetime
    end: datetime
    start_verified: bool


def _shift_day(shift: str, end: datetime, tz: str) -> date:
    """The day a shift ending at ``end`` begins on (a night ends the morning after)."""
    begin, stop = SHIFT_HOURS[shift]
    day = end.astimezone(ZoneInfo(tz)).date()
    return day - timedelta(days=1) if stop <= begin else day


def occurrences(site: FeedSite, meta: FeedMeta) -> list[Occurrence]:
    """The site's occurrences in the feed: the whole period of ``continuous`` works, else the shifts of the horizon
    (:data:`SHIFT_HORIZON`, ``common.shift_periods`` from the feed's reference time). Empty when every shift is over."""
    tz = meta.timezone
    start, verified = site_start(site, tz)
    periods = shift_periods(site, tz, meta.reference or meta.updated, SHIFT_HORIZON)
    if periods is None:
        return [Occurrence(str(site.id), start, site_end(site, tz), verified)]
    return [Occurrence(f"{site.id}:{_shift_day(site.shift, last, tz).isoformat()}", first, last,
                       verified and first == start)
            for first, last in periods]


def detour_road_names(site: FeedSite, zone_names: list[str]) -> list[str]:
    """The streets of the diversion: named after "Umleitung" in the description (not the closed road's own), else
    "Umleitung <road>" of each of the work zone's roads."""
    text = " ".join(match.group(1) for match in _DIVERSION_RE.finditer(site.description or ""))
    names = [name for name in road_names(text, fallback=False) if name not in zone_names]
    return names or [f"Umleitung {name}" for name in zone_names]


def _related(*links: tuple[str, str]) -> list[dict[str, str]]:
    return [{"type": kind, "id": ident} for kind, ident in links]


def _occurrence_links(ids: list[list[str]], n: int, i: int) -> list[tuple[str, str]]:
    """The links of event ``i`` of occurrence ``n`` to the same event of the first and of the next occurrence."""
    links = [("first-occurrence", ids[0][i])] if n > 0 else []
    return links + ([("next-occurrence", ids[n + 1][i])] if n + 1 < len(ids) else [])


def features(site: FeedSite, meta: FeedMeta, diversions: BaseGeometry | None = None) -> list[dict[str, Any]]:
    """The road events of one site: per occurrence its work zone (one event per part of its geometry) and a detour
    per diversion route, linked (see the module docstring). ``diversions``: the request's diversion routes."""
    zone_names = road_names(site.title, site.description)
    paths = wzdx_geometries(site.geometry)
    routes = [] if diversions is None or site.vehicle_impact not in ROAD_IMPACTS else [
        line for line in getattr(diversions, "geoms", [diversions]) if isinstance(line, LineString)]
    occurs = occurrences(site, meta)
    zone_ids = [[o.key if len(paths) == 1 else f"{o.key}:part-{i + 1}" for i in range(len(paths))] for o in occurs]
    detour_ids = [[f"{o.key}:detour-{j + 1}" for j in range(len(routes))] for o in occurs]
    detour_names = detour_road_names(site, zone_names) if routes else []
    out: list[dict[str, Any]] = []
    for n, occ in enumerate(occurs):
        dates = {"start_date": iso_z(occ.start), "end_date": iso_z(occ.end),
                 "is_start_date_verified": occ.start_verified, "is_end_date_verified": False}
        for i, path in enumerate(paths):
            links = [("first-in-sequence", zone_ids[n][0])] if i > 0 else []
            links += [("next-in-sequence", zone_ids[n][i + 1])] if i + 1 < len(paths) else []
            links += _occurrence_links(zone_ids, n, i) + [("related-detour", d) for d in detour_ids[n]]
            core = _core(site, "work-zone", zone_names, site.title, site.description, links)
            props: dict[str, Any] = {
                "core_details": core, **dates,
                "is_start_position_verified": False,
                "is_end_position_verified": False,
                "location_method": "other",
                "vehicle_impact": VEHICLE_IMPACT.get(site.vehicle_impact, "unknown"),
                "work_zone_type": "static",
            }
            if site.kind in TYPES_OF_WORK:
                props["types_of_work"] = [{"type_name": TYPES_OF_WORK[site.kind]}]
            out.append({"id": zone_ids[n][i], "type": "Feature", "properties": props, "geometry": path})
        for j, route in enumerate(routes):
            links = [("related-work-zone", z) for z in zone_ids[n]] + _occurrence_links(detour_ids, n, j)
            name = f"Umleitung{f' {j + 1}' if len(routes) > 1 else ''} – {site.title}"
            core = _core(site, "detour", detour_names, name, "", links)
            out.append({"id": detour_ids[n][j], "type": "Feature", "properties": {"core_details": core, **dates},
                        "geometry": wzdx_geometries(route)[0]})
    return out


def _core(site: FeedSite, event_type: str, names: list[str], name: str, description: str,
          links: list[tuple[str, str]]) -> dict[str, Any]:
    core: dict[str, Any] = {"data_source_id": str(site.owner_id), "event_type": event_type}
    if links:
        core["related_road_events"] = _related(*links)
    core |= {"road_names": names, "direction": "unknown", "name": name,
             "creation_date": iso_z(site.first_published), "update_date": iso_z(site.last_changed)}
    if description:
        core["description"] = description
    return core


def build(sites: list[FeedSite], meta: FeedMeta,
          diversions: Mapping[uuid.UUID, BaseGeometry] | None = None) -> dict[str, Any]:
    """The feed of the road-affecting ``sites``; ``diversions``: the diversion routes (a MultiLineString, one line
    per route) by request id, for the ``detour`` road events."""
    road = [s for s in sites if s.road_affecting]
    sources: dict[str, dict[str, Any]] = {}
    for site in road:
        sources.setdefault(str(site.owner_id), {"data_source_id": str(site.owner_id),
                                                "organization_name": site.owner_name})
    feed_info: dict[str, Any] = {
        "publisher": meta.publisher,
        "version": "4.2",
        "update_date": iso_z(meta.updated),
        "update_frequency": 60,
        "data_sources": list(sources.values()) or [{"data_source_id": meta.national_identifier,
                                                    "organization_name": meta.publisher}],
    }
    if meta.license_url == CC0_URL:
        feed_info["license"] = CC0_URL
    diversions = diversions or {}
    return {"feed_info": feed_info, "type": "FeatureCollection",
            "features": [event for s in road for event in features(s, meta, diversions.get(s.id))]}
