"""First-come-first-served baseline and the occupancy index it runs on.

FCFS: fixed (approved/locked) tasks are placed first at their fixed start. Then the other tasks are
taken in submission order (ties by id); each one gets the feasible start closest to its preferred
start (ties go to the earlier day) given the tasks already placed, and is never moved afterwards.
A task with no feasible start stays unplaced. In makespan mode the earliest feasible start is taken.

``keep_current`` is the same greedy that first keeps every task with a ``current_start`` there (when that is
still free, in submission order), then places the others as FCFS does: the plan as it stands, completed. It
is the solver's second hint (the stability tie-break's), never the yardstick.

``Occupancy`` keeps the placed tasks, the conflict adjacency, per-day zone usage and precedence
bounds, and answers "which starts are free for this task?" as a list of closed day intervals.
It is shared by the greedy, incremental insertion and the explanations (not by the checker).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Precedence, Problem, Task, Unplaced, closest_in, start_domain, subtract

# Why FCFS left a task out when its window has starts: the tasks placed before it (fixed ones first, then by
# submission) took them. ``solve`` keeps the reason only where the final plan's blockers were all submitted earlier.
BLOCKED_EARLIER = "blocked by earlier requests"


def problem_horizon(problem: Problem) -> int:
    h = max((t.latest_end for t in problem.tasks), default=0)
    for t in problem.tasks:
        if t.fixed_start is not None:
            h = max(h, t.fixed_start + t.duration)
    if problem.horizon is not None:
        h = max(h, problem.horizon)
    return h


def merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge closed integer intervals (adjacent ones are joined)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if a > b:
            continue
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


@dataclass
class Block:
    """Why a range of starts is not available: kind in conflict/zone/precedence; ref an id."""

    kind: str
    ref: str
    starts: tuple[int, int]  # closed range of blocked starts


class Occupancy:
    """Placed tasks plus the indexes needed to find free starts quickly."""

    def __init__(self, problem: Problem, zones_all: bool = True) -> None:
        self.tasks: dict[str, Task] = problem.task_map()
        self.horizon = problem_horizon(problem)
        self.starts: dict[str, int] = {}
        bundle_pairs = problem.bundle_pairs()
        # each task's conflict partners, in the order the conflicts list them (a dict as an ordered set): a set
        # would iterate in an order that changes with each process's string hashing, and so would the
        # blockers of the explanations and the model a repair builds (a re-plan of an unchanged problem must
        # write nothing new)
        self.neighbours: dict[str, dict[str, None]] = defaultdict(dict)
        self._conflicts = problem.conflicts
        for c in problem.conflicts:
            members = list(dict.fromkeys(c.tasks))
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    if frozenset((a, b)) not in bundle_pairs:
                        self.neighbours[a][b] = None
                        self.neighbours[b][a] = None
        self._labels: dict[frozenset[str], str] | None = None
        self.capacity: dict[str, int] = {}
        self.usage: dict[str, list[int]] = {}
        self.task_zones: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.zone_members: dict[str, list[str]] = defaultdict(list)
        for z in problem.zones:
            if not zones_all and sum(z.demands.values()) <= z.capacity:
                continue  # can never be exceeded
            self.add_zone(z.id, z.capacity)
            for tid, q in z.demands.items():
                if q > 0:
                    self.task_zones[tid].append((z.id, q))
                    self.zone_members[z.id].append(tid)
        # start(x) in [start(y) + lo, start(y) + hi] for every (y, lo, hi) in prec[x]
        self.prec: dict[str, list[tuple[str, int | None, int | None]]] = defaultdict(list)
        self.add_precedences(problem.precedences)

    # -- state -------------------------------------------------------------------------------
    def add_precedences(self, precedences: Iterable[Precedence]) -> list[tuple[str, tuple]]:
        """Index precedences (both directions); returns the entries added, for :meth:`remove_precedences`."""
        added: list[tuple[str, tuple]] = []
        for p in precedences:
            added.append((p.after, (p.before, p.min_lag, p.max_lag)))
            added.append((p.before, (p.after, -p.max_lag if p.max_lag is not None else None, -p.min_lag)))
        for tid, bound in added:
            self.prec[tid].append(bound)
        return added

    def remove_precedences(self, added: list[tuple[str, tuple]]) -> None:
        for tid, bound in added:
            self.prec[tid].remove(bound)

    def add_zone(self, zid: str, capacity: int) -> None:
        self.capacity[zid] = capacity
        self.usage[zid] = [0] * (self.horizon + 1)

    def _ensure_horizon(self, end: int) -> None:
        if end > self.horizon:
            for u in self.usage.values():
                u.extend([0] * (end - self.horizon))
            self.horizon = end

    def place(self, tid: str, start: int) -> None:
        t = self.tasks[tid]
        self._ensure_horizon(start + t.duration)
        self.starts[tid] = start
        for zid, q in self.task_zones.get(tid, ()):
            u = self.usage[zid]
            for day in range(max(start, 0), start + t.duration):
                u[day] += q

    def remove(self, tid: str) -> None:
        start = self.starts.pop(tid)
        t = self.tasks[tid]
        for zid, q in self.task_zones.get(tid, ()):
            u = self.usage[zid]
            for day in range(max(start, 0), start + t.duration):
                u[day] -= q

    def forget_labels(self) -> None:
        """Conflicts were added: rebuild the labels on next use."""
        self._labels = None

    # -- queries -----------------------------------------------------------------------------
    def conflict_label(self, a: str, b: str) -> str:
        """The label of the conflict that keeps ``a`` and ``b`` apart (e.g. ``corridor:<id>`` for a clique,
        ``space`` for a pair); a rule's label (with a colon) wins over a plain kind. Built on first use: only
        explanations need it."""
        if self._labels is None:
            self._labels = {}
            for c in self._conflicts:
                members = list(dict.fromkeys(c.tasks))
                for i, x in enumerate(members):
                    for y in members[i + 1 :]:
                        key = frozenset((x, y))
                        if key not in self._labels or (":" in c.label and ":" not in self._labels[key]):
                            self._labels[key] = c.label
        return self._labels.get(frozenset((a, b)), "")

    def zone_occupants(self, zid: str, first: int, last: int) -> list[str]:
        """Placed tasks that use zone ``zid`` on some day in ``[first, last]``."""
        out = []
        for tid in self.zone_members.get(zid, ()):
            s = self.starts.get(tid)
            if s is not None and s <= last and s + self.tasks[tid].duration - 1 >= first:
                out.append(tid)
        return out

    def blocks(self, task: Task, lo: int, hi: int) -> list[Block]:
        """Blocked start ranges for ``task`` within candidate starts ``[lo, hi]``."""
        d = task.duration
        out: list[Block] = []
        if d > 0:
            for j in self.neighbours.get(task.id, ()):
                sj = self.starts.get(j)
                dj = self.tasks[j].duration
                if sj is None or dj == 0 or j == task.id:
                    continue
                a, b = sj - d + 1, sj + dj - 1
                if b >= lo and a <= hi:
                    out.append(Block("conflict", j, (a, b)))
        for zid, q in self.task_zones.get(task.id, ()) if d > 0 else ():
            cap = self.capacity[zid]
            if q > cap:
                out.append(Block("zone", zid, (lo, hi)))
                continue
            u = self.usage[zid]
            limit = cap - q
            run_start = None
            last = min(hi + d, len(u))
            for day in range(max(lo, 0), last):
                if u[day] > limit:
                    if run_start is None:
                        run_start = day
                elif run_start is not None:
                    out.append(Block("zone", zid, (run_start - d + 1, day - 1)))
                    run_start = None
            if run_start is not None:
                out.append(Block("zone", zid, (run_start - d + 1, last - 1)))
        for y, a, b in self.prec.get(task.id, ()):
            sy = self.starts.get(y)
            if sy is None or y == task.id:
                continue
            if a is not None and sy + a - 1 >= lo:
                out.append(Block("precedence", y, (lo, sy + a - 1)))
            if b is not None and sy + b + 1 <= hi:
                out.append(Block("precedence", y, (sy + b + 1, hi)))
        return out

    def free_starts(self, task: Task, domain: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Starts of ``task`` compatible with its domain and all placed tasks (closed intervals)."""
        if domain is None:
            domain = start_domain(task)
        if not domain:
            return []
        lo, hi = domain[0][0], domain[-1][1]
        holes = merge(b.starts for b in self.blocks(task, lo, hi))
        return subtract(domain, holes)


