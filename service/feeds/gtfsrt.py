"""GTFS-Realtime service alerts for the published sites that affect transit, built with the official bindings.

A site can affect the lines of a transit corridor with registered GTFS routes or stops that lies within the
corridor's buffer of the site. Whether it does, and how, follows its impact on the mode of the corridor's
vehicles (:func:`transit_modes`, :func:`effect_for`). The mode is the corridor's kind (``tram``, ``rail``,
``bus``; other kinds such as ``arterial`` carry buses), or, for a route registered with a GTFS ``route_type``,
that type's (0 / 900s tram, 1 / 400s Stadtbahn and U-Bahn as trams, 2 / 100s rail, 3 / 11 / 200s / 700s / 800s
bus), so one corridor can carry a tram and a bus line that the same works affect differently.

- trams (``tram``) and trains (``rail``) are affected when the request names their mode (``transit`` names the
  trams and the buses) or works on their track (``tram_track``, ``rail``); a request that names no modes at all
  affects the trams in its street, as before. So a sewer site that closes the road for cars and cycles
  (``modes`` car, cycle) leaves the trams running: no alert for the tram line.
- buses run on the road: they are affected when the request names ``bus``, or names ``transit`` for works in
  the road (``common.in_road``; on track works ``transit`` is read as the trams, as it always was), or names
  none of ``tram``, ``bus``, ``transit`` for works in the road that reach the carriageway. A request that names
  ``tram`` without ``bus`` has said which transit it stops: the buses pass (Vollsperrung, Linienbus frei).
  Buses in the road see the impact on the vehicles on the road (``common.vehicle_impact``): works that close the
  footway or the cycle lane alone leave them alone, a closed bus lane is a lane closure for them.

The effect of an affected corridor:

- ``NO_SERVICE``: a full closure of a tram or rail line (the mode is stopped);
- ``DETOUR``: buses only, around a full closure of their road, or along the request's diversion (the road's)
  around a lane reduction or one-way arrangement; trams and trains are never diverted, and the replacement routes
  are buses replacing them, not a detour of the bus lines;
- ``REDUCED_SERVICE``: a lane reduction or one-way arrangement (single-track operation, slow running, a closed bus
  lane) otherwise;
- ``OTHER_EFFECT``: footway restrictions or no traffic restriction, e.g. a platform renewal: service runs as
  planned, passengers are told about the works at their stop.

Corridors of one site with the same effect share one alert, entity id ``<request id>:<effect>`` (:func:`entity_id`:
``no_service``, ``detour``, ``reduced_service``, ``other_effect``), whether or not the site has alerts of other
effects: an id depends on the site and the effect only, so it stays the same from one feed to the next while a
corridor is registered, changed or removed beside it (GTFS-RT Best Practices: persistent ``FeedEntity.id``).
Informed entities are ``{route_id, stop_id}`` pairs: each affected route of the corridor at each stop the site
affects (``common.affected_stops``: stops near the site, and for ``NO_SERVICE`` the nearest stop on each side along
the line); a route alone when the corridor has no
affected stop (works between stops), a stop alone when the corridor has no routes. Withdrawn sites are absent
(FULL_DATASET). ``active_period`` of ``continuous`` works starts when the works begin as in WZDx and DATEX II
(``common.site_start``: the time they were reported set up for an active site, else local midnight of the first day)
and ends at local midnight after the last day (``common.site_end``). Day and night work occupy the road only at their
hours (``common.SHIFT_HOURS``), and trip planners show an alert only during one of its periods, so such an alert has
one ``active_period`` per shift (day 07:00–20:00, night 20:00–07:00 the next morning, local time: a night across a
change of summer time lasts 10 or 12 hours): the next :data:`SHIFT_HORIZON` shifts still to come at the feed's
reference time (``FeedMeta.reference``: the service gives the last shift boundary, 07:00 or 20:00, so the alerts,
ETag and Last-Modified move on when a shift ends and not in between), the running one included (a night begun
yesterday evening is active until 07:00), none already over (:func:`active_periods`, ``common.shift_periods``).
A site whose last shift is over has no alert (one without a period would be shown as long as it is in the feed).
Cause ``CONSTRUCTION``; for emergency works (``urgency`` emergency) ``MAINTENANCE`` (a repair of the infrastructure,
as DATEX II's ``repairWork``), headed "Kein Betrieb wegen Notfallbaustelle" / "No service due to emergency works"
(:data:`EMERGENCY_EFFECT_TEXT`) and described as "Notfallbaustelle …" / "Emergency works …".
Header and description are German and English (in that order); the description names the hours of day and night
work (``common.shift_text``), as DATEX II's public comment does. The description speaks to the riders of the
alert's modes (:func:`service_texts`): trains and trams are stopped ("Kein Zugverkehr", "Kein Straßenbahnverkehr")
or restricted, never diverted, and told of the replacement buses where the request has replacement routes; buses are
diverted ("Die Buslinie wird umgeleitet") around a full closure or along the request's diversion, which is the
road's. A full closure is the line's ("Streckensperrung") in an alert for trams or trains, never the road's
"Vollsperrung"; the replacement service is never offered to bus riders.
GTFS-RT's header cannot carry a licence: the HTTP ``Link: <…>; rel="license"`` header does.
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt

from service.feeds.common import (
    BUS_LANE,
    ROAD_IMPACTS,
    TRACK_IMPACT_TEXT,
    TRANSIT,
    TRANSIT_MODES,
    Corridor,
    FeedMeta,
    FeedSite,
    affected_stops,
    local_date,
    sentence,
    shift_periods,
    shift_text,
    site_end,
    site_start,
)
from service.geo.rules import track_modes

MEDIA_TYPE = "application/x-protobuf"
# Day and night work: one ``active_period`` per shift for the next this many shifts (one a day: four weeks) still to
# come at the feed's reference time (the running one included), not every shift of works lasting months or years.
# Four weeks reach past the dates journey planners usually plan for and keep an alert at 28 periods (about 0.4 kB);
# the feed moves on at every shift boundary (07:00, 20:00), so the next shifts always lie at least 27 days ahead.
# Beyond them the alert lists nothing: one period for the rest would show night work as a disruption all day, and
# the alert's text names the whole period and the hours.
SHIFT_HORIZON = 28

# (German, English) header of an alert: "<text>: <site title>"
EFFECT_TEXT = {
    rt.Alert.NO_SERVICE: ("Kein Betrieb wegen Baustelle", "No service due to construction"),
    rt.Alert.DETOUR: ("Umleitung wegen Baustelle", "Detour due to construction"),
    rt.Alert.REDUCED_SERVICE: ("Eingeschränkter Betrieb wegen Baustelle", "Reduced service due to construction"),
    rt.Alert.OTHER_EFFECT: ("Bauarbeiten", "Construction work"),
}
# The same for emergency works (``urgency`` emergency: a burst main, a collapsed road, repaired at once), whose alert
# has the cause MAINTENANCE (repair of the infrastructure, as DATEX II's ``roadMaintenance`` / ``repairWork``), not
# CONSTRUCTION (planned building works).
EMERGENCY_EFFECT_TEXT = {
    rt.Alert.NO_SERVICE: ("Kein Betrieb wegen Notfallbaustelle", "No service due to emergency works"),
    rt.Alert.DETOUR: ("Umleitung wegen Notfallbaustelle", "Detour due to emergency works"),
    rt.Alert.REDUCED_SERVICE: ("Eingeschränkter Betrieb wegen Notfallbaustelle",
                               "Reduced service due to emergency works"),
    rt.Alert.OTHER_EFFECT: ("Notfallbaustelle", "Emergency works"),
}
# (German, English) of what the works are, heading an alert's description
WORKS_WORDS = {False: ("Baustelle", "Construction work"), True: ("Notfallbaustelle", "Emergency works")}
# the mode of a corridor's vehicles, as ``modes`` names it; corridors of other kinds (``arterial``) carry buses
CORRIDOR_MODES = {"tram": "tram", "rail": "rail", "bus": "bus"}
# modes on a track of their own: a full closure stops them (buses detour)
TRACK_MODES = frozenset({"tram", "rail"})
# the order in which an alert's description speaks to the riders of each mode
MODE_ORDER = ("rail", "tram", "bus")
# (German, English) of what an alert's effect means for the riders of one mode. Trains and trams are not diverted
# (never DETOUR); buses on DETOUR are (BUS_DIVERTED). OTHER_EFFECT has no sentence: service runs as planned, the
# impact says what is restricted (a platform, a footway).
MODE_TEXT = {
    (rt.Alert.NO_SERVICE, "rail"): ("Kein Zugverkehr im Baustellenbereich.", "No trains run through the works area."),
    (rt.Alert.NO_SERVICE, "tram"): ("Kein Straßenbahnverkehr im Baustellenbereich.",
                                    "No trams run through the works area."),
    (rt.Alert.NO_SERVICE, "bus"): ("Kein Busverkehr im Baustellenbereich.", "No buses run through the works area."),
    (rt.Alert.REDUCED_SERVICE, "rail"): ("Eingeschränkter Zugverkehr.", "Reduced train service."),
    (rt.Alert.REDUCED_SERVICE, "tram"): ("Eingeschränkter Straßenbahnverkehr.", "Reduced tram service."),
    (rt.Alert.REDUCED_SERVICE, "bus"): ("Eingeschränkter Busverkehr.", "Reduced bus service."),
}
# buses follow the road's diversion (one route, several routes)
BUS_DIVERTED = (("Die Buslinie wird umgeleitet.", "The bus route is diverted."),
                ("Die Buslinien werden umgeleitet.", "The bus routes are diverted."))
# the request's replacement routes: buses replacing the trains or trams, never a replacement for a bus line
REPLACEMENT_TEXT = ("Ersatzverkehr mit Bussen ist eingerichtet.", "Replacement buses are running.")


def route_type_mode(route_type: int) -> str | None:
    """The mode of a GTFS ``route_type`` (basic or extended), or None for one without a mode here (ferry, aerial
    lift): then the corridor's kind decides. Underground and Stadtbahn count as trams: in the Ruhr the tram
    operators run them, and works on their track are ``tram_track``."""
    if route_type in (0, 1, 5) or 400 <= route_type < 500 or 900 <= route_type < 1000:
        return "tram"
    if route_type == 2 or 100 <= route_type < 200:
        return "rail"
    if route_type in (3, 11) or 200 <= route_type < 300 or 700 <= route_type < 900:
        return "bus"
    return None


def corridor_mode(kind: str) -> str:
    return CORRIDOR_MODES.get(kind, "bus")


def route_groups(corridor: Corridor) -> list[tuple[str, list[str]]]:
    """The corridor's routes by mode, in the corridor's order: each route's mode from its GTFS ``route_type``
    where it was registered with one, else the corridor's. A corridor without routes (stops only) is one group."""
    default = corridor_mode(corridor.kind)
    if not corridor.routes:
        return [(default, [])]
    groups: dict[str, list[str]] = {}
    for route in corridor.routes:
        route_type = corridor.route_types.get(route)
        mode = (route_type_mode(route_type) if route_type is not None else None) or default
        groups.setdefault(mode, []).append(route)
    return list(groups.items())


