"""Which site is the track works stays with that site whichever way a pair is stored (``service._ordered`` swaps
``track`` with the a/b facts), and the dry run of a stored request names it by its title."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from service.conflicts.service import _ordered, explain
from tests.conflicts.helpers import line
from tests.conflicts.test_check_request import check, fields
from tests.conflicts.test_conflicts_api import conflicts, post

RAIL_TITLE = "S1/S3/S9 Sperrpause Essen Hbf"
LOW, HIGH = uuid.UUID(int=1), uuid.UUID(int=2)


def _text(row: dict, titles: dict[uuid.UUID, str]) -> str:
    return explain(row["kind"], row["reason"], titles[row["request_a"]], titles[row["request_b"]],
                   row["distance_m"], date(2027, 4, 1), date(2027, 4, 30))["de"]


@pytest.mark.parametrize("rail_first", [True, False])
def test_a_pair_stored_in_either_order_names_the_track_works_as_track_works(rail_first: bool) -> None:
    """The pair as ``classify_pair`` gives it (its ``a`` is the request being stored) is put in id order; the track
    works ("S1/S3/S9 …") is the Gleisbaustelle in the stored text however the ids fall."""
    rail, road = (HIGH, LOW) if rail_first else (LOW, HIGH)  # rail as ``a`` with the higher id: swapped
    titles = {rail: RAIL_TITLE, road: "Brückenprüfung Hachestraße"}
    row = {"request_a": rail, "request_b": road, "kind": "space", "hard": True, "distance_m": 0.0,
           "reason": {"required_m": 0, "impact_a": "full_closure", "impact_b": "lane_reduction",
                      "shift_a": "continuous", "shift_b": "day", "track": "a"}}
    stored = _ordered(row)
    assert stored["request_a"] < stored["request_b"]
    assert stored["reason"]["track"] == ("a" if stored["request_a"] == rail else "b")
    assert stored["reason"]["impact_" + stored["reason"]["track"]] == "full_closure"
    assert _text(stored, titles).startswith(f"Die Gleisbaustelle „{RAIL_TITLE}“ und die Straßenbaustelle "
                                            "„Brückenprüfung Hachestraße“")


def test_three_bridge_works_crossing_an_s_bahn_closure_read_right_on_both_sides(client, city, make_caller) -> None:  # noqa: ANN001
    """DB's closure of the S-Bahn line (off the road) and three bridge works of the city (in the road) crossing
    it: every stored conflict, read from either side, calls the S-Bahn works the track works. Three pairs with
    random ids: the stored order differs between them (the unit test above covers both orders for certain)."""
    db_netz = make_caller("rail", "submitter", "DB InfraGO")
    rail = post(client, db_netz, title=RAIL_TITLE, kind="rail", modes=["rail"], impact="full_closure",
                geometry=line(0, -300, 600, vertical=True))
    roads = [post(client, city, title=f"Brückenprüfung {n}", kind="bridge", modes=["car", "cycle"],
                  impact="lane_reduction", geometry=line(-50, y))
             for n, y in (("Hachestraße", -200), ("Hollestraße", 0), ("Kruppstraße", 200))]
    for rid, caller in [(rail, db_netz), *((r, city) for r in roads)]:
        space = [c for c in conflicts(client, caller, rid) if c["kind"] == "space"]
        assert space, rid
        for c in space:
            assert c["explanation"]["de"].startswith(f"Die Gleisbaustelle „{RAIL_TITLE}“ und die Straßenbaustelle "
                                                     "„Brückenprüfung "), c["explanation"]["de"]
            assert c["explanation"]["en"].startswith(f"The track works “{RAIL_TITLE}” and the road works "), \
                c["explanation"]["en"]


def test_the_dry_run_of_a_stored_request_names_it_by_its_title(client, city, make_caller) -> None:  # noqa: ANN001
    """``POST /v1/conflicts/check`` with the caller's own ``request_id``: the sentence names the request by its
    title, not "Geplante Baustelle / planned site"; without ``request_id`` it is the planned site it is."""
    db_netz = make_caller("rail", "submitter", "DB InfraGO")
    mine = post(client, db_netz, title=RAIL_TITLE, kind="rail", modes=["rail"], impact="full_closure",
                geometry=line(0, -300, 600, vertical=True))
    post(client, city, title="Brückenprüfung Hollestraße", kind="bridge", modes=["car", "cycle"],
         impact="lane_reduction", geometry=line(-50, 0))
    body = fields(client, db_netz, mine)
    [found] = [c for c in check(client, db_netz, body) if c["kind"] == "space"]
    assert found["explanation"]["de"].startswith(f"Die Gleisbaustelle „{RAIL_TITLE}“ und die Straßenbaustelle "
                                                 "„Brückenprüfung Hollestraße“"), found["explanation"]["de"]
    assert found["explanation"]["en"].startswith(f"The track works “{RAIL_TITLE}”"), found["explanation"]["en"]
    [planned] = [c for c in check(client, db_netz, {k: v for k, v in body.items() if k != "request_id"})
                 if c["kind"] == "space"]
    assert planned["explanation"]["de"].startswith("Die Gleisbaustelle „Geplante Baustelle / planned site“")


def test_rows_stored_with_the_track_on_the_wrong_side_are_recomputed_at_worker_start(  # noqa: PLR0913
        client, city, make_caller, db, settings, connection) -> None:  # noqa: ANN001
    """Revision 1's incremental path left ``track`` pointing at the road works when it swapped a pair into id order;
    the worker's start recomputes conflicts stored under revision 1 (``RULES_REVISION`` 2), so they read right."""
    from sqlalchemy import update
    from sqlalchemy.orm import sessionmaker

    from service.conflicts import jobs, service
    from service.conflicts.models import Conflict
    from service.worker import WorkerContext
    from tests.conflicts.test_rules_revision import set_state

    db_netz = make_caller("rail", "submitter", "DB InfraGO")
    rail = post(client, db_netz, title=RAIL_TITLE, kind="rail", modes=["rail"], impact="full_closure",
                geometry=line(0, -300, 600, vertical=True))
    road = post(client, city, title="Brückenprüfung Hollestraße", kind="bridge", modes=["car", "cycle"],
                impact="lane_reduction", geometry=line(-50, 0))
    wrong = "b" if rail < road else "a"  # the road works' side: what the old swap left
    db.execute(update(Conflict).where(Conflict.kind == "space")
               .values(reason=Conflict.reason.op("||")({"track": wrong})))
    set_state(db, 1, service.config_fingerprint(service.config(settings)))  # same settings, revision 1
    [bad] = [c for c in conflicts(client, city, road) if c["kind"] == "space"]
    assert bad["explanation"]["de"].startswith("Die Gleisbaustelle „Brückenprüfung Hollestraße“")

    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                           info={"settings": settings})
    assert jobs.follow_rules(WorkerContext(settings=settings, sessionmaker=factory)) == "recomputed"
    db.expire_all()
    [good] = [c for c in conflicts(client, city, road) if c["kind"] == "space"]
    assert good["explanation"]["de"].startswith(f"Die Gleisbaustelle „{RAIL_TITLE}“ und die Straßenbaustelle "
                                                "„Brückenprüfung Hollestraße“"), good["explanation"]["de"]
