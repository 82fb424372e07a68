"""The notices' mode filter and the GTFS-RT feed agree on which transit a site touches.

``repository.MODES_SQL`` (SQL, evaluated per subscription the GiST index finds) must give, for every request, the
modes it names plus exactly the transit modes ``service.feeds.gtfsrt.transit_modes`` gives (plus ``transit`` when
trams or buses are touched). The parity test evaluates the SQL in PostgreSQL for every kind × impact × set of
modes in one query and compares it with the feeds' Python rule, so the two cannot drift apart.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from service.feeds.common import in_road, vehicle_impact
from service.feeds.gtfsrt import transit_modes
from service.notices import repository
from service.requests.models import Impact, Mode, WorkKind
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe

KINDS = [k.value for k in WorkKind]
IMPACTS = [i.value for i in Impact]
MODES = [m.value for m in Mode]


def expected_modes(kind: str, impact: str, modes: list[str]) -> set[str]:
    """What a subscription filter should see of a request: the modes it names, the transit modes the feeds say
    it touches, and ``transit`` when that includes trams or buses."""
    site = SimpleNamespace(kind=kind, impact=impact, modes=list(modes), in_road=in_road(kind, modes),
                           vehicle_impact=vehicle_impact(kind, impact, modes))
    touched = transit_modes(site)  # type: ignore[arg-type]
    return set(modes) | touched | ({"transit"} if touched & {"tram", "bus"} else set())


def test_mode_filter_sql_follows_the_feeds_rule_for_every_kind_impact_and_set_of_modes(db) -> None:  # noqa: ANN001
    rows = db.execute(text(f"""
        SELECT r.kind, r.impact, r.modes, {repository.MODES_SQL} AS effective
        FROM (SELECT k.kind, i.impact,
                     ARRAY(SELECT m.mode FROM unnest(cast(:modes AS varchar[])) WITH ORDINALITY AS m(mode, n)
                           WHERE b.bits & (1 << (m.n::int - 1)) <> 0 ORDER BY m.n)::varchar[] AS modes
              FROM unnest(cast(:kinds AS varchar[])) AS k(kind)
              CROSS JOIN unnest(cast(:impacts AS varchar[])) AS i(impact)
              CROSS JOIN generate_series(0, :subsets - 1) AS b(bits)) AS r
    """), {"kinds": KINDS, "impacts": IMPACTS, "modes": MODES, "subsets": 2 ** len(MODES)}).all()
    assert len(rows) == len(KINDS) * len(IMPACTS) * 2 ** len(MODES)
    assert len({(r.kind, r.impact, tuple(r.modes)) for r in rows}) == len(rows)  # every combination once
    wrong = [(r.kind, r.impact, r.modes, sorted(set(r.effective)), sorted(expected_modes(r.kind, r.impact, r.modes)))
             for r in rows if set(r.effective) != expected_modes(r.kind, r.impact, r.modes)]
    assert not wrong, f"{len(wrong)} combinations differ (kind, impact, modes, sql, feeds), e.g. {wrong[:5]}"
    # the filter of the matching statement is this expression
    assert f"s.modes && {repository.MODES_SQL}" in repository.MATCH_SQL


def _sql_modes(db, kind: str, impact: str, modes: list[str]) -> set[str]:  # noqa: ANN001
    return set(db.scalar(text(f"SELECT {repository.MODES_SQL} FROM (SELECT cast(:kind AS varchar) AS kind, "
                              "cast(:impact AS varchar) AS impact, cast(:modes AS varchar[]) AS modes) AS r"),
                         {"kind": kind, "impact": impact, "modes": modes}))


@pytest.mark.parametrize(
    ("impact", "modes", "expected"),
    [
        # the footway, the cycle lane or both alone: the vehicle lanes stay open, the buses drive on
        ("full_closure", ["pedestrian"], {"pedestrian"}),
        ("lane_reduction", ["pedestrian"], {"pedestrian"}),
        ("full_closure", ["cycle"], {"cycle"}),
        ("one_way", ["cycle"], {"cycle"}),
        ("full_closure", ["pedestrian", "cycle"], {"pedestrian", "cycle"}),
        # the bus lane: the buses are named
        ("full_closure", ["bus"], {"bus", "transit"}),
        ("full_closure", ["pedestrian", "cycle", "bus"], {"pedestrian", "cycle", "bus", "transit"}),
        ("footway", ["pedestrian", "bus"], {"pedestrian", "bus", "transit"}),  # a bus stop's platform
        # the carriageway: the buses detour, whoever else is named with the cars
        ("full_closure", ["car", "pedestrian"], {"car", "pedestrian", "bus", "transit"}),
        ("lane_reduction", ["cycle", "car"], {"cycle", "car", "bus", "transit"}),
        ("full_closure", [], {"tram", "bus", "transit"}),
        ("footway", ["pedestrian"], {"pedestrian"}),
    ],
)
def test_buses_are_touched_only_when_the_works_reach_the_carriageway(db, impact, modes, expected) -> None:  # noqa: ANN001
    """Works in the road that name only ``pedestrian`` and/or ``cycle`` close the footway or the cycle lane, not the
    road (``common.vehicle_impact``): no bus (nor ``transit``) in the filter's modes, however hard the impact."""
    assert _sql_modes(db, "sewer", impact, modes) == expected
    assert expected_modes("sewer", impact, modes) == expected