def transit_modes(site: FeedSite) -> set[str]:
    """The transit modes (``tram``, ``bus``, ``rail``) whose service the works touch.

    Trams and trains: those the request names (``transit`` names the trams), the mode whose track is worked on,
    and, when the request names no modes at all, the trams of the street it lies in. Buses: when the request
    names ``bus``; when it names ``transit`` and the works are in the road (on track works ``transit`` has always
    meant the trams); and, when it names none of ``tram``, ``bus``, ``transit``, when the impact on the vehicles
    on the road (:func:`common.vehicle_impact`) reaches the carriageway: not when only the footway or the cycle
    lane is closed. So ``transit`` gives what it gave before trams and buses could be told apart."""
    named = set(site.modes)
    # trams and trains: the rule the corridors' capacity follows too (``rules.track_modes``)
    modes = track_modes(site.kind, named) | (named & TRANSIT_MODES)
    if TRANSIT in named and site.in_road:
        modes.add("bus")
    if not named & {"tram", "bus", TRANSIT} and site.vehicle_impact in ROAD_IMPACTS:
        modes.add("bus")
    return modes


def bus_impact(site: FeedSite) -> str:
    """The impact of a site whose buses :func:`transit_modes` says it touches, as the buses see it. In the road it
    is the impact on the vehicles on the road (:func:`common.vehicle_impact`), a closed bus lane being a lane
    closure for them; on a track bed the buses share with the trams (works off the road) it is the request's impact.

    Works in the road that close the footway or the cycle lane alone never get here: :func:`transit_modes` leaves
    their buses out (they name none of ``tram``, ``bus``, ``transit`` and reach no vehicle lane), so the buses drive
    on with no alert (``tests/feeds/test_bus_impact.py`` checks every kind, impact and set of modes)."""
    if not site.in_road:
        return site.impact
    impact = site.vehicle_impact
    return "lane_reduction" if impact == BUS_LANE else impact


