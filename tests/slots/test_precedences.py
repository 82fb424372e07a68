"""Precedences in plan runs and in the incremental placement, and the German texts of plan results."""

from __future__ import annotations

from datetime import date

from service.slots import explanations
from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid, plan, post_site, read_site

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}
SPOT_BBOX = [7.09, 51.41, 7.11, 51.43]
YEAR = {"bbox": SPOT_BBOX, "start": "2027-01-01", "end": "2027-12-31"}


def _site(earliest: str, latest: str, days: int, preferred: str | None = None, impact: str = "lane_reduction",
          **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact=impact, geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred, **extra)


def _gap(first: dict, then: dict) -> int:
    """Whole days between the end of slot ``first`` and the start of slot ``then``."""
    return (date.fromisoformat(then["start"]) - date.fromisoformat(first["end"])).days - 1


def _after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> list[dict]:
    return [{"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}]


def test_a_plan_puts_the_successor_after_the_predecessor_with_the_gap(client, city, coordinator, factory, settings,
                                                                      db) -> None:  # noqa: ANN001
    # the trench (a full closure, heavier) keeps April; the resurfacing of the same owner wants April too, but
    # may start only 7 days after the trench ends; the two do not conflict: only the precedence links them
    trench = post_site(client, city, _site("2027-03-01", "2027-09-30", 30, "2027-04-01", impact="full_closure"))
    road = post_site(client, city, _site("2027-03-01", "2027-09-30", 20, "2027-04-01", after=_after(trench["id"], 7)))
    got = plan(client, coordinator, factory, settings, **YEAR)
    assert got["status"] == "done", got["error"]
    stats = got["statistics"]
    assert (stats["requests"], stats["placed"], stats["precedences"], stats["conflicts"]) == (2, 2, 1, 0)
    assert stats["components"] == 1  # the precedence joins them into one component
    first, then = read_site(client, city, trench["id"])["slot"], read_site(client, city, road["id"])["slot"]
    assert (first["start"], first["end"]) == ("2027-04-01", "2027-04-30")
    assert (then["start"], then["end"], then["plan_id"]) == ("2027-05-08", "2027-05-27", got["id"])
    assert _gap(first, then) == 7
    explanation = then["explanation"]
    assert {"kind": "precedence", "ref": trench["id"], "request_id": trench["id"], "order": "after",
            "min_gap_days": 7, "max_gap_days": None, "starts_from": "2027-04-01",
            "starts_to": "2027-05-07"} in explanation["blockers"]
    assert explanation["summary"]["de"] == ("37 Tage später als gewünscht eingeplant: Beginn 08.05.2027 statt "
                                            "01.04.2027. Dazwischen blockiert durch die vorgegebene Reihenfolge "
                                            "(Beginn erst nach 1 anderen Baustelle).")
    assert explanation["summary"]["en"].endswith("blocked by the required order (start only after 1 other site).")
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 2


def test_a_plan_keeps_the_successor_within_the_maximum_gap(client, city, coordinator, factory, settings,
                                                           db) -> None:  # noqa: ANN001
    # the resurfacing would rather start in August, but must follow the trench within 10 days
    trench = post_site(client, city, _site("2027-03-01", "2027-09-30", 30, "2027-04-01", impact="full_closure"))
    road = post_site(client, city, _site("2027-03-01", "2027-09-30", 20, "2027-08-01",
                                     after=_after(trench["id"], 0, 10)))
    plan(client, coordinator, factory, settings, **YEAR)
    first, then = read_site(client, city, trench["id"])["slot"], read_site(client, city, road["id"])["slot"]
    assert (first["start"], then["start"]) == ("2027-04-01", "2027-05-11")
    assert _gap(first, then) == 10
    blockers = [b for b in then["explanation"]["blockers"] if b["kind"] == "precedence"]
    assert blockers == [{"kind": "precedence", "ref": trench["id"], "request_id": trench["id"], "order": "after",
                         "min_gap_days": 0, "max_gap_days": 10, "starts_from": "2027-05-12",
                         "starts_to": "2027-08-01"}]
    assert then["explanation"]["summary"]["de"].startswith("82 Tage früher als gewünscht eingeplant")
    # the trench, moved nowhere, has nothing to explain; it is the one the order holds to
    assert first["explanation"]["blockers"] == []
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 2


def test_a_fixed_predecessor_elsewhere_holds_the_successor_back(client, city, utility, coordinator, factory,
                                                                settings, db) -> None:  # noqa: ANN001
    # the utility's trench lies outside the planned area, in June, locked
    trench = post_site(client, utility, site_body(kind="gas", earliest_start="2027-03-01", latest_end="2027-09-30",
                                              duration_days=30, preferred_start="2027-06-01"))
    assert (trench["slot"]["start"], trench["slot"]["end"]) == ("2027-06-01", "2027-06-30")
    assert client.post(f"/v1/requests/{trench['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    road = post_site(client, city, _site("2027-03-01", "2027-09-30", 20, "2027-04-01"))
    assert road["slot"]["start"] == "2027-04-01"
    # the coordination office orders the two organisations' works: the new precedence places the road again
    r = client.patch(f"/v1/requests/{road['id']}", json={"after": _after(trench["id"], 3, 20)},
                     headers={**coordinator.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    slot = r.json()["slot"]
    assert (slot["start"], slot["end"], slot["provisional"]) == ("2027-07-04", "2027-07-23", True)
    assert any(b["kind"] == "precedence" and b["request_id"] == trench["id"] for b in slot["explanation"]["blockers"])
    got = plan(client, coordinator, factory, settings, **YEAR)
    assert (got["statistics"]["requests"], got["statistics"]["precedences"]) == (1, 1)
    slot = read_site(client, city, road["id"])["slot"]
    assert (slot["start"], slot["status"]) == ("2027-07-04", "proposed")
    assert _gap(read_site(client, city, trench["id"])["slot"], slot) == 3
    assert "die vorgegebene Reihenfolge" in slot["explanation"]["summary"]["de"]
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 1


def test_a_request_the_order_leaves_no_room_says_so(client, city, coordinator, factory, settings) -> None:  # noqa: ANN001
    # the trench could end in March, but is locked in November: the resurfacing, due by 30 Nov, cannot follow it
    trench = post_site(client, city, _site("2027-03-01", "2027-12-31", 30, "2027-11-01"))
    assert client.post(f"/v1/requests/{trench['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    road = post_site(client, city, _site("2027-03-01", "2027-11-30", 20, "2027-04-01", after=_after(trench["id"])))
    reason = {"de": ("Kein Beginn im Zeitfenster ist frei: blockiert durch die vorgegebene Reihenfolge (Beginn erst "
                     "nach 1 anderen Baustelle)."),
              "en": "No start in the window is free: blocked by the required order (start only after 1 other site)."}

    def unplaced() -> dict:
        got = read_site(client, city, road["id"])
        assert got["slot"] is None
        assert got["unplaced"]["reason"] == reason
        assert got["unplaced"]["blocking"] == [trench["id"]]
        assert [(b["kind"], b["order"]) for b in got["unplaced"]["blockers"]] == [("precedence", "after")]
        assert got["unplaced"]["nearest_feasible"] == {"latest_end": "2027-12-20"}  # from 1 Dec, after the trench
        return got["unplaced"]

    assert unplaced()["detail_text"] == {"de": "Kein Beginn im Zeitfenster ist frei von den genannten Hindernissen.",
                                         "en": "No start in the window is free of the listed blockers."}
    plan(client, coordinator, factory, settings, **YEAR)
    assert unplaced()["detail"] == "blocked by earlier requests; no start in the window is free of the listed blockers"
    assert unplaced()["detail_text"] == {
        "de": "Von früher eingereichten Anträgen blockiert; kein Beginn im Zeitfenster ist frei von den genannten "
              "Hindernissen.",
        "en": "Blocked by earlier requests; no start in the window is free of the listed blockers."}


def test_skipped_requests_are_explained_in_german_and_english(client, city, coordinator, factory,
                                                              settings) -> None:  # noqa: ANN001
    rid = post_site(client, city, _site("2027-04-01", "2027-09-30", 30))["id"]
    got = plan(client, coordinator, factory, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-04-20")
    stats = got["statistics"]
    assert stats["skipped_requests"] == {rid: "the window does not fit into the plan period"}  # kept as it was
    assert stats["skipped_reasons"] == {rid: {"de": "Das Zeitfenster passt nicht in den Planungszeitraum.",
                                              "en": "The window does not fit into the plan period."}}


def test_scheduler_details_are_worded_in_german_with_dates() -> None:
    detail = ("left out to make room for more valuable work; could start on day 12, but was left out to make room "
              "for other requests")
    assert explanations.detail_text(detail, date(2027, 1, 1)) == {
        "de": ("Zurückgestellt zugunsten umfangreicherer oder dringlicherer Arbeiten; hätte am 13.01.2027 beginnen "
               "können, wurde aber für andere Anträge zurückgestellt."),
        "en": ("Left out to make room for more valuable work; could start on 13 Jan 2027, but was left out to make "
               "room for other requests."),
    }
    assert explanations.detail_text("window passed")["de"] == "Vom Zeitfenster ist ab heute zu wenig übrig."
    # wording the scheduler may add later stays readable, in English
    assert explanations.detail_text("something new") == {"de": "Something new.", "en": "Something new."}