def _post_and_hear(client, db, city, run_jobs, sites: dict, subs: dict) -> dict[str, set[str]]:  # noqa: ANN001
    """Post the sites (by name), run the worker's jobs, and say which sites each subscription heard of."""
    ids = {}
    for name, body in sites.items():
        r = client.post("/v1/requests", json=body, headers=city.headers)
        assert r.status_code == 201, r.text
        ids[r.json()["id"]] = name
    run_jobs()
    return {name: {ids[str(n.request_id)] for n in notices_of(db, sub.id) if n.request_id is not None}
            for name, sub in subs.items()}


def test_a_bus_operator_hears_of_a_road_closure_for_cars_not_of_tram_only_track_works(
        client, db, city, smtp, receiver, run_jobs) -> None:  # noqa: ANN001
    """The GTFS-RT feed tells buses to detour around a full closure of the street for cars and cycles: the bus
    operator subscribed with ``modes: ["bus"]`` hears of it too, by email and webhook. Tram works on the track
    bed (``tram`` or ``transit`` named, no road traffic) leave the buses alone, as in the feed."""
    inbox, _ = smtp
    subs = {
        "bus": subscribe(client, db, email="leitstelle@bus-example.de", modes=["bus"],
                         webhooks=[{"url": receiver.url}]),
        "tram": subscribe(client, db, email="tram@example.de", modes=["tram"]),
        "transit": subscribe(client, db, email="transit@example.de", modes=["transit"]),
    }
    secret = client.get(f"/v1/subscriptions/{subs['bus'].token}").json()["webhooks"][0]["secret"]
    sites = {
        "closure": site_body(title="Brückenerneuerung Rüttenscheider Straße", kind="bridge",
                             impact="full_closure", modes=["car", "cycle"]),
        "tram_only": site_body(title="Gleiserneuerung Rüttenscheider Straße", kind="tram_track",
                               impact="full_closure", modes=["tram"]),
        "track_transit": site_body(title="Gleisbett Rüttenscheider Straße", kind="tram_track",
                                   impact="full_closure", modes=["transit"]),
    }
    heard = _post_and_hear(client, db, city, run_jobs, sites, subs)
    assert heard == {"bus": {"closure"}, "tram": {"tram_only", "track_transit"},
                     "transit": {"closure", "tram_only", "track_transit"}}

    mails = [m for m in inbox.to("leitstelle@bus-example.de") if m["Subject"].startswith("Neue Baustelle")]
    assert [m["Subject"] for m in mails] == ["Neue Baustelle geplant: Brückenerneuerung Rüttenscheider Straße"]
    assert len(receiver.requests) == 1
    payload = Webhook(secret).verify(receiver.requests[0]["body"], receiver.requests[0]["headers"])
    assert payload["type"] == "notice.request.created"
    assert payload["data"]["site"]["title"] == "Brückenerneuerung Rüttenscheider Straße"
    assert payload["data"]["site"]["modes"] == ["car", "cycle"]


def test_a_bus_operator_does_not_hear_of_a_closed_footway_or_cycle_lane(client, db, city, run_jobs) -> None:  # noqa: ANN001
    """A full closure naming only the pedestrians or the cyclists closes their part of the street, and the GTFS-RT
    feed gives the buses no alert for it: the bus operator hears of the bus lane, not of those. The pedestrians'
    subscriber hears of the footway."""
    subs = {"bus": subscribe(client, db, email="leitstelle@bus-example.de", modes=["bus"]),
            "pedestrian": subscribe(client, db, email="fuss@example.de", modes=["pedestrian"])}
    sites = {
        "footway": site_body(title="Gehwegsanierung Rüttenscheider Straße", modes=["pedestrian"]),
        "cycle_lane": site_body(title="Radweg Rüttenscheider Straße", modes=["cycle"]),
        "footway_cycle_lane": site_body(title="Geh- und Radweg Rüttenscheider Straße", modes=["pedestrian", "cycle"]),
        "bus_lane": site_body(title="Busspur Rüttenscheider Straße", modes=["bus"]),
    }
    heard = _post_and_hear(client, db, city, run_jobs, sites, subs)
    assert heard == {"bus": {"bus_lane"}, "pedestrian": {"footway", "footway_cycle_lane"}}
