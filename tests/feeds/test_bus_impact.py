"""``gtfsrt.bus_impact`` is asked only about sites whose buses ``transit_modes`` says the works touch. Works in the
road that close the footway or the cycle lane alone are never among them, so ``bus_impact`` needs no branch for
them: checked for every kind, impact and set of modes, with the effect on the buses as it was with those branches."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from itertools import combinations

from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.feeds.common import BUS_LANE, CYCLE_LANE, ROAD_IMPACTS, FeedSite
from service.feeds.gtfsrt import bus_impact, effect_for, transit_modes
from service.requests.models import Impact, Mode, WorkKind


def _site(kind: str, impact: str, modes: list[str], diversion: bool) -> FeedSite:
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="t", description="", kind=kind, impact=impact, modes=modes, shift="continuous",
        urgency="planned", status="approved", owner_id=uuid.uuid4(), owner_name="o",
        geometry=LineString([[7.0, 51.44], [7.001, 51.441]]), has_diversion=diversion, has_replacement=False,
        start=date(2027, 1, 1), end=date(2027, 1, 2), from_slot=False, version=1, first_published=moment,
        last_changed=moment)


def _bus_effect_with_the_removed_branches(site: FeedSite) -> int | None:
    """The buses' effect as ``effect_for`` gave it while ``bus_impact`` still had its footway and cycle lane
    branches (they gave None: no alert)."""
    if "bus" not in transit_modes(site):
        return None
    if not site.in_road:
        impact: str | None = site.impact
    elif site.vehicle_impact == "footway" and site.impact in ROAD_IMPACTS:
        impact = None
    else:
        impact = {BUS_LANE: "lane_reduction", CYCLE_LANE: None}.get(site.vehicle_impact, site.vehicle_impact)
    if impact is None:
        return None
    if impact == "full_closure":
        return rt.Alert.DETOUR
    if impact in ROAD_IMPACTS:
        return rt.Alert.DETOUR if site.has_diversion else rt.Alert.REDUCED_SERVICE
    return rt.Alert.OTHER_EFFECT


def test_bus_impact_never_sees_a_closed_footway_or_cycle_lane_and_the_effects_stay_as_they_were() -> None:
    modes = [m.value for m in Mode]
    subsets = [list(c) for n in range(len(modes) + 1) for c in combinations(modes, n)]
    asked = 0
    for kind in WorkKind:
        for impact in Impact:
            for named in subsets:
                for diversion in (False, True):
                    site = _site(kind.value, impact.value, named, diversion)
                    assert effect_for(site, "bus") == _bus_effect_with_the_removed_branches(site), (
                        kind, impact, named, diversion)
                    if "bus" not in transit_modes(site):
                        continue
                    asked += 1
                    assert bus_impact(site) is not None
                    if site.in_road:  # what the removed branches handled never reaches bus_impact
                        footway_closed = site.vehicle_impact == "footway" and site.impact in ROAD_IMPACTS
                        assert site.vehicle_impact != CYCLE_LANE and not footway_closed, (kind, impact, named)
    assert asked > 1000  # the check covered the buses' sites, not an empty set


def test_a_closed_footway_or_cycle_lane_leaves_the_buses_alone_and_a_closed_bus_lane_restricts_them() -> None:
    assert effect_for(_site("sewer", "full_closure", ["pedestrian"], True), "bus") is None
    assert effect_for(_site("sewer", "full_closure", ["cycle"], True), "bus") is None
    assert effect_for(_site("sewer", "full_closure", ["pedestrian", "cycle"], False), "bus") is None
    bus_lane = _site("sewer", "full_closure", ["bus"], False)
    assert bus_impact(bus_lane) == "lane_reduction"
    assert effect_for(bus_lane, "bus") == rt.Alert.REDUCED_SERVICE
