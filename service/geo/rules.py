"""The conflict rules, once, as pure functions (Shapely geometries in EPSG:25832, dates, enum strings).

The database path (``service/conflicts/repository.py``) evaluates the same predicates in PostGIS on the
GiST-indexed EPSG:25832 columns; ``tests/geo/test_rules_vs_postgis.py`` checks with hypothesis that both
agree. Distances are compared with a tolerance of :data:`TOLERANCE_M` (1 mm) on both sides so that
floating-point noise between GEOS and PostGIS cannot flip a decision on the boundary.

Periods are inclusive ``(start, end)`` date pairs, like site request windows and slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from shapely.geometry.base import BaseGeometry

TOLERANCE_M = 0.001

IMPACTS = ("none", "footway", "lane_reduction", "one_way", "full_closure")
IMPACT_RANK = {name: n for n, name in enumerate(IMPACTS)}
DEFAULT_DISTANCES = {"none": 0.0, "footway": 10.0, "lane_reduction": 50.0, "one_way": 100.0, "full_closure": 200.0}

EXCAVATING_KINDS = frozenset(
    {"gas", "water", "sewer", "district_heating", "power", "telecom", "road_construction", "tram_track"}
)
UTILITY_KINDS = frozenset({"gas", "water", "sewer", "district_heating", "power", "telecom"})
ROAD_KINDS = frozenset({"road_maintenance", "road_construction"})
TRACK_KINDS = frozenset({"tram_track", "rail"})
ROAD_MODES = frozenset({"car", "cycle"})  # naming one of these puts works in the road

# A work counts on a corridor when at least this share of it, or (a line) this length, lies in the corridor's band.
CORRIDOR_SHARE = 0.5
CORRIDOR_RUN_M = 100.0

Period = tuple[date, date]


# --- time -----------------------------------------------------------------------------------------


def periods_overlap(a: Period, b: Period) -> Period | None:
    """The common days of two inclusive periods, or None."""
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start <= end else None


def gap_days(a: Period, b: Period) -> int:
    """Days strictly between two periods (0 when they overlap or touch)."""
    if periods_overlap(a, b):
        return 0
    first, second = (a, b) if a[1] < b[0] else (b, a)
    return max(0, (second[0] - first[1]).days - 1)


def add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    year, month = d.year + month // 12, month % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def within_months(a: Period, b: Period, months: int) -> bool:
    """Whether the later period starts no more than ``months`` after the earlier one ends."""
    return b[0] <= add_months(a[1], months) and a[0] <= add_months(b[1], months)


# When day and night work occupy the road, local time: ``day`` from 07:00 to 20:00, ``night`` from 20:00 to 07:00 the
# next morning, the night time of the AVV Baulärm (3.1.2: "Als Nachtzeit gilt die Zeit von 20 Uhr bis 7 Uhr"), so
# the two never meet (:func:`shifts_clash`). ``continuous`` works round the clock. A night belongs to the day it
# begins on. The feeds publish these hours, the notices name them.
SHIFT_HOURS = {"day": (time(7), time(20)), "night": (time(20), time(7))}


def shifts_clash(a: str, b: str) -> bool:
    """Day-only and night-only works do not meet (:data:`SHIFT_HOURS`); ``continuous`` meets both."""
    return not ({a, b} == {"day", "night"})


def occupies(shift: str, part: str) -> bool:
    """Whether works of ``shift`` occupy the road in ``part`` (``day`` or ``night``, :data:`SHIFT_HOURS`):
    ``continuous`` works occupy both. A capacity rule counts its members per part."""
    return shift in ("continuous", part)


# --- impact and distance --------------------------------------------------------------------------


def impact_at_least(impact: str, threshold: str) -> bool:
    return IMPACT_RANK[impact] >= IMPACT_RANK[threshold]


def required_distance(impact_a: str, impact_b: str, distances: Mapping[str, float] = DEFAULT_DISTANCES) -> float:
    """Two sites must stay this far apart: the larger of the two impacts' distances."""
    return max(float(distances[impact_a]), float(distances[impact_b]))


