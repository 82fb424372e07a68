"""GTFS-Realtime service alerts for the published sites that affect transit, built with the official bindings.

A site can affect the lines of a transit corridor with registered GTFS routes or stops that lies within the
corridor's buffer of the site. Whether it does, and how, follows its impact on that corridor's mode
(:func:`effect_for`):

- trams (``tram`` corridors) and trains (``rail`` corridors) are affected when the request names their mode
  (``transit`` = buses and trams, ``rail``) or works on their track (``tram_track``, ``rail``); a request that
  names no modes at all affects the trams in its street, as before. So a sewer site that closes the road for
  cars and cycles (``modes`` car, cycle) leaves the trams running: no alert for the tram line.
- buses (``bus`` corridors, and any other corridor with routes) run on the road: they are affected by works in
  the road (``common.in_road``) that reach the carriageway, or that name ``transit``.

The effect of an affected corridor:

- ``NO_SERVICE``: a full closure of a tram or rail line (the mode is stopped; a replacement service is named in
  the text);
- ``DETOUR``: a full closure of a bus corridor's road, or a site with a diversion or replacement route;
- ``REDUCED_SERVICE``: a lane reduction or one-way arrangement (single-track operation, slow running);
- ``OTHER_EFFECT``: footway restrictions or no traffic restriction, e.g. a platform renewal: service runs as
  planned, passengers are told about the works at their stop.

Corridors of one site with the same effect share one alert (entity id = request id, or
``<request id>:<effect>`` when a site has several). Informed entities are ``{route_id, stop_id}`` pairs: each
route of the corridor at each stop the site affects (``common.affected_stops``: stops near the site, and for
``NO_SERVICE`` the nearest stop on each side along the line); a route alone when the corridor has no affected
stop (works between stops), a stop alone when the corridor has no routes. Withdrawn sites are absent
(FULL_DATASET). Header and description are German and English.
GTFS-RT's header cannot carry a licence: the HTTP ``Link: <…>; rel="license"`` header does.
"""

from __future__ import annotations

from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt

from service.feeds.common import (
    ROAD_IMPACTS,
    TRANSIT_MODES,
    Corridor,
    FeedMeta,
    FeedSite,
    affected_stops,
    end_instant,
    local_date,
    start_instant,
)

MEDIA_TYPE = "application/x-protobuf"

# (German, English) header of an alert: "<text>: <site title>"
EFFECT_TEXT = {
    rt.Alert.NO_SERVICE: ("Kein Betrieb wegen Baustelle", "No service due to construction"),
    rt.Alert.DETOUR: ("Umleitung wegen Baustelle", "Detour due to construction"),
    rt.Alert.REDUCED_SERVICE: ("Eingeschränkter Betrieb wegen Baustelle", "Reduced service due to construction"),
    rt.Alert.OTHER_EFFECT: ("Bauarbeiten", "Construction work"),
}
# the mode of a corridor's vehicles, as ``modes`` names it; corridors of other kinds carry buses
TRACK_CORRIDORS = {"tram": "transit", "rail": "rail"}
TRACK_OF_KIND = {"tram_track": "transit", "rail": "rail"}


def transit_modes(site: FeedSite) -> set[str]:
    """The transit modes (``transit`` = buses and trams, ``rail``) whose service the works touch: those the request
    names, the mode whose track is worked on, and, when the request names no modes at all, the buses and trams
    of the street it lies in."""
    modes = set(site.modes) & TRANSIT_MODES
    if site.kind in TRACK_OF_KIND:
        modes.add(TRACK_OF_KIND[site.kind])
    if not site.modes and site.in_road:
        modes.add("transit")
    return modes


def effect_for(site: FeedSite, corridor_kind: str) -> int | None:
    """The effect of a site on a corridor's service, or None when it leaves the service alone."""
    track = corridor_kind in TRACK_CORRIDORS
    if track:
        affected = TRACK_CORRIDORS[corridor_kind] in transit_modes(site)
    else:  # buses: works in the road reaching the carriageway, or works that name transit
        affected = site.in_road and (site.impact in ROAD_IMPACTS or "transit" in site.modes)
    if not affected:
        return None
    if site.impact == "full_closure":
        return rt.Alert.NO_SERVICE if track else rt.Alert.DETOUR
    if site.impact in ROAD_IMPACTS:
        return rt.Alert.DETOUR if site.has_diversion or site.has_replacement else rt.Alert.REDUCED_SERVICE
    return rt.Alert.OTHER_EFFECT  # footway or no restriction: service as planned


