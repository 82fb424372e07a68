"""A plan run again with nothing changed keeps the proposed slots (no new proposals, history, events or
versions); a contested request with a counter-proposal is planned in the counter window, or, where that cannot
be met, in its own window as close to the counter start as possible. Real PostGIS, through the API."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid, plan
from tests.workflow.flow import events, history, ok


def _slot(client, caller, rid: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()["slot"]


def _trail(db, rids: list[str]) -> tuple[int, int]:  # noqa: ANN001
    db.expire_all()
    return sum(len(history(db, r)) for r in rids), sum(len(events(db, r)) for r in rids)


def test_a_plan_run_again_with_nothing_changed_keeps_every_proposed_slot(client, city, utility, coordinator, factory,
                                                                         settings, db) -> None:  # noqa: ANN001
    # two full closures of two owners on the same street, same weight, both wanting 1 April: every split of the
    # 60 days of deviation between them is equally good
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    b = client.post("/v1/requests", json=site_body(kind="water"), headers=utility.headers).json()["id"]
    first = plan(client, coordinator, factory, settings)
    assert first["statistics"]["slots"]["proposed"] == 2
    starts = {r: date.fromisoformat(_slot(client, coordinator, r)["start"]) for r in (a, b)}
    # the coordinator proposes another, equally good arrangement by hand: the other one first
    early, late = (b, a) if starts[a] < starts[b] else (a, b)
    wanted = {early: date(2027, 3, 10), late: date(2027, 3, 10) + timedelta(days=60)}
    for rid, start in wanted.items():
        ok(client, coordinator, rid, "propose", {"start": start.isoformat()})
    trail = _trail(db, [a, b])
    etags = {}
    for run in range(2):
        got = plan(client, coordinator, factory, settings)
        stats = got["statistics"]
        assert stats["slots"]["proposed"] == 0 and stats["slots"]["unchanged"] == 2, stats["slots"]
        assert stats["objective"]["weighted_deviation"] == first["statistics"]["objective"]["weighted_deviation"]
        assert got["fcfs"]["plan_better_or_equal"] is True
        for rid, start in wanted.items():
            assert _slot(client, coordinator, rid)["start"] == start.isoformat()
        # no new proposal: no history row, no slot.proposed event (so no new owner deadline nor notice)
        assert _trail(db, [a, b]) == trail
        now = {r: client.get(f"/v1/requests/{r}", headers=coordinator.headers).headers["etag"] for r in (a, b)}
        if run:  # the slots stand as the first re-run explained them: not even a new version of the requests
            assert now == etags
        etags = now
    assert assert_slots_valid(db, settings) == 2


def _lane(**overrides) -> dict:  # noqa: ANN003
    return site_body(**{"kind": "water", "impact": "lane_reduction", "duration_days": 30, **overrides})


def test_a_contested_request_is_planned_in_its_counter_proposal(client, city, utility, coordinator, factory,
                                                                settings, db) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(duration_days=30), headers=city.headers).json()["id"]
    n = client.post("/v1/requests", json=_lane(preferred_start="2027-05-01"), headers=utility.headers).json()["id"]
    plan(client, coordinator, factory, settings)
    assert (_slot(client, city, a)["start"], _slot(client, utility, n)["start"]) == ("2027-04-01", "2027-05-01")
    ok(client, city, a, "contest", {"reason": "Im April fehlt uns die Kolonne",
                                    "counter_proposal": {"earliest_start": "2027-06-01", "latest_end": "2027-06-30"}})
    got = plan(client, coordinator, factory, settings)
    assert got["statistics"]["slots"]["proposed"] == 1, got["statistics"]["slots"]  # A only: N stays
    req = client.get(f"/v1/requests/{a}", headers=city.headers).json()
    assert req["status"] == "slot_proposed"
    slot = req["slot"]
    assert (slot["start"], slot["end"]) == ("2027-06-01", "2027-06-30")
    ex = slot["explanation"]
    assert ex["counter_proposal"] == {"earliest_start": "2027-06-01", "latest_end": "2027-06-30", "met": True}
    assert ex["preferred_start"] == "2027-06-01" and ex["deviation_days"] == 0
    assert ex["summary"]["de"] == ("Am gewünschten Beginn (01.06.2027) eingeplant. Zeitraum laut Gegenvorschlag: "
                                   "01.06.2027–30.06.2027.")
    assert ex["summary"]["en"].endswith("Window as counter-proposed: 1 Jun 2027 – 30 Jun 2027.")
    # another organisation reads the slot, not the negotiation: no counter-proposal, no wished start from it
    public = client.get(f"/v1/requests/{a}", headers=utility.headers)
    assert public.status_code == 200
    seen = public.json()["slot"]
    assert (seen["start"], seen["end"]) == ("2027-06-01", "2027-06-30")
    assert "counter_proposal" not in seen["explanation"] and "preferred_start" not in seen["explanation"]
    assert seen["explanation"]["summary"] == {"de": "Eingeplant: 01.06.2027–30.06.2027.",
                                              "en": "Placed: 1 Jun 2027 – 30 Jun 2027."}
    assert "Gegenvorschlag" not in public.text and "counter-propos" not in public.text
    assert _slot(client, utility, n)["start"] == "2027-05-01"  # the neighbour is not pushed
    assert assert_slots_valid(db, settings) == 2
    # the answer stands: a later plan run does not take A back to April while its owner has not decided
    again = plan(client, coordinator, factory, settings)
    assert again["statistics"]["slots"]["proposed"] == 0, again["statistics"]["slots"]
    assert _slot(client, city, a)["start"] == "2027-06-01"


def test_a_counter_proposal_that_cannot_be_met_falls_back_to_the_own_window(client, city, utility, coordinator,
                                                                            factory, settings, db) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(duration_days=30), headers=city.headers).json()["id"]
    june = _lane(earliest_start="2027-06-01", latest_end="2027-06-30", preferred_start="2027-06-01")
    n = client.post("/v1/requests", json=june, headers=utility.headers).json()["id"]
    plan(client, coordinator, factory, settings)
    assert _slot(client, utility, n)["start"] == "2027-06-01"
    assert client.post(f"/v1/requests/{n}/slot/lock", headers=coordinator.headers).status_code == 200
    # the owner of A asks for June, which the locked neighbour holds
    ok(client, city, a, "contest", {"reason": "Erst im Juni",
                                    "counter_proposal": {"earliest_start": "2027-06-01", "latest_end": "2027-06-30"}})
    got = plan(client, coordinator, factory, settings)
    assert got["status"] == "done", got["error"]
    req = client.get(f"/v1/requests/{a}", headers=city.headers).json()
    assert req["status"] == "slot_proposed"
    slot = req["slot"]
    # as close to 1 June as the neighbour allows: right before it or right after it
    assert (slot["start"], slot["end"]) in {("2027-05-02", "2027-05-31"), ("2027-07-01", "2027-07-30")}, slot
    ex = slot["explanation"]
    assert ex["counter_proposal"]["met"] is False and ex["preferred_start"] == "2027-06-01"
    assert ex["deviation_days"] == 30
    assert "Der Gegenvorschlag (01.06.2027–30.06.2027) ließ sich nicht einhalten" in ex["summary"]["de"]
    assert "could not be met" in ex["summary"]["en"]
    assert assert_slots_valid(db, settings) == 2
    again = plan(client, coordinator, factory, settings)  # June is still taken: the same answer, nothing new
    assert again["statistics"]["slots"]["proposed"] == 0, again["statistics"]["slots"]
    assert _slot(client, city, a) == slot
