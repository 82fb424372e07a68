"""Small builders shared by the scheduler tests."""

from __future__ import annotations

from service.scheduler import Options, Plan, Problem, Task, check_plan, solve

OPTS = Options(time_limit_s=20, num_workers=2, seed=0)


def task(tid: str, d: int, es: int = 0, le: int = 100, pref: int | None = None, w: int = 1, **kw) -> Task:
    return Task(tid, d, es, le, preferred_start=pref, weight=w, **kw)


def solved(problem: Problem, options: Options = OPTS) -> Plan:
    """Solve and assert the independent checker finds nothing: every test goes through here."""
    plan = solve(problem, options)
    assert check_plan(problem, plan) == [], check_plan(problem, plan)
    return plan
