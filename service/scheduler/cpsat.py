"""CP-SAT model of one component.

Variables: per task a start variable whose domain is the window minus the forbidden-period holes
(``Domain.from_intervals``), a presence literal ("placed"; fixed to true for fixed tasks and in
makespan mode) and an optional fixed-size interval. Conflicts become one NoOverlap per clique of a
greedy clique cover, zones become Cumulative constraints, precedences become linear constraints
enforced only when both tasks are present.

Placement mode is lexicographic, solved sequentially: (1) maximise the placed weighted work
sum(weight * duration * placed), ties broken by the number of placed tasks worth nothing (weight or
duration 0: a task that fits is placed even if it counts for nothing); (2) fix that value as a
constraint and minimise the weighted deviation sum(weight * |start - preferred|); (3) fix that too
and minimise the bundle spans; (4) when tasks have a ``current_start``, fix that too and minimise the
number of them not kept there (stability: of equally good plans, the one as it stands). Each level is
hinted with the previous solution (the first with the greedy plan), or with the ``keep_current``
greedy plan when that meets the bounds fixed so far and is better on the levels left. A level whose
hint already meets a trivial bound (e.g. everything placed, zero deviation, nothing moved) is skipped
as proven.
Makespan mode: every task is present, minimise the latest end. Pairs of tasks that together need
more of a zone than it has also get a NoOverlap per clique (a redundant disjunctive constraint
that makes the optimality proofs of project-scheduling instances much faster). Placement mode
leaves it out: the service's adapter already turns corridors of capacity 1 into conflict cliques,
and the road-works benchmark's time budget has not been measured with the extra constraints.

Every CP-SAT solve of the scheduler goes through :func:`solve_interruptibly`, so that Ctrl-C stops the whole
run with ``KeyboardInterrupt`` instead of only cutting the current solve short, and ``Options.stop`` (a worker
shutting down) stops it with :class:`Stopped`.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .components import clique_cover, conflict_edges
from .model import ObjectiveMode, Problem, Stopped, Zone, start_domain

SUBSOLVERS: list[str] = ["max_lp", "objective_shaving"]


@dataclass
class CpResult:
    starts: dict[str, int] | None  # None: no solution found (or infeasible)
    status: str  # optimal | feasible | infeasible | unknown
    bound: int | None  # proven lower bound on unplaced work (placement) or makespan
    wall_time_s: float
    levels: int = 0  # CP-SAT solves actually run


class ComponentModel:
    def __init__(self, problem: Problem, mode: ObjectiveMode) -> None:
        self.problem = problem
        self.mode = mode
        self.model = cp_model.CpModel()
        m = self.model
        self.start: dict[str, cp_model.IntVar] = {}
        self.present: dict[str, cp_model.IntVar | int] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self.bounds: dict[str, tuple[int, int]] = {}  # start bounds (proto repeated fields lack [-1])
        self.infeasible = False
        self.total_work = 0
        tasks = problem.task_map()
        horizon = max((t.latest_end for t in problem.tasks), default=0)
        for t in problem.tasks:
            if t.fixed_start is not None:
                s = m.new_int_var(t.fixed_start, t.fixed_start, f"s_{t.id}")
                self.bounds[t.id] = (t.fixed_start, t.fixed_start)
                p: cp_model.IntVar | int = 1
                horizon = max(horizon, t.fixed_start + t.duration)
            else:
                dom = start_domain(t)
                if not dom:
                    if mode == "makespan":
                        self.infeasible = True
                    continue
                self.bounds[t.id] = (dom[0][0], dom[-1][1])
                s = m.new_int_var_from_domain(
                    cp_model.Domain.from_intervals([list(iv) for iv in dom]), f"s_{t.id}"
                )
                p = 1 if mode == "makespan" else m.new_bool_var(f"p_{t.id}")
            self.total_work += t.work
            self.start[t.id] = s
            self.present[t.id] = p
            if t.duration > 0:
                if isinstance(p, int):
                    self.interval[t.id] = m.new_fixed_size_interval_var(s, t.duration, f"i_{t.id}")
                else:
                    self.interval[t.id] = m.new_optional_fixed_size_interval_var(
                        s, t.duration, p, f"i_{t.id}"
                    )
        self.horizon = horizon
        for clique in clique_cover(conflict_edges(problem)):
            ivs = [self.interval[x] for x in clique if x in self.interval]
            if len(ivs) >= 2:
                m.add_no_overlap(ivs)
        for z in problem.zones:
            users = [(x, q) for x, q in z.demands.items() if x in self.interval and q > 0]
            for x, q in users:
                if q > z.capacity:
                    self._forbid(x)
            users = [(x, q) for x, q in users if q <= z.capacity]
            if sum(q for _, q in users) > z.capacity:
                m.add_cumulative([self.interval[x] for x, _ in users], [q for _, q in users], z.capacity)
        if mode == "makespan":
            for clique in clique_cover(incompatible_pairs(problem.zones, self.interval)):
                m.add_no_overlap([self.interval[x] for x in clique])
        for pr in problem.precedences:
            if pr.before not in self.start or pr.after not in self.start:
                continue
            lits = [
                lit for lit in (self.present[pr.before], self.present[pr.after]) if not isinstance(lit, int)
            ]
            sa, sb = self.start[pr.after], self.start[pr.before]
            c = m.add(sa >= sb + pr.min_lag)
            if lits:
                c.only_enforce_if(lits)
            if pr.max_lag is not None:
                c = m.add(sa <= sb + pr.max_lag)
                if lits:
                    c.only_enforce_if(lits)
        self.tasks = tasks
        self.kept: dict[str, int] = {}  # task -> current start, for tasks that could stay there
        self.stay: dict[str, cp_model.IntVar] = {}
        # tasks whose placement adds no work: counted separately so that level (1) still places them
        self.worthless = [x for x, p in self.present.items() if not isinstance(p, int) and tasks[x].work == 0]
        self.work_scale = len(self.worthless) + 1

    def _forbid(self, tid: str) -> None:
        p = self.present[tid]
        if isinstance(p, int):
            self.infeasible = True
        else:
            self.model.add(p == 0)

    # -- objective pieces --------------------------------------------------------------------
    def placed_work(self) -> cp_model.LinearExpr:
        """work_scale * placed work + placed worthless tasks (fewer than work_scale: work comes first)."""
        work = sum(self.tasks[x].work * p for x, p in self.present.items())
        return self.work_scale * work + sum(self.present[x] for x in self.worthless)  # type: ignore[return-value]

    def placed_work_value(self, starts: dict[str, int]) -> int:
        """``placed_work`` of a solution given as starts."""
        work = sum(self.tasks[x].work for x in starts if x in self.present)
        return self.work_scale * work + sum(x in starts for x in self.worthless)

    def deviation(self) -> tuple[cp_model.LinearExpr, dict[str, cp_model.IntVar]]:
        devs: dict[str, cp_model.IntVar] = {}
        for x, s in self.start.items():
            t = self.tasks[x]
            if t.weight == 0:
                continue
            pref = t.preferred
            lo, hi = self.bounds[x]
            ub = max(abs(lo - pref), abs(hi - pref))
            if ub == 0:
                continue
            d = self.model.new_int_var(0, ub, f"dev_{x}")
            p = self.present[x]
            c1 = self.model.add(d >= s - pref)
            c2 = self.model.add(d >= pref - s)
            if not isinstance(p, int):
                c1.only_enforce_if(p)
                c2.only_enforce_if(p)
            devs[x] = d
        return sum(t.weight * d for t, d in ((self.tasks[x], d) for x, d in devs.items())), devs  # type: ignore

    def bundle_span(self) -> cp_model.LinearExpr | None:
        terms = []
        for b in self.problem.bundles:
            members = [x for x in dict.fromkeys(b.tasks) if x in self.start]
            if not members:
                continue
            lo = self.model.new_int_var(0, self.horizon, f"blo_{b.id}")
            hi = self.model.new_int_var(0, self.horizon, f"bhi_{b.id}")
            self.model.add(hi >= lo)
            for x in members:
                p = self.present[x]
                c1 = self.model.add(lo <= self.start[x])
                c2 = self.model.add(hi >= self.start[x] + self.tasks[x].duration)
                if not isinstance(p, int):
                    c1.only_enforce_if(p)
                    c2.only_enforce_if(p)
            terms.append(hi - lo)
        return sum(terms) if terms else None  # type: ignore[return-value]

    def moves(self) -> cp_model.LinearExpr | None:
        """Number of tasks with a feasible ``current_start`` that are not placed there (stability level)."""
        for x, s in self.start.items():
            t = self.tasks[x]
            c = t.current_start
            if c is None or t.fixed_start is not None or not any(lo <= c <= hi for lo, hi in start_domain(t)):
                continue
            stay = self.model.new_bool_var(f"stay_{x}")
            self.model.add(s == c).only_enforce_if(stay)
            p = self.present[x]
            if not isinstance(p, int):
                self.model.add_implication(stay, p)
            self.kept[x] = c
            self.stay[x] = stay
        if not self.stay:
            return None
        return len(self.stay) - sum(self.stay.values())  # type: ignore[return-value]

    def makespan(self) -> cp_model.IntVar:
        mk = self.model.new_int_var(0, self.horizon, "makespan")
        for x, s in self.start.items():
            self.model.add(mk >= s + self.tasks[x].duration)
        return mk

    # -- solving -----------------------------------------------------------------------------
    def hint(self, starts: dict[str, int]) -> None:
        self.model.clear_hints()
        for x, s in self.start.items():
            p = self.present[x]
            if x in starts:
                self.model.add_hint(s, starts[x])
                if not isinstance(p, int):
                    self.model.add_hint(p, True)
            elif not isinstance(p, int):
                self.model.add_hint(p, False)
                self.model.add_hint(s, self.bounds[x][0])
        for x, stay in self.stay.items():
            self.model.add_hint(stay, starts.get(x) == self.kept[x])

    def run(self, time_limit: float, workers: int, seed: int,
            stop: threading.Event | None = None) -> tuple[int, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
        if self.mode == "placement" and SUBSOLVERS:
            # earliness/tardiness bounds are weak in the default 2-worker portfolio; an LP worker
            # plus objective shaving proves small components optimal much faster
            solver.parameters.subsolvers.extend(SUBSOLVERS)
        status = solve_interruptibly(solver, self.model, stop)
        return status, solver

    def extract(self, solver: cp_model.CpSolver) -> dict[str, int]:
        out = {}
        for x, s in self.start.items():
            p = self.present[x]
            if isinstance(p, int) or solver.boolean_value(p):
                out[x] = solver.value(s)
        return out


def solve_interruptibly(solver: cp_model.CpSolver, model: cp_model.CpModel,
                        stop: threading.Event | None = None) -> int:
    """``solver.solve(model)``, but Ctrl-C raises ``KeyboardInterrupt`` at once, and ``stop`` (set by another
    thread) raises :class:`Stopped` within about 50 ms.

    CP-SAT catches SIGINT by default (``catch_sigint_signal``) and only ends the current solve early, as if its
    time limit had been reached: the caller would carry on and finish the run. With that switched off, Python's
    own handler would run only once the solve returns, i.e. after its whole time limit. So in the main thread
    (the only one that receives ``KeyboardInterrupt``), and wherever a ``stop`` event is given, the solve runs in
    a helper thread while the calling thread waits; an interrupt or the event stops the search
    (``CpSolver.stop_search``) and is raised as soon as the helper has ended."""
    solver.parameters.catch_sigint_signal = False
    if stop is None and threading.current_thread() is not threading.main_thread():
        return solver.solve(model)
    if stop is not None and stop.is_set():
        raise Stopped("stopped before the CP-SAT search began")
    outcome: dict[str, object] = {}
    # the helper says it has ended with an event, not Thread.is_alive: a KeyboardInterrupt that lands in
    # Thread.join marks the thread as ended while it still runs (CPython), and the search would go on unstopped
    done = threading.Event()

    def work() -> None:
        try:
            outcome["status"] = solver.solve(model)
        except BaseException as exc:  # noqa: BLE001 - handed on to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    helper = threading.Thread(target=work, name="cp-sat", daemon=True)
    try:
        helper.start()
        while not done.wait(0.05):  # a timeout: a signal taken by another thread (or the event) is seen in 50 ms
            if stop is not None and stop.is_set():
                raise Stopped("the CP-SAT search was stopped")
    except BaseException:
        while helper.ident is not None and not done.is_set():  # stop_search before the solve began is lost: repeat
            solver.stop_search()
            done.wait(0.05)
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["status"]  # type: ignore[return-value]


def incompatible_pairs(zones: Iterable[Zone], intervals: dict) -> set[tuple[str, str]]:
    """Task pairs (a < b) whose demands on one zone together exceed its capacity.

    Such a pair can never overlap, so a NoOverlap over a clique of them is a redundant constraint.
    Its disjunctive propagation (edge finding, precedences between the pair) is much stronger than
    the Cumulative's time-table alone: on all 480 PSPLIB J30 instances (2 workers, 10 s) it cut the
    unproven optima from 14 to 6 and the runs over one second from 30 to 14.
    """
    edges: set[tuple[str, str]] = set()
    for z in zones:
        users = sorted((q, x) for x, q in z.demands.items() if x in intervals and 0 < q <= z.capacity)
        qs = [q for q, _ in users]
        for i, (qa, a) in enumerate(users):
            # users are sorted by demand: every later one with q > capacity - qa clashes with a
            j = bisect_right(qs, z.capacity - qa, lo=i + 1)
            for _, b in users[j:]:
                edges.add((min(a, b), max(a, b)))
    return edges


def proven_bound(value: float) -> int:
    """The integer lower bound CP-SAT proved for an integer objective. It reports the bound as a float that
    can sit a rounding error off the integer (-6.999999999999999 for -7): ``int()`` would truncate that to
    -6, a bound above the optimum, and ``round()`` could lift a genuine -6.5 to -6."""
    return math.ceil(value - 1e-6)


def solve_component(
    problem: Problem,
    mode: ObjectiveMode,
    hint: dict[str, int],
    time_limit: float,
    workers: int,
    seed: int,
    stable: dict[str, int] | None = None,
    stop: threading.Event | None = None,
) -> CpResult:
    """Solve one component with CP-SAT within ``time_limit`` seconds (see module docstring). ``stable`` is a
    second feasible plan (the ``keep_current`` greedy's) offered as hint where it is better than ``hint``."""
    t0 = time.perf_counter()
    cm = ComponentModel(problem, mode)
    if cm.infeasible:
        return CpResult(None, "infeasible", None, time.perf_counter() - t0)
    deadline = t0 + time_limit
    if mode == "makespan":
        mk = cm.makespan()
        cm.model.minimize(mk)
        if all(x in hint for x in cm.start):
            cm.hint(hint)
        status, solver = cm.run(deadline - time.perf_counter(), workers, seed, stop)
        wall = time.perf_counter() - t0
        if status == cp_model.INFEASIBLE:
            return CpResult(None, "infeasible", None, wall, 1)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return CpResult(None, "unknown", None, wall, 1)
        st = "optimal" if status == cp_model.OPTIMAL else "feasible"
        return CpResult(cm.extract(solver), st, proven_bound(solver.best_objective_bound), wall, 1)

    current = {x: s for x, s in hint.items() if x in cm.start}
    proven = True
    solves = 0
    work = cm.placed_work()
    dev_expr, _ = cm.deviation()
    span_expr = cm.bundle_span()
    everything = cm.work_scale * cm.total_work + len(cm.worthless)
    levels: list[tuple[str, cp_model.LinearExpr, int]] = [("work", -work, -everything)]
    levels.append(("deviation", dev_expr, 0))
    if span_expr is not None:
        levels.append(("span", span_expr, 0))
    moves_expr = cm.moves()
    if moves_expr is not None:
        levels.append(("moves", moves_expr, 0))
    alternative = {x: s for x, s in stable.items() if x in cm.start} if stable is not None else None
    bound_unplaced: int | None = None
    fixed_so_far: list[tuple[str, int]] = []
    for k, (name, expr, trivial) in enumerate(levels):
        if alternative is not None and all(_value(n, alternative, cm) <= b for n, b in fixed_so_far):
            rest = [n for n, _, _ in levels[k:]]
            if [_value(n, alternative, cm) for n in rest] < [_value(n, current, cm) for n in rest]:
                current = alternative
        hint_value = _value(name, current, cm)
        if hint_value <= trivial:
            best = hint_value
            if k == 0:
                bound_unplaced = 0
        else:
            remaining = deadline - time.perf_counter()
            share = remaining * (0.6 if k == 0 else 0.7) if k < len(levels) - 1 else remaining
            if remaining <= 0.005:
                if k == 0:
                    return CpResult(None, "unknown", None, time.perf_counter() - t0, solves)
                proven = False
                break
            cm.model.clear_objective()
            cm.model.minimize(expr)
            cm.hint(current)
            status, solver = cm.run(share, workers, seed, stop)
            solves += 1
            if status == cp_model.INFEASIBLE:  # only the hard constraints can cause this (fixed tasks)
                return CpResult(None, "infeasible", None, time.perf_counter() - t0, solves)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                if k == 0:
                    wall = time.perf_counter() - t0
                    return CpResult(None, "unknown", None, wall, solves)
                proven = False
                break
            if status != cp_model.OPTIMAL:
                proven = False
            best = int(round(solver.objective_value))
            if k == 0:
                # objective = -(work_scale * work + worthless placed) >= bound, so work <= -bound // work_scale
                bound_unplaced = cm.total_work - (-proven_bound(solver.best_objective_bound)) // cm.work_scale
            candidate = cm.extract(solver)
            if _value(name, candidate, cm) <= hint_value:
                current = candidate
            else:  # numerically impossible, but never accept a worse solution
                best = hint_value
        cm.model.add(expr <= best)
        fixed_so_far.append((name, best))
    unplaced_outside = sum(t.work for t in problem.tasks if t.id not in cm.start)
    bound = None if bound_unplaced is None else max(bound_unplaced, 0) + unplaced_outside
    status_name = "optimal" if proven else "feasible"
    return CpResult(current, status_name, bound, time.perf_counter() - t0, solves)


def _value(level: str, starts: dict[str, int], cm: ComponentModel) -> int:
    tasks = cm.tasks
    if level == "work":
        return -cm.placed_work_value(starts)
    if level == "deviation":
        return sum(tasks[x].weight * abs(s - tasks[x].preferred) for x, s in starts.items())
    if level == "moves":
        return sum(starts.get(x) != c for x, c in cm.kept.items())
    total = 0
    for b in cm.problem.bundles:
        ms = [(starts[x], starts[x] + tasks[x].duration) for x in set(b.tasks) if x in starts]
        if ms:
            total += max(e for _, e in ms) - min(s for s, _ in ms)
    return total