def informed(corridor: Corridor, stops: list[str]) -> list[tuple[str, str]]:
    """``(route_id, stop_id)`` selectors: each route at each affected stop; the routes alone when no stop is
    affected; the stops alone when the corridor has no routes."""
    if corridor.routes and stops:
        return [(route, stop) for route in corridor.routes for stop in stops]
    if corridor.routes:
        return [(route, "") for route in corridor.routes]
    return [("", stop) for stop in stops]


def _translated(target: rt.TranslatedString, de: str, en: str) -> None:
    target.translation.add(text=de, language="de")
    target.translation.add(text=en, language="en")


def _add_alert(feed: rt.FeedMessage, entity_id: str, site: FeedSite, effect: int, meta: FeedMeta,
               selectors: list[tuple[str, str]], lines: list[str]) -> None:
    entity = feed.entity.add(id=entity_id)
    alert = entity.alert
    alert.active_period.add(start=int(start_instant(site.start, meta.timezone).timestamp()),
                            end=int(end_instant(site.end, meta.timezone).timestamp()))
    for route, stop in selectors:
        selector = alert.informed_entity.add()
        if route:
            selector.route_id = route
        if stop:
            selector.stop_id = stop
    alert.cause = rt.Alert.CONSTRUCTION
    alert.effect = effect
    effect_de, effect_en = EFFECT_TEXT[effect]
    impact_de, impact_en = site.impact_text
    _translated(alert.header_text, f"{effect_de}: {site.title}", f"{effect_en}: {site.title}")
    period_de = f"vom {local_date(site.start)} bis {local_date(site.end)}"
    period_en = f"from {site.start.isoformat()} to {site.end.isoformat()}"
    de = [f"Baustelle {site.title} {period_de}. {impact_de}."]
    en = [f"Construction work {site.title} {period_en}. {impact_en}."]
    if site.has_diversion:
        de.append("Eine Umleitung ist eingerichtet.")
        en.append("A diversion is in place.")
    if site.has_replacement:
        de.append("Ein Ersatzverkehr ist eingerichtet.")
        en.append("A replacement service is in place.")
    if lines:
        de.append("Betroffen: " + ", ".join(lines) + ".")
        en.append("Affected: " + ", ".join(lines) + ".")
    if site.description:
        de.append(site.description)
    de.append(f"Herausgeber: {meta.publisher}.")
    en.append(f"Publisher: {meta.publisher}.")
    _translated(alert.description_text, " ".join(de), " ".join(en))


def build(sites: list[FeedSite], meta: FeedMeta) -> rt.FeedMessage:
    feed = rt.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = rt.FeedHeader.FULL_DATASET
    feed.header.timestamp = int(meta.updated.timestamp())
    for site in sites:
        groups: dict[int, tuple[list[tuple[str, str]], list[str]]] = {}
        for corridor in site.corridors:
            effect = effect_for(site, corridor.kind)
            if effect is None:
                continue
            near = affected_stops(site.geometry, corridor, closed=effect == rt.Alert.NO_SERVICE)
            if not corridor.routes and not near:
                continue  # a corridor known only by its stops, none of them affected
            selectors, lines = groups.setdefault(effect, ([], []))
            selectors += [sel for sel in informed(corridor, near) if sel not in selectors]
            lines.append(corridor.name)
        for effect, (selectors, lines) in sorted(groups.items()):
            entity_id = str(site.id) if len(groups) == 1 else f"{site.id}:{rt.Alert.Effect.Name(effect).lower()}"
            _add_alert(feed, entity_id, site, effect, meta, selectors, lines)
    return feed


def to_bytes(feed: rt.FeedMessage) -> bytes:
    return feed.SerializeToString(deterministic=True)


def to_json(feed: rt.FeedMessage) -> bytes:
    return json_format.MessageToJson(feed, preserving_proto_field_name=True, indent=1, sort_keys=True).encode()