def in_road(kind: str, modes: Iterable[str]) -> bool:
    """Whether works lie in the road (their impact is one on road traffic) rather than on a track of their own.

    ``modes`` names the traffic the works affect (``car``, ``cycle``, ``pedestrian``, ``tram``, ``bus``,
    ``transit`` = buses and trams, ``rail`` = trains). Naming ``car`` or ``cycle`` puts any works in the road (a
    tram track in the street, a level crossing, a rail bridge over a street). Otherwise track works
    (``tram_track``, ``rail``) concern the track only (an S-Bahn line, a tram on its own track bed or in a tunnel,
    a platform): their closure stops trains and trams, not cars. Transit modes and ``pedestrian`` do not put them
    in the road: a bus that shares the trams' own track bed is stopped with them while the cars beside it drive
    on. A ``tram_track`` site that names no modes at all counts as in the street, where tram tracks mostly lie.
    Other works are in the road unless ``rail`` is all they affect.

    The database has the same rule as the SQL function ``works_in_road(kind, modes)`` (migration 0015).
    """
    named = set(modes)
    if named & ROAD_MODES:
        return True
    if kind in TRACK_KINDS:
        return kind == "tram_track" and not named
    return named != {"rail"}


def required_distance_between(impact_a: str, impact_b: str, in_road_a: bool, in_road_b: bool,
                              distances: Mapping[str, float] = DEFAULT_DISTANCES) -> float:
    """The distance two sites must keep. Works in the road and works on a track of their own (an S-Bahn line, a
    tram on its own track bed) do not take each other's space: they clash only where their footprints meet (a
    level crossing, a bridge), so they need no distance. Otherwise :func:`required_distance`."""
    if in_road_a != in_road_b:
        return 0.0
    return required_distance(impact_a, impact_b, distances)


def space_clash(distance_m: float, impact_a: str, impact_b: str,
                distances: Mapping[str, float] = DEFAULT_DISTANCES, *, in_road_a: bool = True,
                in_road_b: bool = True) -> bool:
    """The space rule on a measured distance (what the database path applies to ``ST_Distance``)."""
    return distance_m <= required_distance_between(impact_a, impact_b, in_road_a, in_road_b, distances) + TOLERANCE_M


def space_conflict(a: BaseGeometry, b: BaseGeometry, impact_a: str, impact_b: str,
                   distances: Mapping[str, float] = DEFAULT_DISTANCES, *, in_road_a: bool = True,
                   in_road_b: bool = True) -> bool:
    """Footprints (EPSG:25832) closer than the distance their impacts require."""
    return space_clash(a.distance(b), impact_a, impact_b, distances, in_road_a=in_road_a, in_road_b=in_road_b)


def touches_route(footprint: BaseGeometry, route: BaseGeometry | None, tolerance_m: float) -> bool:
    """A footprint on (within ``tolerance_m`` of) a diversion or replacement route."""
    return route is not None and not route.is_empty and footprint.distance(route) <= tolerance_m + TOLERANCE_M


def blocks_routes(impact: str) -> bool:
    """Only a site that restricts traffic at all can block a diversion."""
    return impact != "none"


