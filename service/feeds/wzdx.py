"""WZDx 4.2 WorkZoneFeed (GeoJSON) for the published sites that affect the road.

- One ``work-zone`` road event per site, id = the request id. Road events that are withdrawn, rejected or over
  are simply absent: WZDx feeds list current and planned events only (``event_status`` is deprecated).
- Geometry: WZDx allows LineString or MultiPoint. LineStrings pass through; MultiLineStrings are merged into one
  line where they connect, else given as the MultiPoint of their end points; a Polygon becomes its exterior
  ring as a LineString (the boundary of the site area; a MultiPolygon the ring of its largest part); Points
  and MultiPoints become a MultiPoint.
- ``direction`` is ``unknown``: requests do not say which carriageway is affected.
- ``vehicle_impact`` is the impact on the vehicle lanes (``common.vehicle_impact``): a closed cycle lane leaves them
  open (``all-lanes-open``, as WZDx's own example of a closed shoulder does), a closed bus lane closes some; works
  that close the footway alone are no work zone on the road and are left out, as impact ``footway`` is. ``lanes``
  are omitted: a WZDx lane needs its position among all lanes of the road, which the requests do not give.
- ``start_date``: as in DATEX II and GTFS-RT (``common.site_start``), local midnight of the first day,
  ``is_start_date_verified`` false; once the works are reported set up (status ``active``, e.g. an emergency), the
  time they were (``FeedSite.activated_at``) and true. An active site whose set-up time is not recorded (or lies
  outside its period) keeps midnight, not verified. ``end_date``: local midnight after the last day, for night work
  07:00 the morning after, when its last night ends (``common.site_end``, as in DATEX II and GTFS-RT). WZDx 4.2 has
  no field for the hours of day or night work (DATEX II gives them as a ``validPeriod``).
- ``feed_info.license`` may only be CC0 in WZDx 4.2; for any other licence it is left out and the licence is
  stated in the HTTP ``Link: <…>; rel="license"`` header and in docs/feeds.md.
Pure: takes :class:`FeedSite` lists, returns a dict.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from service.feeds.common import (
    BUS_LANE,
    CC0_URL,
    CYCLE_LANE,
    FeedMeta,
    FeedSite,
    iso_z,
    road_names,
    site_end,
    site_start,
)

MEDIA_TYPE = "application/geo+json"

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


def _round(coords: Any) -> list[list[float]]:
    return [[round(c[0], 7), round(c[1], 7)] for c in coords]


def wzdx_geometry(geom: BaseGeometry) -> dict[str, Any]:
    """The site geometry as a WZDx LineString or MultiPoint (see module docstring)."""
    if isinstance(geom, MultiLineString):
        merged = linemerge(geom)
        if isinstance(merged, LineString):
            geom = merged
        else:
            ends = [pt for line in geom.geoms for pt in (line.coords[0], line.coords[-1])]
            return {"type": "MultiPoint", "coordinates": _round(ends)}
    if isinstance(geom, LineString):
        return {"type": "LineString", "coordinates": _round(geom.coords)}
    if isinstance(geom, MultiPolygon):
        geom = max(geom.geoms, key=lambda p: p.area)
    if isinstance(geom, Polygon):
        return {"type": "LineString", "coordinates": _round(geom.exterior.coords)}
    if isinstance(geom, Point):
        return {"type": "MultiPoint", "coordinates": _round([geom.coords[0]])}
    if isinstance(geom, MultiPoint):
        return {"type": "MultiPoint", "coordinates": _round([p.coords[0] for p in geom.geoms])}
    point = geom.representative_point()
    return {"type": "MultiPoint", "coordinates": _round([point.coords[0]])}


def feature(site: FeedSite, meta: FeedMeta) -> dict[str, Any]:
    data_source_id = str(site.owner_id)
    core: dict[str, Any] = {
        "data_source_id": data_source_id,
        "event_type": "work-zone",
        "road_names": road_names(site.title, site.description),
        "direction": "unknown",
        "name": site.title,
        "creation_date": iso_z(site.first_published),
        "update_date": iso_z(site.last_changed),
    }
    if site.description:
        core["description"] = site.description
    start, verified = site_start(site, meta.timezone)
    props: dict[str, Any] = {
        "core_details": core,
        "start_date": iso_z(start),
        "end_date": iso_z(site_end(site, meta.timezone)),
        "is_start_date_verified": verified,
        "is_end_date_verified": False,
        "is_start_position_verified": False,
        "is_end_position_verified": False,
        "location_method": "other",
        "vehicle_impact": VEHICLE_IMPACT.get(site.vehicle_impact, "unknown"),
        "work_zone_type": "static",
    }
    if site.kind in TYPES_OF_WORK:
        props["types_of_work"] = [{"type_name": TYPES_OF_WORK[site.kind]}]
    return {"id": str(site.id), "type": "Feature", "properties": props, "geometry": wzdx_geometry(site.geometry)}


def build(sites: list[FeedSite], meta: FeedMeta) -> dict[str, Any]:
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
    return {"feed_info": feed_info, "type": "FeatureCollection", "features": [feature(s, meta) for s in road]}