def effect_for(site: FeedSite, mode: str) -> int | None:
    """The effect of a site on the service of one mode (``tram``, ``bus``, ``rail``: see :func:`corridor_mode`),
    or None when it leaves that service alone.

    Trams and trains are stopped by a full closure and restricted by a lane reduction or one-way arrangement, never
    diverted: the request's diversion is the road's. Buses see :func:`bus_impact`: a full closure diverts them
    (DETOUR), so does the request's diversion around a lane reduction or one-way arrangement, which otherwise only
    restricts them (REDUCED_SERVICE); replacement routes are buses replacing trains or trams, no bus detour."""
    if mode not in transit_modes(site):
        return None
    impact = site.impact if mode in TRACK_MODES else bus_impact(site)
    if impact == "full_closure":
        return rt.Alert.NO_SERVICE if mode in TRACK_MODES else rt.Alert.DETOUR
    if impact in ROAD_IMPACTS:
        return rt.Alert.DETOUR if mode == "bus" and site.has_diversion else rt.Alert.REDUCED_SERVICE
    return rt.Alert.OTHER_EFFECT  # footway or no restriction: service as planned


def informed(routes: list[str], stops: list[str]) -> list[tuple[str, str]]:
    """``(route_id, stop_id)`` selectors: each route at each affected stop; the routes alone when no stop is
    affected; the stops alone when the corridor has no routes."""
    if routes and stops:
        return [(route, stop) for route in routes for stop in stops]
    if routes:
        return [(route, "") for route in routes]
    return [("", stop) for stop in stops]