def on_corridor(footprint: BaseGeometry, corridor: BaseGeometry, buffer_m: float) -> bool:
    """Whether works touch a corridor: they cross it (the footprint reaches the corridor's line itself: a closure
    across a tram line, a dig through the carriageway) or run along it: they come within ``buffer_m`` of it and a
    point does, and of a line or an area at least :data:`CORRIDOR_SHARE` (half) of its length or area, or of a
    line at least :data:`CORRIDOR_RUN_M` (100 m), lies in the corridor's band (the corridor widened by
    ``buffer_m``). Works that only end near it (a trench along a side street) do not count; the space rule still
    weighs them against the corridor's sites nearby. Whether works touching a corridor take one of its places
    also depends on its mode: :func:`counts_on_corridor`.

    The database has the same rule as the SQL function ``corridor_carries(corridor, buffer_m, footprint)``
    (migrations 0015, 0025); both build the band with 8 segments per quarter circle.
    """
    if footprint.is_empty or footprint.distance(corridor) > buffer_m + TOLERANCE_M:
        return False
    if footprint.distance(corridor) <= TOLERANCE_M:
        return True
    dimension = _dimension(footprint)
    if dimension == 0:
        return True
    inside = footprint.intersection(corridor.buffer(buffer_m + TOLERANCE_M, quad_segs=8))
    if dimension == 1:
        return (inside.length >= CORRIDOR_RUN_M - TOLERANCE_M
                or inside.length >= CORRIDOR_SHARE * footprint.length - TOLERANCE_M)
    return inside.area >= CORRIDOR_SHARE * footprint.area - TOLERANCE_M


# the mode on a track of its own that a corridor of this kind carries; other corridors (``bus``, ``arterial``)
# carry the road's traffic
CORRIDOR_TRACK_MODE = {"tram": "tram", "rail": "rail"}
# the mode whose track works of this kind are on
TRACK_OF_KIND = {"tram_track": "tram", "rail": "rail"}


def track_modes(kind: str, modes: Iterable[str]) -> set[str]:
    """The modes on tracks (``tram``, ``rail``) that works stop or restrict: those the request names
    (``transit`` names the trams, and the buses), the mode whose track is worked on, and, when the request names
    no modes at all, the trams of the street it lies in. A sewer site closing the road for ``car`` and ``cycle``
    leaves the trams running. The GTFS-RT feed's alerts (``service.feeds.gtfsrt.transit_modes``) and the
    corridors' capacity (:func:`corridor_mode_hit`) follow this one rule."""
    named = set(modes)
    found = named & set(TRACK_OF_KIND.values())
    if "transit" in named:
        found.add("tram")
    if kind in TRACK_OF_KIND:
        found.add(TRACK_OF_KIND[kind])
    if not named and in_road(kind, named):
        found.add("tram")
    return found


def corridor_mode_hit(corridor_kind: str, kind: str, modes: Iterable[str]) -> bool:
    """Whether works stop or restrict the mode of a corridor: on a ``tram`` or ``rail`` corridor when
    :func:`track_modes` has its mode; on other corridors (``bus``, ``arterial``) always (their threshold is the
    impact, ``min_impact``). The database has the same rule as the SQL function
    ``corridor_mode_hit(corridor_kind, kind, modes)`` (migration 0025)."""
    mode = CORRIDOR_TRACK_MODE.get(corridor_kind)
    return mode is None or mode in track_modes(kind, modes)


def counts_on_corridor(corridor_kind: str, corridor: BaseGeometry, buffer_m: float, footprint: BaseGeometry,
                       kind: str, modes: Iterable[str]) -> bool:
    """Works count on a corridor (take one of its places, impact permitting) when they touch it
    (:func:`on_corridor`) and stop or restrict its mode (:func:`corridor_mode_hit`): the SQL function
    ``corridor_counts`` (migration 0025)."""
    return corridor_mode_hit(corridor_kind, kind, modes) and on_corridor(footprint, corridor, buffer_m)


def _dimension(geom: BaseGeometry) -> int:
    """The topological dimension (PostGIS ``ST_Dimension``): 0 points, 1 lines, 2 areas; of a collection the
    largest of its parts."""
    parts = getattr(geom, "geoms", None)
    if parts is not None:
        return max((_dimension(g) for g in parts), default=0)
    return {"Point": 0, "LineString": 1, "LinearRing": 1}.get(geom.geom_type, 2)


