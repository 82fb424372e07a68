"""The stability tie-break: among equally good plans the current starts (``Task.current_start``) are kept."""

from __future__ import annotations

import pytest

from service.scheduler import Conflict, Forbidden, Options, Problem, Zone, fcfs, solve
from service.scheduler.greedy import keep_current
from service.scheduler.model import moves
from tests.scheduler.helpers import solved, task


def _clique(current: dict[str, int] | None, reverse: bool = False) -> Problem:
    """Three interchangeable 10-day tasks that must not overlap, all wanting day 0: every order is optimal
    (deviation 0 + 10 + 20)."""
    tasks = [task(x, 10, 0, 60, 0, submitted=float(k), current_start=(current or {}).get(x))
             for k, x in enumerate("ABC")]
    return Problem(tasks[::-1] if reverse else tasks, conflicts=[Conflict(("A", "B", "C"), "space")])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("reverse", [False, True])
def test_interchangeable_tasks_keep_their_current_starts(seed: int, reverse: bool) -> None:
    # the current starts are the reverse of first-come-first-served (which would put A first)
    current = {"C": 0, "B": 10, "A": 20}
    plan = solved(_clique(current, reverse), Options(time_limit_s=10, num_workers=2, seed=seed))
    assert plan.starts == current
    assert plan.objective.weighted_deviation == 30 and plan.objective.unplaced_work == 0
    # the yardstick stays first-come-first-served
    assert plan.fcfs is not None and plan.fcfs.starts == {"A": 0, "B": 10, "C": 20}


def test_two_interchangeable_tasks_in_a_zone_keep_their_current_starts() -> None:
    # a zone of capacity 1 (not a conflict) makes them interchangeable too
    for current in ({"A": 0, "B": 10}, {"A": 10, "B": 0}):
        tasks = [task(x, 10, 0, 40, 0, submitted=float(k), current_start=current[x]) for k, x in enumerate("AB")]
        plan = solved(Problem(tasks, zones=[Zone("z", 1, {"A": 1, "B": 1})]))
        assert plan.starts == current


def test_the_tie_break_never_worsens_the_objective() -> None:
    # A's current start (day 30) leaves a gap: keeping it would cost deviation, so A moves
    plan = solved(_clique({"A": 30, "B": 10, "C": 0}))
    assert plan.objective.weighted_deviation == 30
    assert plan.starts["A"] == 20 and plan.starts["B"] == 10 and plan.starts["C"] == 0
    # a current start that would leave a task out is not kept either: placing more work comes first
    tasks = [task("A", 10, 0, 20, 0, current_start=5), task("B", 10, 0, 20, 0, w=1, current_start=None)]
    plan = solved(Problem(tasks, conflicts=[Conflict(("A", "B"))]))
    assert set(plan.starts) == {"A", "B"} and plan.starts["A"] != 5


def test_a_lone_task_keeps_its_current_start_between_equally_close_starts() -> None:
    # day 10 is forbidden: days 8 and 12 are equally close to it; the greedy takes the earlier one
    lone = task("A", 1, 0, 30, 10, forbidden=(Forbidden(9, 12, "fest"),))
    assert solved(Problem([lone])).starts == {"A": 8}
    kept = task("A", 1, 0, 30, 10, forbidden=(Forbidden(9, 12, "fest"),), current_start=12)
    assert solved(Problem([kept])).starts == {"A": 12}


def test_keep_current_greedy_and_moves() -> None:
    problem = _clique({"C": 0, "B": 10, "A": 20})
    kept = keep_current(problem)
    assert kept is not None and kept.starts == {"C": 0, "B": 10, "A": 20}
    assert moves(problem, kept.starts) == 0 and moves(problem, fcfs(problem).starts) == 2
    # without current starts there is nothing to keep (and the solver runs exactly as before)
    assert keep_current(_clique(None)) is None
    # a current start no longer free (a fixed task took it) is given up; the task goes as FCFS places it
    fixed = task("F", 10, 0, 60, fixed_start=0)
    blocked = Problem([fixed, task("A", 10, 0, 60, 0, current_start=5)], conflicts=[Conflict(("A", "F"))])
    assert keep_current(blocked).starts == {"F": 0, "A": 10}
    assert solve(blocked, Options(time_limit_s=5)).starts == {"F": 0, "A": 10}


def test_an_unplaced_task_is_explained_the_same_way_every_time() -> None:
    # x fits nowhere: each of the fixed sites a, b, c alone blocks its whole window, so {a}, {b} and {c} are all
    # irreducible; the explanation names the same one whatever the seed and the input order
    named = set()
    for seed in range(6):
        for order in (list("abc"), list("cba"), list("bca")):
            fixed = [task(t, 30, fixed_start=0) for t in order]
            problem = Problem([*fixed, task("x", 4, 0, 14, 0)], conflicts=[Conflict((t, "x")) for t in order])
            plan = solved(problem, Options(time_limit_s=5, num_workers=2, seed=seed))
            named.add(tuple(b["ref"] for b in plan.explanations["x"]["blockers"]))
    assert named == {("c",)}
