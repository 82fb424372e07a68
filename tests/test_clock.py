"""The service's calendar: the real day, or a pinned one (``BAUSTELLEN_TODAY``), and the bundled example moving
with it so that it always lies ahead."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from service.kit.example import move_request, move_rule, years_ahead
from service.kit.time import now, today, wall_clock
from service.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
EXAMPLE = Settings().examples_dir / "ruhr"


def test_unpinned_clock_is_the_real_day_in_berlin() -> None:
    settings = Settings(today=None)
    real = datetime.now(BERLIN)
    assert today(settings) in (real.date(), (real + timedelta(seconds=5)).date())
    assert abs(now(settings) - real) < timedelta(seconds=5)


def test_pinned_day_runs_at_the_real_time_of_day_and_bookkeeping_stays_real() -> None:
    settings = Settings(today=date(2027, 3, 28))  # the day summer time starts
    real = datetime.now(BERLIN)
    assert today(settings) == date(2027, 3, 28)
    pinned = now(settings)
    assert pinned.date() == date(2027, 3, 28) and pinned.tzinfo is not None
    assert abs(pinned.replace(tzinfo=None) - datetime.combine(pinned.date(), real.time())) < timedelta(seconds=5)
    assert abs(wall_clock(settings) - real) < timedelta(seconds=5)


def test_example_moves_by_whole_years_once_its_first_window_has_begun() -> None:
    # the first window of examples/ruhr opens on 2027-01-04
    assert years_ahead(EXAMPLE, date(2026, 11, 21)) == 0
    assert years_ahead(EXAMPLE, date(2027, 1, 4)) == 0
    assert years_ahead(EXAMPLE, date(2027, 1, 5)) == 1
    assert years_ahead(EXAMPLE, date(2029, 2, 1)) == 3


def test_moved_request_keeps_its_window_long_enough_across_29_february() -> None:
    props = {"earliest_start": "2028-02-01", "latest_end": "2028-03-31", "duration_days": 60,
             "preferred_start": "2028-02-01", "title": "Fernwärme"}
    moved = move_request(props, 1)  # 2029 has no 29 February: the window would be a day short
    assert (moved["earliest_start"], moved["latest_end"], moved["preferred_start"]) == (
        "2029-02-01", "2029-04-01", "2029-02-01")
    assert moved["title"] == "Fernwärme" and props["latest_end"] == "2028-03-31"
    assert move_request(props, 0) is props
    assert move_rule({"name": "Weihnachtsgeschäft", "start": "2027-11-29", "end": "2027-12-24"}, 2) == {
        "name": "Weihnachtsgeschäft", "start": "2029-11-29", "end": "2029-12-24"}
    assert move_rule({"name": "Leap", "start": "2028-02-29", "end": "2028-03-01"}, 1)["start"] == "2029-02-28"