def in_area(footprint: BaseGeometry, area: BaseGeometry | None, tolerance_m: float = 0.0) -> bool:
    """Inside / touching a zone, moratorium or blackout area; ``None`` is the whole region."""
    return area is None or footprint.distance(area) <= tolerance_m + TOLERANCE_M


# --- rules ---------------------------------------------------------------------------------------


def moratorium_applies(kind: str, urgency: str) -> bool:
    """Moratoriums refuse excavating works, except emergencies."""
    return kind in EXCAVATING_KINDS and urgency != "emergency"


def blackout_applies(impact: str, max_impact: str, urgency: str) -> bool:
    """Blackouts refuse works above the allowed impact, except emergencies (they cannot wait)."""
    return IMPACT_RANK[impact] > IMPACT_RANK[max_impact] and urgency != "emergency"


def dig_once(kind_a: str, kind_b: str) -> bool:
    """Road works with a utility or track renewal, or two utilities: one trench, one closure."""
    def road(k: str) -> bool:
        return k in ROAD_KINDS

    def dig(k: str) -> bool:
        return k in UTILITY_KINDS or k in TRACK_KINDS

    return (road(kind_a) and dig(kind_b)) or (road(kind_b) and dig(kind_a)) or (
        kind_a in UTILITY_KINDS and kind_b in UTILITY_KINDS
    )


def dig_once_pair(kind_a: str, kind_b: str, distance_m: float, a: Period, b: Period, *,
                  max_distance_m: float, months: int) -> bool:
    return dig_once(kind_a, kind_b) and distance_m <= max_distance_m + TOLERANCE_M and within_months(a, b, months)


# --- capacity (corridors, zones) ------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: object
    start: date
    end: date
    shift: str = "continuous"
    slotted: bool = False  # the period is a granted slot, not the whole window of an unplaced request


@dataclass
class Excess:
    """Two members active together while the rule was over capacity."""

    a: object
    b: object
    start: date
    end: date
    peak: int
    peak_members: list = field(default_factory=list)


def capacity_excess(members: Sequence[Member], capacity: int) -> list[Excess]:
    """Sweep over start/end events: on each day count the members active by day and by night
    (``continuous`` counts for both). Where a count exceeds ``capacity``, the pairs active in that shift
    conflict: every pair, unless the slotted members alone fit, in which case only the pairs with at least one
    unslotted member (its slot is what is missing; two slots that fit together do not clash). Returns one
    :class:`Excess` per pair with the first and last over-capacity day they share and the largest count seen."""
    events: set[date] = set()
    for m in members:
        events.add(m.start)
        events.add(m.end + timedelta(days=1))
    days = sorted(events)
    found: dict[tuple, Excess] = {}
    for i, seg_start in enumerate(days[:-1]):
        seg_end = days[i + 1] - timedelta(days=1)
        active = [m for m in members if m.start <= seg_start and m.end >= seg_end]
        for part in SHIFT_HOURS:
            group = [m for m in active if occupies(m.shift, part)]
            if len(group) <= capacity:
                continue
            group.sort(key=lambda m: str(m.id))
            slots_fit = sum(m.slotted for m in group) <= capacity
            for x in range(len(group)):
                for y in range(x + 1, len(group)):
                    if slots_fit and group[x].slotted and group[y].slotted:
                        continue
                    key = (group[x].id, group[y].id)
                    ex = found.get(key)
                    if ex is None:
                        found[key] = Excess(group[x].id, group[y].id, seg_start, seg_end, len(group),
                                            [m.id for m in group])
                    else:
                        ex.start, ex.end = min(ex.start, seg_start), max(ex.end, seg_end)
                        if len(group) > ex.peak:
                            ex.peak, ex.peak_members = len(group), [m.id for m in group]
    return list(found.values())


def members_of(items: Iterable[tuple[object, date, date, str] | tuple[object, date, date, str, bool]],
               ) -> list[Member]:
    return [Member(*item) for item in items]
