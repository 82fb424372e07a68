"""GTFS-Realtime service alerts for the published sites that affect transit, built with the official bindings.

A site affects transit when a transit corridor with registered GTFS routes or stops lies within the
corridor's buffer of the site, and the site touches the road (lane reduction, one-way, full closure) or is
tram / rail work. Each alert has cause ``CONSTRUCTION`` and an effect per corridor:

- ``NO_SERVICE``: a full closure on a tram or rail corridor;
- ``DETOUR``: the site has a diversion or replacement route, or closes the road for a bus corridor;
- ``REDUCED_SERVICE``: a lane reduction or one-way arrangement on the corridor.

Corridors of one site with the same effect share one alert (entity id = request id, or
``<request id>:<effect>`` when a site has several). Informed entities are the corridors' ``route_id``s and
the ``stop_id``s the site affects (``common.affected_stops``: stops near the site, and for ``NO_SERVICE`` the
nearest stop on each side along the line). Withdrawn sites are absent (FULL_DATASET). Header and description
are German and English.
GTFS-RT's header cannot carry a licence: the HTTP ``Link: <…>; rel="license"`` header does.
"""

from __future__ import annotations

from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt

from service.feeds.common import (
    IMPACT_TEXT,
    RAIL_KINDS,
    ROAD_IMPACTS,
    FeedMeta,
    FeedSite,
    affected_stops,
    end_instant,
    local_date,
    start_instant,
)

MEDIA_TYPE = "application/x-protobuf"

EFFECT_TEXT = {
    rt.Alert.NO_SERVICE: ("Kein Betrieb", "No service"),
    rt.Alert.DETOUR: ("Umleitung", "Detour"),
    rt.Alert.REDUCED_SERVICE: ("Eingeschränkter Betrieb", "Reduced service"),
}


def affects_transit(site: FeedSite) -> bool:
    return bool(site.corridors) and (site.impact in ROAD_IMPACTS or site.kind in RAIL_KINDS)


def effect_for(site: FeedSite, corridor_kind: str) -> int:
    if site.impact == "full_closure" and corridor_kind in ("tram", "rail"):
        return rt.Alert.NO_SERVICE
    if site.has_diversion or site.has_replacement or site.impact == "full_closure":
        return rt.Alert.DETOUR
    return rt.Alert.REDUCED_SERVICE


def _translated(target: rt.TranslatedString, de: str, en: str) -> None:
    target.translation.add(text=de, language="de")
    target.translation.add(text=en, language="en")


def _add_alert(feed: rt.FeedMessage, entity_id: str, site: FeedSite, effect: int, meta: FeedMeta,
               routes: list[str], stops: list[str], lines: list[str]) -> None:
    entity = feed.entity.add(id=entity_id)
    alert = entity.alert
    alert.active_period.add(start=int(start_instant(site.start, meta.timezone).timestamp()),
                            end=int(end_instant(site.end, meta.timezone).timestamp()))
    for route in routes:
        alert.informed_entity.add(route_id=route)
    for stop in stops:
        alert.informed_entity.add(stop_id=stop)
    alert.cause = rt.Alert.CONSTRUCTION
    alert.effect = effect
    effect_de, effect_en = EFFECT_TEXT[effect]
    impact_de, impact_en = IMPACT_TEXT.get(site.impact, (site.impact, site.impact))
    _translated(alert.header_text, f"{effect_de} wegen Baustelle: {site.title}",
                f"{effect_en} due to construction: {site.title}")
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
        if not affects_transit(site):
            continue
        groups: dict[int, tuple[list[str], list[str], list[str]]] = {}
        for corridor in site.corridors:
            effect = effect_for(site, corridor.kind)
            near = affected_stops(site.geometry, corridor, closed=effect == rt.Alert.NO_SERVICE)
            if not corridor.routes and not near:
                continue  # a corridor known only by its stops, none of them affected
            routes, stops, lines = groups.setdefault(effect, ([], [], []))
            routes += [r for r in corridor.routes if r not in routes]
            stops += [s for s in near if s not in stops]
            lines.append(corridor.name)
        for effect, (routes, stops, lines) in sorted(groups.items()):
            entity_id = str(site.id) if len(groups) == 1 else f"{site.id}:{rt.Alert.Effect.Name(effect).lower()}"
            _add_alert(feed, entity_id, site, effect, meta, routes, stops, lines)
    return feed


def to_bytes(feed: rt.FeedMessage) -> bytes:
    return feed.SerializeToString(deterministic=True)


def to_json(feed: rt.FeedMessage) -> bytes:
    return json_format.MessageToJson(feed, preserving_proto_field_name=True, indent=1, sort_keys=True).encode()
