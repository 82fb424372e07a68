"""The checker must catch each violation kind on hand-made invalid plans."""

from dataclasses import dataclass, field

import pytest

from service.scheduler import Bundle, Conflict, Forbidden, Precedence, Problem, Zone, check_plan

from .helpers import task


@dataclass
class HandPlan:
    starts: dict[str, int]
    unplaced: dict = field(default_factory=dict)
    mode: str = "placement"


def kinds(problem, starts, unplaced=None, mode="placement"):
    return sorted({v.kind for v in check_plan(problem, HandPlan(starts, unplaced or {}, mode))})


BASE = Problem(
    [
        task("a", 5, es=10, le=30, forbidden=(Forbidden(20, 22, "Kirmes"),)),
        task("b", 5, es=0, le=50),
        task("c", 5, es=0, le=50),
        task("f", 3, es=0, le=50, fixed_start=40),
    ],
    conflicts=[Conflict(("b", "c"), "same street")],
    zones=[Zone("z", 1, {"a": 1, "b": 1})],
    precedences=[Precedence("b", "c", min_lag=5, max_lag=10)],
)
VALID = {"a": 10, "b": 20, "c": 26, "f": 40}


def test_valid_plan_has_no_violations():
    assert kinds(BASE, VALID) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"a": 9}, "window"),
        ({"a": 26}, "window"),
        ({"a": 17}, "forbidden"),
        ({"f": 41}, "fixed"),
        ({"c": 21}, "conflict"),
        ({"a": 18}, "zone"),
        ({"c": 35}, "precedence"),  # max lag 10 exceeded
    ],
)
def test_each_violation_kind_is_reported(change, expected):
    assert expected in kinds(BASE, {**VALID, **change})


def test_min_lag_violation():
    # c 4 days after b: both the conflict (b still active) and the min lag of 5 are broken
    assert kinds(BASE, {**VALID, "c": 24}) == ["conflict", "precedence"]
    p = Problem(BASE.tasks, precedences=BASE.precedences)
    assert kinds(p, {**VALID, "c": 24}) == ["precedence"]


def test_unplaced_fixed_task_and_missing_task():
    starts = {k: v for k, v in VALID.items() if k not in ("f", "c")}
    assert kinds(BASE, starts, {"f": "x"}) == ["fixed", "missing"]


def test_makespan_mode_requires_every_task():
    starts = {k: v for k, v in VALID.items() if k != "c"}
    assert kinds(BASE, starts, {"c": "x"}, mode="makespan") == ["unplaced"]
    assert kinds(BASE, starts, {"c": "x"}, mode="placement") == []


def test_intra_bundle_overlap_is_not_a_conflict():
    p = Problem(
        [task("x", 5), task("y", 5)],
        conflicts=[Conflict(("x", "y"))],
        bundles=[Bundle("B", ("x", "y"))],
    )
    assert kinds(p, {"x": 0, "y": 2}) == []
    p.bundles = []
    assert kinds(p, {"x": 0, "y": 2}) == ["conflict"]


def test_zone_sweep_reports_overload_only_where_it_happens():
    p = Problem(
        [task("x", 5), task("y", 5), task("z", 5)],
        zones=[Zone("zone", 2, {"x": 1, "y": 1, "z": 1})],
    )
    assert kinds(p, {"x": 0, "y": 0, "z": 5}) == []
    vs = check_plan(p, HandPlan({"x": 0, "y": 3, "z": 4}))
    assert [v.kind for v in vs] == ["zone"]
    assert set(vs[0].tasks) == {"x", "y", "z"}


def test_unknown_and_duplicate_entries():
    assert "unknown" in kinds(BASE, {**VALID, "ghost": 1})
    assert "duplicate" in kinds(BASE, VALID, {"a": "x"})
