"""Explanations for tasks placed away from their preferred start and for unplaced tasks.

Moved task: every candidate start between the preferred and the actual start is blocked by
something; we list what blocks which start days, as
``{"kind": "conflict"|"zone"|"forbidden"|"precedence"|"window", "ref": ..., "days": [a, b)}``
(``days`` are the start days that element rules out, half-open). If nothing blocks them the task
was moved to make room for others and the explanation says so.

Unplaced task: with every other task where the plan put it, the task's own window is kept hard
and every other blocking element (a placed conflicting task, a zone, a forbidden period, a
precedence partner) gets an assumption literal in a tiny CP-SAT model that forces the task to be
present. CP-SAT returns a sufficient set of assumptions (with several workers this may be all of
them), which we shrink to an irreducible set by deletion: an element is dropped whenever the task
still cannot start anywhere without it (checked exactly by interval arithmetic, because everything
else is fixed). With at most ``EXACT_MAX`` elements CP-SAT is skipped and the deletion starts from
all of them: the same problem and plan then always give the same explanation (a CP-SAT core of
several workers varies from run to run, and so would the irreducible set when there are several),
so a plan run again does not rewrite an unplaced request's reason for nothing. Elements are taken in
a fixed order (conflicts, zones, precedences, forbidden periods; each by reference). We also report
the nearest window extensions that would make it fit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from ortools.sat.python import cp_model

from .cpsat import solve_interruptibly
from .greedy import Occupancy, merge
from .model import Intervals, Problem, Stopped, Task, start_domain, subtract

Element = tuple[str, str]  # (kind, ref)

# Up to this many blocking elements the irreducible set is found by deletion from all of them (exact,
# deterministic, well under a millisecond); above it a CP-SAT core comes first.
EXACT_MAX = 64
_KIND_ORDER = {"conflict": 0, "zone": 1, "precedence": 2, "forbidden": 3}


def _ordered(elements: list[Element] | dict[Element, Intervals]) -> list[Element]:
    """Elements in a fixed order: conflicts, zones, precedences, forbidden periods, each by reference."""
    return sorted(elements, key=lambda e: (_KIND_ORDER.get(e[0], 9), e[0], e[1]))


def _days(a: int, b: int) -> list[int]:
    return [a, b + 1]


def _detail(occ: Occupancy, task: Task, kind: str, ref: str, a: int, z: int) -> dict:
    """One blocker: start days ``[a, z]`` of ``task`` ruled out by ``(kind, ref)``. A conflict names the rule it
    comes from (``via``: ``space``, ``diversion``, ``corridor:<id>``, ...); a zone names the placed tasks that
    fill it then (``tasks``)."""
    item: dict = {"kind": kind, "ref": ref, "days": _days(a, z)}
    if kind == "conflict":
        label = occ.conflict_label(task.id, ref)
        if label:
            item["via"] = label
    elif kind == "zone":
        item["tasks"] = [t for t in occ.zone_occupants(ref, a, z + max(task.duration, 1) - 1) if t != task.id]
    return item


def explain_moved(occ: Occupancy, task: Task, start: int) -> dict:
    pref = task.preferred
    lo, hi = (pref, start - 1) if start > pref else (start + 1, pref)
    d = task.duration
    blockers: list[dict] = []
    occ.remove(task.id)
    try:
        for b in occ.blocks(task, lo, hi):
            a, z = max(b.starts[0], lo), min(b.starts[1], hi)
            if a <= z:
                blockers.append(_detail(occ, task, b.kind, b.ref, a, z))
    finally:
        occ.place(task.id, start)
    for i, f in enumerate(task.forbidden):
        a, z = max(f.start - d + 1, lo), min(f.end - 1, hi)
        if d > 0 and a <= z:
            blockers.append({"kind": "forbidden", "ref": f.label or f"forbidden#{i}", "days": _days(a, z)})
    for a, z in subtract([(lo, hi)], [(task.earliest_start, task.latest_end - d)]):
        blockers.append({"kind": "window", "ref": "window", "days": _days(a, z)})
    out: dict = {
        "status": "moved",
        "preferred_start": pref,
        "start": start,
        "deviation": abs(start - pref),
        "blockers": blockers,
    }
    covered = merge((b["days"][0], b["days"][1] - 1) for b in blockers)
    if covered != [(lo, hi)]:
        out["note"] = "some closer starts were free: the task was moved to make room for other requests"
    return out


def _element_ranges(occ: Occupancy, task: Task, lo: int, hi: int) -> dict[Element, Intervals]:
    ranges: dict[Element, list[tuple[int, int]]] = {}
    for b in occ.blocks(task, lo, hi):
        ranges.setdefault((b.kind, b.ref), []).append(b.starts)
    d = task.duration
    for i, f in enumerate(task.forbidden):
        if d > 0 and f.end > f.start:
            ranges.setdefault(("forbidden", f.label or f"forbidden#{i}"), []).append(
                (f.start - d + 1, f.end - 1)
            )
    return {k: merge(v) for k, v in ranges.items()}


def _fits(window: Intervals, ranges: dict[Element, Intervals], keep: list[Element]) -> bool:
    return bool(subtract(window, merge(iv for e in keep for iv in ranges[e])))


def _cpsat_core(
    window: Intervals, ranges: dict[Element, Intervals], workers: int, seed: int, time_limit: float = 5.0,
    stop: threading.Event | None = None,
) -> list[Element]:
    """Sufficient infeasible subset from CP-SAT assumptions ([] if the task actually fits)."""
    model = cp_model.CpModel()
    lo, hi = window[0][0], window[-1][1]
    s = model.new_int_var(lo, hi, "start")
    lits: dict[int, Element] = {}
    assumptions = []
    for k, (e, ivs) in enumerate(ranges.items()):
        allowed = subtract([(lo, hi)], ivs)
        lit = model.new_bool_var(f"a{k}")
        if allowed:
            model.add_linear_expression_in_domain(
                s, cp_model.Domain.from_intervals([list(iv) for iv in allowed])
            ).only_enforce_if(lit)
        else:
            model.add_bool_or([lit.negated()])
        lits[lit.index] = e
        assumptions.append(lit)
    model.add_assumptions(assumptions)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(time_limit, 0.001)
    status = solve_interruptibly(solver, model, stop)
    if status != cp_model.INFEASIBLE:
        return []
    core = [lits[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in lits]
    return core or list(lits.values())


def explain_unplaced(
    occ: Occupancy, task: Task, workers: int = 2, seed: int = 0, deadline: float | None = None,
    stop: threading.Event | None = None,
) -> dict:
    """Why ``task`` cannot be placed (see the module docstring). Past ``deadline`` (``time.perf_counter()``)
    CP-SAT is skipped and the deletion starts from every element: still an irreducible set, found exactly."""
    d = task.duration
    window = (
        [(task.earliest_start, task.latest_end - d)] if task.latest_end - d >= task.earliest_start else []
    )
    out: dict = {"status": "unplaced", "blockers": [], "nearest": {}}
    if not window:
        out["code"] = "window_too_short"
        out["reason"] = "the window is shorter than the duration"
        out["blockers"].append(
            {"kind": "window", "ref": "window", "days": [task.earliest_start, task.latest_end]}
        )
    else:
        lo, hi = window[0]
        ranges = _element_ranges(occ, task, lo, hi)
        if _fits(window, ranges, list(ranges)):
            free = subtract(window, merge(iv for v in ranges.values() for iv in v))
            out["code"], out["free_from"] = "left_out", free[0][0]
            out["reason"] = (
                f"could start on day {free[0][0]}, but was left out to make room for other requests"
            )
        else:
            left = 5.0 if deadline is None else min(5.0, deadline - time.perf_counter())
            every = _ordered(ranges)
            core = (_cpsat_core(window, ranges, workers, seed, left, stop) if left > 0.01 and len(every) > EXACT_MAX
                    else every)
            if _fits(window, ranges, core):  # defensive: never trust a core we cannot confirm
                core = every
            minimal = _ordered(core)
            for e in list(core):
                trial = [x for x in minimal if x != e]
                if not _fits(window, ranges, trial):
                    minimal = trial
            out["code"] = "blocked"
            out["reason"] = "no start in the window is free of the listed blockers"
            for kind, ref in minimal:
                for a, z in ranges[(kind, ref)]:
                    a, z = max(a, lo), min(z, hi)
                    if a <= z:
                        if kind == "forbidden":
                            out["blockers"].append({"kind": kind, "ref": ref, "days": _days(a, z)})
                        else:
                            out["blockers"].append(_detail(occ, task, kind, ref, a, z))
    # nearest feasible windows: everything else as is, window relaxed to the whole horizon
    big = max(occ.horizon, task.latest_end) + max(d, 1) * 2
    relaxed = replace(task, earliest_start=0, latest_end=big, fixed_start=None)
    free = occ.free_starts(relaxed, start_domain(relaxed))
    later = [max(a, task.latest_end - d + 1) for a, b in free if b >= task.latest_end - d + 1]
    earlier = [min(b, task.earliest_start - 1) for a, b in free if a <= task.earliest_start - 1]
    if later:
        out["nearest"]["extend_latest_end_to"] = min(later) + d
    if earlier:
        out["nearest"]["extend_earliest_start_to"] = max(earlier)
    return out


def explain_plan(
    problem: Problem, starts: dict[str, int], unplaced: list[str], workers: int = 2, seed: int = 0,
    deadline: float | None = None, stop: threading.Event | None = None,
) -> dict[str, dict]:
    """Explanations for every moved or unplaced task, keyed by task id. CP-SAT cores are only computed before
    ``deadline`` (``time.perf_counter()``); after it the exact interval-arithmetic deletion does it alone. ``stop``
    set: :class:`Stopped` is raised."""
    occ = Occupancy(problem, zones_all=True)
    for tid, s in starts.items():
        occ.place(tid, s)
    tasks = occ.tasks
    out: dict[str, dict] = {}
    for tid, s in starts.items():
        t = tasks[tid]
        if t.fixed_start is None and s != t.preferred:
            out[tid] = explain_moved(occ, t, s)
    for tid in unplaced:
        if stop is not None and stop.is_set():
            raise Stopped("stopped while explaining the plan")
        out[tid] = explain_unplaced(occ, tasks[tid], workers, seed, deadline, stop)
    return out
