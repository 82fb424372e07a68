"""Top-level ``solve(problem, options, progress=None) -> Plan``.

1. Run the first-come-first-served greedy on the whole problem (baseline, hint and fallback).
2. Split into independent components. A component of one task, or one where the greedy already
   places every task on its preferred start and there are no bundles, is optimal as it stands.
3. Every other component goes to CP-SAT (smallest first). Each gets a share of the remaining time
   proportional to its size, but at least min(1 s, 5 % of what remains), so small components get
   enough time to prove optimality and the time they leave over flows to the larger ones.
4. Per component the CP-SAT plan is kept only if its lexicographic objective is at least as good
   as the greedy plan's for that component; otherwise (or when CP-SAT found nothing in time) the
   greedy plan is kept. Components are independent, so the united plan is never worse than FCFS.
5. Stability: when tasks carry a ``current_start``, the ``keep_current`` greedy (the plan as it stands,
   completed) is CP-SAT's second hint, and its last level keeps as many of them where they are as the
   levels above allow. Where the greedy plan stands (trivial components, fallback), the ``keep_current``
   plan replaces it when its objective is as good and it moves fewer of them. ``Plan.fcfs`` stays FCFS.
6. ``Options.stop`` set (by another thread) stops the solve within about 50 ms: it raises ``Stopped``, no plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from .components import restrict, split_components
from .cpsat import solve_component
from .explain import explain_plan
from .greedy import BLOCKED_EARLIER, fcfs, keep_current
from .model import (
    ComponentStats,
    FcfsSummary,
    Options,
    Plan,
    Problem,
    Stopped,
    Unplaced,
    evaluate,
    moves,
)

Progress = Callable[[int, int], None]
# The greedy's reason for a task it could not place (``BLOCKED_EARLIER``) describes the FCFS plan (fixed tasks first,
# whenever they were submitted): it is kept for the plan only when the blockers the explanation found there were all
# submitted before the task, else it becomes the neutral one.
BLOCKED_OTHER = "blocked by other requests"
_RANK = {"optimal": 0, "feasible": 1, "fallback_greedy": 2, "infeasible": 3}


def solve(problem: Problem, options: Options | None = None, progress: Progress | None = None) -> Plan:
    """Assign start days (see the module docstring); ``progress(done, total)`` per component."""
    options = options or Options()
    t0 = time.perf_counter()
    # the whole call stays within time_limit_s: part of it is kept for the explanations
    explaining = options.explain and options.objective == "placement"
    deadline = t0 + options.time_limit_s * (0.85 if explaining else 0.97)
    problem.validate()
    mode = options.objective
    tasks = problem.task_map()
    greedy = fcfs(problem, mode)
    kept = keep_current(problem) if mode == "placement" else None
    g_parts = evaluate(problem, greedy.starts)
    comps = split_components(problem)
    starts: dict[str, int] = {}
    reasons: dict[str, Unplaced] = {}
    stats: list[ComponentStats] = []
    bound_total = 0
    makespan_bound = 0
    hard = [c for c in comps if not _trivially_optimal(problem, c, greedy.starts, tasks, mode)]
    hard_ids = {id(c) for c in hard}
    size_left = sum(len(c) for c in hard)
    for k, comp in enumerate(comps):
        if options.stop is not None and options.stop.is_set():
            raise Stopped("the solve was stopped")
        c0 = time.perf_counter()
        bound_before = bound_total
        g = {x: greedy.starts[x] for x in comp if x in greedy.starts}
        stable = {x: kept.starts[x] for x in comp if x in kept.starts} if kept is not None else None
        chosen, status = _steadier(problem, tasks, comp, g, stable), "optimal"
        if mode == "makespan" and len(g) < len(comp):
            status = "infeasible"  # a lone task with an empty start domain
        if id(comp) in hard_ids:
            remaining = max(deadline - c0, 0.0)
            budget = min(remaining, max(remaining * len(comp) / size_left, min(1.0, 0.05 * remaining)))
            size_left -= len(comp)
            sub = restrict(problem, comp)
            res = solve_component(sub, mode, g, budget, options.num_workers, options.seed + k, stable, options.stop)
            if res.status == "infeasible":
                status = "infeasible"
                chosen = g
            elif res.starts is None:
                status = "fallback_greedy"
            else:
                cp_key = evaluate(sub, res.starts).lex_key(mode)
                g_key = evaluate(sub, g).lex_key(mode)
                if cp_key <= g_key:
                    chosen, status = _steadier(problem, tasks, comp, res.starts, stable), res.status
                else:
                    status = "fallback_greedy"
            if mode == "placement":
                sub_work = sum(tasks[x].work for x in comp if tasks[x].fixed_start is None)
                lb = res.bound if res.bound is not None and status != "infeasible" else 0
                bound_total += min(lb, sub_work)
            elif res.bound is not None:
                makespan_bound = max(makespan_bound, res.bound)
        else:
            bound_total += sum(tasks[x].work for x in comp if x not in g)
            makespan_bound = max([makespan_bound] + [g[x] + tasks[x].duration for x in g])
        starts.update(chosen)
        for x in comp:
            if x not in chosen:
                reasons[x] = greedy.unplaced.get(x) or Unplaced(
                    "left out to make room for more valuable work"
                )
                if status == "infeasible":
                    reasons[x] = Unplaced("component proven infeasible")
        stats.append(ComponentStats(len(comp), time.perf_counter() - c0, status, tuple(comp),  # type: ignore
                                    bound_total - bound_before))
        if progress is not None:
            progress(k + 1, len(comps))
    parts = evaluate(problem, starts)
    worst = max((s.status for s in stats), key=lambda s: _RANK[s], default="optimal")
    if mode == "makespan" and worst != "infeasible" and not reasons:
        lower, upper = makespan_bound, parts.makespan
    elif mode == "makespan":
        lower, upper = None, None
    else:
        lower, upper = bound_total, parts.unplaced_work
    plan = Plan(
        mode=mode,
        starts=dict(sorted(starts.items())),
        unplaced=dict(sorted(reasons.items())),
        objective=parts,
        status=worst,  # type: ignore[arg-type]
        lower_bound=lower,
        upper_bound=upper,
        stats=stats,
        fcfs=FcfsSummary(g_parts, len(greedy.unplaced), dict(greedy.starts)),
    )
    if options.explain and mode == "placement":
        plan.explanations = explain_plan(
            problem, plan.starts, list(plan.unplaced), options.num_workers, options.seed,
            deadline=t0 + options.time_limit_s * 0.97, stop=options.stop,
        )
        for tid, ex in plan.explanations.items():
            if tid in plan.unplaced:
                refs = tuple(dict.fromkeys(str(r) for b in ex["blockers"] for r in [b["ref"], *b.get("tasks", ())]))
                reason = plan.unplaced[tid].reason
                if reason == BLOCKED_EARLIER and not _blocked_by_earlier(tasks, tid, ex["blockers"]):
                    reason = BLOCKED_OTHER
                plan.unplaced[tid] = Unplaced(f"{reason}; {ex['reason']}", refs)
    else:  # nothing checked who blocks it in this plan
        for tid, why in plan.unplaced.items():
            if why.reason == BLOCKED_EARLIER:
                plan.unplaced[tid] = replace(why, reason=BLOCKED_OTHER)
    plan.wall_time_s = time.perf_counter() - t0
    return plan


def resolve(problem: Problem, plan: Plan, ids: Iterable[str], options: Options | None = None) -> Plan:
    """``plan`` (of ``problem`` in placement mode, as ``solve`` returned it) after some tasks ``ids`` changed in
    ``problem`` (a wider window: a counter-proposal given up): only the components that hold them are solved again,
    in a share of ``options.time_limit_s`` as large as theirs of the tasks (at least 1 s); the other components
    keep their starts, statistics, bounds and explanations. The result is a plan of the whole ``problem``, its
    FCFS comparison too."""
    options = options or Options()
    t0 = time.perf_counter()
    want = set(ids)
    again = sorted({x for comp in split_components(problem) if want & set(comp) for x in comp})
    if not again:
        return plan
    share = len(again) / max(len(problem.tasks), 1)
    limit = min(options.time_limit_s, max(1.0, options.time_limit_s * share))
    part = solve(restrict(problem, again), replace(options, time_limit_s=limit))
    redone = set(again)

    def kept(values: dict) -> dict:
        return {k: v for k, v in values.items() if k not in redone}

    starts = {**kept(plan.starts), **part.starts}
    reasons = {**kept(plan.unplaced), **part.unplaced}
    stats = [s for s in plan.stats if not redone & set(s.tasks)] + part.stats
    parts = evaluate(problem, starts)
    fcfs_plan = plan.fcfs
    if fcfs_plan is not None and part.fcfs is not None:
        fcfs_starts = {**kept(fcfs_plan.starts), **part.fcfs.starts}
        fcfs_plan = FcfsSummary(evaluate(problem, fcfs_starts),
                                sum(1 for t in problem.tasks if t.id not in fcfs_starts), fcfs_starts)
    return Plan(
        mode=plan.mode,
        starts=dict(sorted(starts.items())),
        unplaced=dict(sorted(reasons.items())),
        objective=parts,
        status=max((s.status for s in stats), key=lambda s: _RANK[s], default="optimal"),  # type: ignore[arg-type]
        lower_bound=sum(s.bound for s in stats),
        upper_bound=parts.unplaced_work,
        stats=stats,
        fcfs=fcfs_plan,
        explanations={**kept(plan.explanations), **part.explanations},
        wall_time_s=plan.wall_time_s + (time.perf_counter() - t0),
    )


def _blocked_by_earlier(tasks: dict, tid: str, blockers: list[dict]) -> bool:
    """Whether the tasks among an unplaced task's ``blockers`` (conflict and precedence partners, zone occupants)
    are some and all submitted before it."""
    others = [r for b in blockers if b["kind"] in ("conflict", "precedence", "zone")
              for r in ([b["ref"]] if b["kind"] != "zone" else b.get("tasks") or []) if r in tasks]
    return bool(others) and all(tasks[r].submitted < tasks[tid].submitted for r in others)


def _steadier(problem: Problem, tasks: dict, comp: list[str], starts: dict[str, int],
              other: dict[str, int] | None) -> dict[str, int]:
    """``other`` (the ``keep_current`` plan of the component) instead of ``starts`` when its objective is as good
    and it moves fewer tasks away from their current starts; else ``starts``."""
    if other is None or other == starts:
        return starts
    members = set(comp)
    part = Problem([tasks[x] for x in comp], bundles=[b for b in problem.bundles if b.tasks and b.tasks[0] in members])
    a, b = evaluate(part, starts), evaluate(part, other)
    if (b.lex_key(), moves(part, other)) < (a.lex_key(), moves(part, starts)):
        return other
    return starts


def _trivially_optimal(problem: Problem, comp: list[str], g: dict[str, int], tasks: dict, mode: str) -> bool:
    """One task (the greedy takes its best start), or everything placed on its preferred start."""
    if len(comp) == 1:
        return True
    if mode == "makespan" or sum(tasks[x].fixed_start is not None for x in comp) >= 2:
        return False
    if any(x not in g or g[x] != tasks[x].preferred for x in comp if tasks[x].fixed_start is None):
        return False
    members = set(comp)
    return not any(b.tasks and b.tasks[0] in members for b in problem.bundles)
