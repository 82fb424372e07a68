"""Property: on random small problems the plan is valid and never worse than FCFS."""

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.scheduler import (
    Bundle,
    Conflict,
    Forbidden,
    Options,
    Precedence,
    Problem,
    Task,
    Zone,
    check_plan,
    solve,
)


@st.composite
def problems(draw) -> Problem:
    n = draw(st.integers(1, 8))
    tasks = []
    for i in range(n):
        d = draw(st.integers(1, 6))
        es = draw(st.integers(0, 10))
        le = es + d + draw(st.integers(-1, 12))
        fixed = draw(st.none() | st.integers(0, 15)) if draw(st.integers(0, 5)) == 0 else None
        forb = ()
        if draw(st.booleans()):
            a = draw(st.integers(0, 20))
            forb = (Forbidden(a, a + draw(st.integers(1, 4)), "blackout"),)
        tasks.append(
            Task(
                f"t{i}",
                d,
                es,
                le,
                preferred_start=draw(st.integers(0, 20)),
                weight=draw(st.integers(0, 5)),
                submitted=draw(st.integers(0, 3)),
                fixed_start=fixed,
                forbidden=forb,
            )
        )
    ids = [t.id for t in tasks]
    pair = st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True) if n >= 2 else st.nothing()
    conflicts = [Conflict(tuple(c)) for c in draw(st.lists(pair, max_size=6))] if n >= 2 else []
    zones = []
    if draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        zones.append(Zone("z", draw(st.integers(0, 3)), {m: draw(st.integers(1, 2)) for m in members}))
    precs = []
    if n >= 2 and draw(st.booleans()):
        a, b = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
        lo = draw(st.integers(-3, 6))
        precs.append(Precedence(a, b, lo, draw(st.none() | st.integers(lo, lo + 8))))
    bundles = []
    if n >= 2 and draw(st.booleans()):
        bundles.append(
            Bundle("b", tuple(draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True))))
        )
    # fixed tasks are approved slots: keep them mutually compatible, as the service guarantees
    fixed = [t for t in tasks if t.fixed_start is not None]
    clash = any(
        set((x.id, y.id)) <= set(c.tasks)
        and x.fixed_start < y.fixed_start + y.duration
        and y.fixed_start < x.fixed_start + x.duration
        for c in conflicts
        for x in fixed
        for y in fixed
        if x.id < y.id
    )
    if clash or zones or precs:
        tasks = [Task(**{**t.__dict__, "fixed_start": None}) for t in tasks]
    return Problem(tasks, conflicts, zones, precs, bundles)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plan_is_valid_and_never_worse_than_fcfs(problem):
    plan = solve(problem, Options(time_limit_s=10, num_workers=2, seed=0))
    assert check_plan(problem, plan) == []
    assert plan.objective.lex_key() <= plan.fcfs.objective.lex_key()
    assert plan.lower_bound is not None and plan.lower_bound <= plan.objective.unplaced_work
    for tid in plan.unplaced:
        assert tid in plan.explanations
    if plan.status == "optimal":  # a task worth nothing stays out only if no start is free for it
        tasks = problem.task_map()
        for tid in (x for x in plan.unplaced if tasks[x].work == 0):
            t = tasks[tid]
            for s in range(t.earliest_start, t.latest_end - t.duration + 1):
                rest = {k: v for k, v in plan.unplaced.items() if k != tid}
                trial = dataclasses.replace(plan, starts={**plan.starts, tid: s}, unplaced=rest)
                assert check_plan(problem, trial) != [], (tid, s)