@dataclass
class GreedyResult:
    starts: dict[str, int]
    unplaced: dict[str, Unplaced]


def fcfs_order(problem: Problem) -> list[Task]:
    return sorted(problem.tasks, key=lambda t: (t.fixed_start is None, t.submitted, t.id))


def fcfs(problem: Problem, mode: str = "placement") -> GreedyResult:
    """Run the first-come-first-served baseline (see the module docstring)."""
    occ = Occupancy(problem, zones_all=False)
    unplaced: dict[str, Unplaced] = {}
    for t in fcfs_order(problem):
        if t.fixed_start is not None:
            occ.place(t.id, t.fixed_start)
            continue
        free = occ.free_starts(t)
        if not free:
            reason = BLOCKED_EARLIER if start_domain(t) else "no feasible start in the window"
            unplaced[t.id] = Unplaced(reason)
            continue
        s = free[0][0] if mode == "makespan" else closest_in(free, t.preferred)
        assert s is not None
        occ.place(t.id, s)
    return GreedyResult(dict(occ.starts), unplaced)


def _contains(intervals: list[tuple[int, int]], day: int) -> bool:
    return any(lo <= day <= hi for lo, hi in intervals)


def keep_current(problem: Problem) -> GreedyResult | None:
    """Fixed tasks first, then every task at its ``current_start`` where that is still free (submission order),
    then the rest as in :func:`fcfs`. ``None`` when no movable task has a current start."""
    order = fcfs_order(problem)
    if not any(t.current_start is not None and t.fixed_start is None for t in order):
        return None
    occ = Occupancy(problem, zones_all=False)
    rest: list[Task] = []
    for t in order:
        if t.fixed_start is not None:
            occ.place(t.id, t.fixed_start)
    for t in order:
        if t.fixed_start is not None:
            continue
        if t.current_start is not None and _contains(occ.free_starts(t), t.current_start):
            occ.place(t.id, t.current_start)
        else:
            rest.append(t)
    unplaced: dict[str, Unplaced] = {}
    for t in rest:
        free = occ.free_starts(t)
        s = closest_in(free, t.preferred)
        if s is None:
            reason = BLOCKED_EARLIER if start_domain(t) else "no feasible start in the window"
            unplaced[t.id] = Unplaced(reason)
            continue
        occ.place(t.id, s)
    return GreedyResult(dict(occ.starts), unplaced)
