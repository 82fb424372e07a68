"""Incremental insertion of one new request into an existing plan.

``InsertionIndex(problem, plan)`` is built once (conflict adjacency, per-day zone usage, precedence
bounds). ``insert(task, conflicts, zones_demand, forbidden, precedences)`` then:

1. Greedy: the free start closest to the task's preferred start, nothing else moves (the task's own
   precedences with placed partners bound it like conflicts do).
2. Repair (only if the greedy start is not the preferred one): a small CP-SAT model of the
   neighbourhood -- the new task, the movable (not fixed) placed tasks it conflicts with, and, as
   fixed intervals, everything those conflict with; zone usage of all other tasks is a fixed
   background profile; precedences of the new task and of moved tasks are bounds against their
   partners (fixed ones, or the other tasks of the model; those of the new task hold when it is placed).
   Objective: place the new task first (big-M), then the weighted deviation of all tasks in the
   model plus, for each neighbour moved, its weight times ``MOVE_PENALTY_DAYS``: a placed slot has been
   told to its owner, so it moves only to make room for the new task or for a clear gain, never to
   reshuffle equally good starts. Moved neighbours stay placed and inside their own windows and
   forbidden periods.
   The repair answer is taken only when it improves on the greedy answer within its time limit;
   otherwise the greedy answer is returned.

With ``commit=True`` the result is written into the index (and ``index.problem`` / ``index.starts``),
so a stream of insertions can be processed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from .cpsat import solve_interruptibly
from .greedy import Occupancy
from .model import Conflict, Forbidden, Precedence, Problem, Task, Zone, closest_in, start_domain

# What moving a placed neighbour costs the repair, in days of its weighted deviation: the new task takes a
# neighbour's place only when that saves more than this (or when it could not be placed otherwise).
MOVE_PENALTY_DAYS = 10


@dataclass
class InsertionResult:
    task_id: str
    start: int | None  # None: the task could not be placed
    method: str  # greedy | cpsat
    moved: dict[str, int] = field(default_factory=dict)  # other tasks moved by the repair
    greedy_start: int | None = None
    greedy_time_s: float = 0.0
    repair_time_s: float = 0.0
    repair_status: str = "skipped"


class InsertionIndex:
    def __init__(self, problem: Problem, plan, num_workers: int = 2, seed: int = 0) -> None:
        if num_workers < 2:
            raise ValueError("num_workers must be >= 2")
        self.problem = Problem(
            list(problem.tasks),
            list(problem.conflicts),
            list(problem.zones),
            list(problem.precedences),
            list(problem.bundles),
            problem.horizon,
        )
        self.occ = Occupancy(self.problem, zones_all=True)
        for tid, s in plan.starts.items():
            self.occ.place(tid, s)
        self.zone_pos = {z.id: k for k, z in enumerate(self.problem.zones)}
        self.num_workers = num_workers
        self.seed = seed

    @property
    def starts(self) -> dict[str, int]:
        return self.occ.starts

    def insert(
        self,
        task: Task,
        conflicts: Iterable[str] | Mapping[str, str] = (),
        zones_demand: Mapping[str, int] | None = None,
        forbidden: Iterable[Forbidden] = (),
        repair: bool = True,
        repair_time_s: float = 0.08,
        commit: bool = False,
        precedences: Iterable[Precedence] = (),
    ) -> InsertionResult:
        """``precedences`` link the new task with tasks of the index (each names ``task.id`` at one end)."""
        occ = self.occ
        if task.id in occ.tasks:
            raise ValueError(f"task {task.id} already exists")
        zones_demand = dict(zones_demand or {})
        unknown = [z for z in zones_demand if z not in self.zone_pos]
        if unknown:
            raise ValueError(f"unknown zones {unknown}")
        precs = list(precedences)
        for p in precs:
            other = p.before if p.after == task.id else p.after
            if task.id not in (p.before, p.after) or other not in occ.tasks or other == task.id:
                raise ValueError(f"precedence {p.before}->{p.after} must link {task.id} with a known task")
        task = replace(task, forbidden=tuple(task.forbidden) + tuple(forbidden))
        neigh = dict.fromkeys(c for c in conflicts if c in occ.tasks and c != task.id)
        t0 = time.perf_counter()
        occ.tasks[task.id] = task
        occ.neighbours[task.id] = neigh
        occ.task_zones[task.id] = [(z, q) for z, q in zones_demand.items() if q > 0]
        indexed = occ.add_precedences(precs)
        try:
            if task.fixed_start is not None:
                g = task.fixed_start
            else:
                g = closest_in(occ.free_starts(task), task.preferred)
            result = InsertionResult(
                task.id, g, "greedy", greedy_start=g, greedy_time_s=time.perf_counter() - t0
            )
            if repair and task.fixed_start is None and g != task.preferred:
                t1 = time.perf_counter()
                self._repair(task, result, repair_time_s)
                result.repair_time_s = time.perf_counter() - t1
        finally:
            del occ.tasks[task.id]
            del occ.neighbours[task.id]
            del occ.task_zones[task.id]
            occ.remove_precedences(indexed)
        if commit:
            labels = dict(conflicts) if isinstance(conflicts, Mapping) else {}
            self._commit(task, neigh, zones_demand, result, labels, precs)
        return result

    # -- repair ------------------------------------------------------------------------------
    def _repair(self, task: Task, result: InsertionResult, time_limit: float) -> None:
        occ = self.occ
        tasks = occ.tasks
        movable = [j for j in occ.neighbours[task.id] if j in occ.starts and tasks[j].fixed_start is None]
        movable = [j for j in movable if tasks[j].duration > 0]
        mset = set(movable)
        m = cp_model.CpModel()
        dom = start_domain(task)
        if not dom or not movable:
            result.repair_status = "nothing to move"
            return
        s_new = m.new_int_var_from_domain(cp_model.Domain.from_intervals([list(iv) for iv in dom]), "s_new")
        p_new = m.new_bool_var("p_new")
        starts = {task.id: s_new}
        ivs = {task.id: m.new_optional_fixed_size_interval_var(s_new, task.duration, p_new, "i_new")}
        for j in movable:
            dj = start_domain(tasks[j])
            starts[j] = m.new_int_var_from_domain(cp_model.Domain.from_intervals([list(iv) for iv in dj]), j)
            ivs[j] = m.new_fixed_size_interval_var(starts[j], tasks[j].duration, f"i_{j}")
        fixed_cache: dict[str, cp_model.IntervalVar] = {}

        def fixed_iv(x: str) -> cp_model.IntervalVar:
            if x not in fixed_cache:
                fixed_cache[x] = m.new_fixed_size_interval_var(occ.starts[x], tasks[x].duration, f"f_{x}")
            return fixed_cache[x]

        pairs: set[tuple[str, str]] = set()
        for x in [task.id, *movable]:
            for y in occ.neighbours.get(x, ()):
                if y == task.id or (y in mset and x != task.id and y < x):
                    continue  # each pair among model tasks once
                if y in starts or (y in occ.starts and tasks[y].duration > 0):
                    pairs.add((x, y))
        for x, y in sorted(pairs):  # in one order in every process: the same model, the same answer
            m.add_no_overlap([ivs[x], ivs[y] if y in starts else fixed_iv(y)])
        for x in [task.id, *movable]:
            for y, lo, hi in occ.prec.get(x, ()):
                if y in starts:
                    base = starts[y]
                elif y in occ.starts:
                    base = occ.starts[y]
                else:
                    continue  # an unplaced partner imposes nothing
                bounds = [starts[x] >= base + lo] if lo is not None else []
                bounds += [starts[x] <= base + hi] if hi is not None else []
                for bound in bounds:
                    c = m.add(bound)
                    if task.id in (x, y):  # the new task's precedences hold when it is placed (moved tasks are)
                        c.only_enforce_if(p_new)
        zone_users: dict[str, list[tuple[str, int]]] = {}
        for x in [task.id, *movable]:
            for z, q in occ.task_zones.get(x, ()):
                zone_users.setdefault(z, []).append((x, q))
        for z, users in zone_users.items():
            profile = list(occ.usage[z])
            for x, q in users:
                if x in occ.starts:
                    for day in range(occ.starts[x], occ.starts[x] + tasks[x].duration):
                        profile[day] -= q
            intervals = [ivs[x] for x, _ in users]
            demands = [q for _, q in users]
            run, cur = 0, profile[0] if profile else 0
            for day in range(1, len(profile) + 1):
                level = profile[day] if day < len(profile) else 0
                if level != cur:
                    if cur > 0:
                        intervals.append(m.new_fixed_size_interval_var(run, day - run, f"bg_{z}_{run}"))
                        demands.append(cur)
                    run, cur = day, level
            m.add_cumulative(intervals, demands, occ.capacity[z])
        devs = []
        bound = 0
        for x, s in starts.items():
            t = tasks[x]
            d = m.new_int_var(0, occ.horizon + abs(t.preferred) + 1, f"d_{x}")
            m.add_abs_equality(d, s - t.preferred)
            devs.append(t.weight * d)
            bound += t.weight * (occ.horizon + abs(t.preferred) + 1)
        moves: dict[str, cp_model.IntVar] = {}
        for j in movable:  # a neighbour left where it is costs nothing more
            moves[j] = m.new_bool_var(f"mv_{j}")
            m.add(starts[j] == occ.starts[j]).only_enforce_if(~moves[j])
            devs.append(tasks[j].weight * MOVE_PENALTY_DAYS * moves[j])
            bound += tasks[j].weight * MOVE_PENALTY_DAYS
        m.minimize((bound + 1) * (1 - p_new) + sum(devs))
        g = result.greedy_start
        m.add_hint(p_new, g is not None)
        m.add_hint(s_new, g if g is not None else dom[0][0])
        for j in movable:
            m.add_hint(starts[j], occ.starts[j])
            m.add_hint(moves[j], False)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.num_workers
        solver.parameters.random_seed = self.seed
        solver.parameters.max_time_in_seconds = time_limit
        status = solve_interruptibly(solver, m)
        result.repair_status = solver.status_name(status).lower()
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        new_start = solver.value(s_new) if solver.boolean_value(p_new) else None
        moved = {j: solver.value(starts[j]) for j in movable if solver.value(starts[j]) != occ.starts[j]}

        def cost(start: int | None, shifted: dict[str, int]) -> tuple[int, int]:
            dev = sum(
                tasks[j].weight * abs(shifted.get(j, occ.starts[j]) - tasks[j].preferred) for j in movable
            ) + sum(tasks[j].weight * MOVE_PENALTY_DAYS for j in shifted)
            if start is None:
                return (1, dev)
            return (0, dev + task.weight * abs(start - task.preferred))

        if cost(new_start, moved) < cost(g, {}):
            result.start, result.moved, result.method = new_start, moved, "cpsat"

    # -- commit ------------------------------------------------------------------------------
    def _commit(self, task: Task, neigh: dict[str, None], demand: dict[str, int], result: InsertionResult,
                labels: Mapping[str, str], precedences: list[Precedence]) -> None:
        occ, pb = self.occ, self.problem
        pb.tasks.append(task)
        occ.tasks[task.id] = task
        occ.forget_labels()
        pb.precedences.extend(precedences)
        occ.add_precedences(precedences)
        for j in sorted(neigh):
            pb.conflicts.append(Conflict((task.id, j), labels.get(j) or "inserted"))
            occ.neighbours[task.id][j] = None
            occ.neighbours[j][task.id] = None
        for z, q in demand.items():
            k = self.zone_pos[z]
            old = pb.zones[k]
            pb.zones[k] = Zone(old.id, old.capacity, {**old.demands, task.id: q})
            if q > 0:
                occ.task_zones[task.id].append((z, q))
        for j, s in result.moved.items():
            occ.remove(j)
            occ.place(j, s)
        if result.start is not None:
            occ.place(task.id, result.start)
