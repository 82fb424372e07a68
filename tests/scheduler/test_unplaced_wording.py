"""An unplaced task's reason says "blocked by earlier requests" only when the requests that block it in the plan
were submitted before it: a fixed slot (approved, locked) of a later request, or a later request the solver
preferred, blocks it as one of the "other requests"."""

from __future__ import annotations

from service.scheduler.model import Conflict, Options, Problem, Task
from tests.scheduler.helpers import solved, task


def _reason(problem: Problem, explain: bool = True) -> str:
    plan = solved(problem, Options(time_limit_s=10, num_workers=2, seed=0, explain=explain))
    return plan.unplaced["x"].reason


def test_a_fixed_slot_of_an_earlier_request_blocks_as_an_earlier_request():
    problem = Problem([task("x", 10, 0, 10, submitted=2.0), Task("a", 10, 0, 10, fixed_start=0, submitted=1.0)],
                      conflicts=[Conflict(("x", "a"), "space")])
    assert _reason(problem) == "blocked by earlier requests; no start in the window is free of the listed blockers"


def test_a_fixed_slot_of_a_later_request_is_not_an_earlier_request():
    problem = Problem([task("x", 10, 0, 10, submitted=1.0), Task("a", 10, 0, 10, fixed_start=0, submitted=2.0)],
                      conflicts=[Conflict(("x", "a"), "space")])
    assert _reason(problem) == "blocked by other requests; no start in the window is free of the listed blockers"
    assert _reason(problem, explain=False) == "blocked by other requests"


def test_a_later_request_the_solver_placed_instead_is_not_an_earlier_request():
    # FCFS places a (first) and leaves x and c out, blocked by it; the solver places c (more work) and moves a
    # out of the way: x is still unplaced, but now blocked by c, submitted after it
    a = task("a", 5, 0, 20, pref=0, submitted=0.0)
    x = task("x", 10, 0, 10, submitted=1.0)
    c = task("c", 10, 0, 10, w=2, submitted=2.0)
    problem = Problem([a, x, c], conflicts=[Conflict(("x", "a")), Conflict(("x", "c")), Conflict(("a", "c"))])
    plan = solved(problem, Options(time_limit_s=10, num_workers=2, seed=0))
    assert plan.starts == {"a": 10, "c": 0} and plan.unplaced["x"].blocking == ("c",)
    assert plan.unplaced["x"].reason.startswith("blocked by other requests; ")
