import pytest

from service.scheduler import Forbidden, Options, Problem
from service.scheduler.model import closest_in, evaluate, start_domain, subtract

from .helpers import task


def test_start_domain_is_window_minus_forbidden_holes():
    t = task("a", 3, es=0, le=20, forbidden=(Forbidden(5, 8, "fair"),))
    # starts 3..7 would make [s, s+3) touch days 5..7
    assert start_domain(t) == [(0, 2), (8, 17)]


def test_start_domain_empty_when_window_too_short():
    assert start_domain(task("a", 5, es=0, le=4)) == []


def test_subtract_and_closest():
    assert subtract([(0, 10)], [(2, 3), (3, 5), (9, 20)]) == [(0, 1), (6, 8)]
    assert closest_in([(0, 1), (6, 8)], 4) == 6
    assert closest_in([(0, 2), (6, 8)], 4) == 2  # tie goes to the earlier day
    assert closest_in([], 4) is None


def test_options_reject_single_worker():
    with pytest.raises(ValueError):
        Options(num_workers=1)


def test_validate_rejects_unknown_ids():
    from service.scheduler import Conflict

    with pytest.raises(ValueError):
        Problem([task("a", 1)], conflicts=[Conflict(("a", "zz"))]).validate()


def test_evaluate_counts_work_deviation_and_bundle_span():
    from service.scheduler import Bundle

    p = Problem(
        [task("a", 2, pref=1, w=3), task("b", 4, pref=0, w=2), task("c", 5)],
        bundles=[Bundle("B", ("a", "b"))],
    )
    parts = evaluate(p, {"a": 3, "b": 0})
    assert parts.placed_work == 3 * 2 + 2 * 4
    assert parts.unplaced_work == 5
    assert parts.weighted_deviation == 3 * 2
    assert parts.bundle_span == 5 - 0
    assert parts.unplaced_count == 1