def _translated(target: rt.TranslatedString, de: str, en: str) -> None:
    target.translation.add(text=de, language="de")
    target.translation.add(text=en, language="en")


def alert_impact_text(site: FeedSite, modes: dict[str, list[str]]) -> tuple[str, str]:
    """(German, English) of the impact in an alert for the riders of ``modes``: worded for the road or for the track
    (:attr:`FeedSite.impact_text`), except that an alert for trams or trains only never calls a full closure a road
    closure: for them the line is closed (the cars' closure is the road authority's news, not theirs)."""
    if site.impact == "full_closure" and modes and set(modes) <= TRACK_MODES:
        return TRACK_IMPACT_TEXT["full_closure"]
    return site.impact_text


def service_texts(site: FeedSite, effect: int, modes: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(German, English) sentences on what the alert means for the riders of each mode it concerns (``modes``: each
    mode with its routes in the alert), trains first, then trams, then buses; then the replacement service.

    Trains and trams are stopped (NO_SERVICE) or restricted, never diverted (:func:`effect_for`); the request's
    diversion is the road's, so only buses follow it ("Die Buslinie wird umgeleitet"), as they do around a full
    closure: a DETOUR is always theirs. The request's replacement routes replace trains or trams: named in their
    alerts only, never in a bus line's."""
    texts: list[tuple[str, str]] = []
    for mode in sorted(modes, key=lambda m: MODE_ORDER.index(m) if m in MODE_ORDER else len(MODE_ORDER)):
        if mode == "bus" and effect == rt.Alert.DETOUR:
            texts.append(BUS_DIVERTED[len(modes[mode]) > 1])
        elif (effect, mode) in MODE_TEXT:
            texts.append(MODE_TEXT[effect, mode])
    if site.has_replacement and effect != rt.Alert.OTHER_EFFECT and TRACK_MODES & set(modes):
        texts.append(REPLACEMENT_TEXT)
    return texts


def active_periods(site: FeedSite, meta: FeedMeta) -> list[tuple[datetime, datetime]]:
    """When an alert of the site is shown: for ``continuous`` works one period from the start
    (:func:`common.site_start`) to the end (:func:`common.site_end`); for day and night work one per shift, the next
    :data:`SHIFT_HORIZON` still to come at the feed's reference time (:attr:`FeedMeta.reference`, else its
    ``updated``; :func:`common.shift_periods`). Empty when every shift is over: then the site has no alert (an
    alert without ``active_period`` would be shown as long as it is in the feed)."""
    periods = shift_periods(site, meta.timezone, meta.reference or meta.updated, SHIFT_HORIZON)
    if periods is not None:
        return periods
    return [(site_start(site, meta.timezone)[0], site_end(site, meta.timezone))]


def _add_alert(feed: rt.FeedMessage, entity_id: str, site: FeedSite, effect: int, meta: FeedMeta,
               periods: list[tuple[datetime, datetime]], selectors: list[tuple[str, str]], lines: list[str],
               modes: dict[str, list[str]]) -> None:
    entity = feed.entity.add(id=entity_id)
    alert = entity.alert
    for start, end in periods:
        alert.active_period.add(start=int(start.timestamp()), end=int(end.timestamp()))
    for route, stop in selectors:
        selector = alert.informed_entity.add()
        if route:
            selector.route_id = route
        if stop:
            selector.stop_id = stop
    emergency = site.urgency == "emergency"
    alert.cause = rt.Alert.MAINTENANCE if emergency else rt.Alert.CONSTRUCTION
    alert.effect = effect
    effect_de, effect_en = (EMERGENCY_EFFECT_TEXT if emergency else EFFECT_TEXT)[effect]
    impact_de, impact_en = alert_impact_text(site, modes)
    _translated(alert.header_text, f"{effect_de}: {site.title}", f"{effect_en}: {site.title}")
    period_de = f"vom {local_date(site.start)} bis {local_date(site.end)}"
    period_en = f"from {site.start.isoformat()} to {site.end.isoformat()}"
    hours = shift_text(site.shift)
    if hours is not None:  # day or night work: "vom 01.04.2027 bis 03.04.2027. Nachtarbeit, 20:00–07:00 Uhr."
        period_de, period_en = f"{period_de}. {hours[0]}", f"{period_en}. {hours[1]}"
    works_de, works_en = WORKS_WORDS[emergency]
    de = [f"{works_de} {site.title} {period_de}. {impact_de}."]
    en = [f"{works_en} {site.title} {period_en}. {impact_en}."]
    for text_de, text_en in service_texts(site, effect, modes):
        de.append(text_de)
        en.append(text_en)
    if lines:
        de.append("Betroffen: " + ", ".join(lines) + ".")
        en.append("Affected: " + ", ".join(lines) + ".")
    if site.description:
        de.append(sentence(site.description))  # a description ending "Rückfragen: […]" is not run into what follows
    de.append(f"Herausgeber: {meta.publisher}.")
    en.append(f"Publisher: {meta.publisher}.")
    _translated(alert.description_text, " ".join(de), " ".join(en))


def affected_lines(site: FeedSite) -> list[tuple[int, Corridor, str, list[str], list[str]]]:
    """The lines a site affects: ``(effect, corridor, mode, routes, stops)`` for each group of the corridors' routes
    (:func:`route_groups`) whose mode the site affects (:func:`effect_for`), with the corridor's stops it affects
    (:func:`common.affected_stops`); a corridor known only by its stops, none of them affected, is left out. The
    alerts are built from them, and the subscribers' notices name the same lines (``notices.service``)."""
    out = []
    for corridor in site.corridors:
        for mode, routes in route_groups(corridor):
            effect = effect_for(site, mode)
            if effect is None:
                continue
            near = affected_stops(site.geometry, corridor, closed=effect == rt.Alert.NO_SERVICE)
            if not routes and not near:
                continue  # a corridor known only by its stops, none of them affected
            out.append((effect, corridor, mode, routes, near))
    return out


def entity_id(site: FeedSite, effect: int) -> str:
    """The id of the site's alert of ``effect``: ``<request id>:<effect>`` (``…:no_service``, ``…:detour``), always,
    so that neither another alert of the site nor a corridor added or removed beside it changes it."""
    return f"{site.id}:{rt.Alert.Effect.Name(effect).lower()}"


def build(sites: list[FeedSite], meta: FeedMeta) -> rt.FeedMessage:
    feed = rt.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = rt.FeedHeader.FULL_DATASET
    feed.header.timestamp = int(meta.updated.timestamp())
    for site in sites:
        periods = active_periods(site, meta)
        if not periods:
            continue  # day or night work whose last shift is over
        # effect → (informed selectors, corridor names, each mode with its routes)
        groups: dict[int, tuple[list[tuple[str, str]], list[str], dict[str, list[str]]]] = {}
        for effect, corridor, mode, routes, near in affected_lines(site):
            selectors, lines, modes = groups.setdefault(effect, ([], [], {}))
            selectors += [sel for sel in informed(routes, near) if sel not in selectors]
            if corridor.name not in lines:
                lines.append(corridor.name)
            mode_routes = modes.setdefault(mode, [])
            mode_routes += [route for route in routes if route not in mode_routes]
        for effect, (selectors, lines, modes) in sorted(groups.items()):
            _add_alert(feed, entity_id(site, effect), site, effect, meta, periods, selectors, lines, modes)
    return feed


def to_bytes(feed: rt.FeedMessage) -> bytes:
    return feed.SerializeToString(deterministic=True)


def header_bytes(feed: rt.FeedMessage, timestamp: int) -> bytes:
    """The serialized header (field 1) of ``feed`` with ``header.timestamp`` = ``timestamp``. Fields are written in
    the order of their numbers, so ``header_bytes(feed, t) + entity_bytes(feed)`` is ``to_bytes`` of ``feed`` with
    that timestamp: the service writes a cached feed's generation time without serializing its alerts again."""
    head = rt.FeedMessage()
    head.header.CopyFrom(feed.header)
    head.header.timestamp = timestamp
    return head.SerializeToString(deterministic=True)


def entity_bytes(feed: rt.FeedMessage) -> bytes:
    """The serialized entities (field 2) of ``feed``, without its header (:func:`header_bytes`)."""
    rest = rt.FeedMessage()
    rest.entity.extend(feed.entity)
    return rest.SerializePartialToString(deterministic=True)


def to_json(feed: rt.FeedMessage) -> bytes:
    return json_format.MessageToJson(feed, preserving_proto_field_name=True, indent=1, sort_keys=True).encode()
