"""Plain data model of the scheduling core.

Time is an integer day index; day 0 is the first day of the planning horizon. A task that starts
on day ``s`` with duration ``d`` is active on the half-open day range ``[s, s + d)``.

Everything here is a frozen or plain dataclass, so ``dataclasses.asdict`` turns problems and plans
into JSON-serialisable dicts. Per-task forbidden periods live in ``Task.forbidden``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

Shift = Literal["continuous", "day", "night"]
ObjectiveMode = Literal["placement", "makespan"]
ComponentStatus = Literal["optimal", "feasible", "fallback_greedy", "infeasible"]


@dataclass(frozen=True)
class Forbidden:
    """A blackout or moratorium: the task may not be active on any day in ``[start, end)``."""

    start: int
    end: int
    label: str = ""


@dataclass(frozen=True)
class Task:
    """One construction request.

    ``latest_end`` is exclusive: a placement must satisfy ``start >= earliest_start`` and
    ``start + duration <= latest_end``. ``preferred_start`` defaults to ``earliest_start``.
    ``fixed_start`` marks an approved or locked slot: the task is always placed there and never moves
    (the window and forbidden periods are not applied to it; the checker still reports conflicts).
    ``submitted`` orders the first-come-first-served baseline (smaller is earlier).
    ``shift`` is informational only: the conflict list already accounts for day/night work.
    ``current_start`` is where the task stands now (e.g. a slot already proposed to its owner): among plans
    equally good by the objective the one that moves fewest such tasks is taken (a stability tie-break, the
    last lexicographic level; it never worsens the levels above it). Ignored for fixed tasks.
    """

    id: str
    duration: int
    earliest_start: int
    latest_end: int
    preferred_start: int | None = None
    weight: int = 1
    submitted: float = 0.0
    fixed_start: int | None = None
    shift: Shift = "continuous"
    forbidden: tuple[Forbidden, ...] = ()
    current_start: int | None = None

    @property
    def preferred(self) -> int:
        return self.earliest_start if self.preferred_start is None else self.preferred_start

    @property
    def work(self) -> int:
        """Weighted work of the task: what placing it is worth (weight * duration)."""
        return self.weight * self.duration


@dataclass(frozen=True)
class Conflict:
    """Tasks that must pairwise not overlap in time (a pair or a clique)."""

    tasks: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class Zone:
    """A cumulative resource: on every day the placed tasks' demands sum to at most ``capacity``."""

    id: str
    capacity: int
    demands: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Precedence:
    """Start-to-start lag between two tasks (RCPSP/max style).

    ``start(after) >= start(before) + min_lag`` and, when ``max_lag`` is set,
    ``start(after) <= start(before) + max_lag``. ``min_lag`` may be negative (a generalised
    precedence). For "finish before start" use ``min_lag = duration(before)``. The precedence only
    applies when both tasks are placed: an unplaced partner imposes nothing.
    """

    before: str
    after: str
    min_lag: int = 0
    max_lag: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Bundle:
    """Tasks that should run together (dig once). Soft: rewarded, never enforced."""

    id: str
    tasks: tuple[str, ...]


@dataclass
class Problem:
    tasks: list[Task]
    conflicts: list[Conflict] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    precedences: list[Precedence] = field(default_factory=list)
    bundles: list[Bundle] = field(default_factory=list)
    horizon: int | None = None

    def task_map(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    def bundle_pairs(self) -> set[frozenset[str]]:
        """Unordered task pairs that share a bundle (they may overlap each other)."""
        pairs: set[frozenset[str]] = set()
        for b in self.bundles:
            members = list(dict.fromkeys(b.tasks))
            for i, a in enumerate(members):
                for c in members[i + 1 :]:
                    pairs.add(frozenset((a, c)))
        return pairs

    def validate(self) -> None:
        """Raise ValueError on structurally broken input (unknown ids, negative durations...)."""
        ids = [t.id for t in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate task ids")
        known = set(ids)
        for t in self.tasks:
            if t.duration < 0:
                raise ValueError(f"task {t.id}: negative duration")
            if t.weight < 0:
                raise ValueError(f"task {t.id}: negative weight")
            for f in t.forbidden:
                if f.end < f.start:
                    raise ValueError(f"task {t.id}: forbidden period ends before it starts")
        for c in self.conflicts:
            if len(set(c.tasks)) < 2 or not set(c.tasks) <= known:
                raise ValueError(f"bad conflict {c.tasks}")
        for z in self.zones:
            if z.capacity < 0 or not set(z.demands) <= known or min(z.demands.values(), default=0) < 0:
                raise ValueError(f"bad zone {z.id}")
        for p in self.precedences:
            if p.before not in known or p.after not in known:
                raise ValueError(f"precedence with unknown task {p.before}->{p.after}")
            if p.max_lag is not None and p.max_lag < p.min_lag:
                raise ValueError(f"precedence {p.before}->{p.after}: max_lag < min_lag")
        for b in self.bundles:
            if not set(b.tasks) <= known:
                raise ValueError(f"bundle {b.id} with unknown task")


class Stopped(Exception):  # noqa: N818 - it says what happened, as KeyboardInterrupt does
    """``Options.stop`` was set during a solve: the search was cut short and no plan is returned."""


@dataclass(frozen=True)
class Options:
    """Solver options. ``num_workers`` must be >= 2 (CP-SAT's portfolio needs several workers). ``stop``: an event
    another thread may set (a worker shutting down); the solve then stops its CP-SAT search within about 50 ms and
    raises :class:`Stopped`."""

    time_limit_s: float = 30.0
    num_workers: int = 2
    seed: int = 0
    objective: ObjectiveMode = "placement"
    explain: bool = True
    stop: threading.Event | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.num_workers < 2:
            raise ValueError(f"num_workers must be >= 2 (CP-SAT portfolio); got {self.num_workers}")
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be positive")
        if self.objective not in ("placement", "makespan"):
            raise ValueError(f"unknown objective mode {self.objective!r}")


@dataclass(frozen=True)
class ObjectiveParts:
    """Objective values of a plan; compare plans with ``lex_key`` (smaller is better).

    ``placed_work``/``unplaced_work`` are sums of weight * duration; ``weighted_deviation`` is the
    sum of weight * |start - preferred| over placed tasks; ``bundle_span`` is the sum over bundles of
    (last end - first start) of their placed members (the bundle reward is keeping it small);
    ``makespan`` is the latest end of any placed task.
    """

    placed_work: int
    unplaced_work: int
    weighted_deviation: int
    bundle_span: int
    makespan: int
    unplaced_count: int

    def lex_key(self, mode: ObjectiveMode = "placement") -> tuple[int, ...]:
        """The comparison key. The stability tie-break is not part of it: see :func:`moves`."""
        if mode == "makespan":
            return (self.unplaced_count, self.makespan)
        return (self.unplaced_work, self.weighted_deviation, self.bundle_span)


@dataclass(frozen=True)
class Unplaced:
    reason: str
    blocking: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComponentStats:
    """One component's solve: its size, time, status, tasks and its part of ``Plan.lower_bound`` (placement)."""

    size: int
    wall_time_s: float
    status: ComponentStatus
    tasks: tuple[str, ...] = ()
    bound: int = 0


@dataclass(frozen=True)
class FcfsSummary:
    objective: ObjectiveParts
    unplaced_count: int
    starts: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """Result of ``solve``.

    ``lower_bound``/``upper_bound`` concern the primary criterion: the unplaced weighted work in
    placement mode, the makespan in makespan mode. ``lower_bound`` is proven; ``upper_bound`` is the
    value reached. ``status`` is the worst component status.
    """

    mode: ObjectiveMode
    starts: dict[str, int]
    unplaced: dict[str, Unplaced]
    objective: ObjectiveParts
    status: ComponentStatus
    lower_bound: int | None = None
    upper_bound: int | None = None
    stats: list[ComponentStats] = field(default_factory=list)
    fcfs: FcfsSummary | None = None
    explanations: dict[str, dict] = field(default_factory=dict)
    wall_time_s: float = 0.0


def start_domain(task: Task, horizon: int | None = None) -> list[tuple[int, int]]:
    """Feasible starts of a non-fixed task as sorted disjoint closed intervals ``[lo, hi]``.

    The window gives ``[earliest_start, latest_end - duration]``; each forbidden period
    ``[a, b)`` removes the starts ``s`` with ``[s, s + d)`` intersecting it, i.e. ``(a - d, b)``.
    For a zero-duration task nothing intersects, so forbidden periods remove nothing.
    """
    lo, hi = task.earliest_start, task.latest_end - task.duration
    if horizon is not None:
        hi = min(hi, horizon - task.duration)
    if lo > hi:
        return []
    d = task.duration
    holes = sorted((f.start - d + 1, f.end - 1) for f in task.forbidden if d > 0 and f.end > f.start)
    return subtract([(lo, hi)], holes)


Intervals = list[tuple[int, int]]


def subtract(base: Intervals, holes: Intervals) -> Intervals:
    """Closed intervals of ``base`` minus the (sorted by start) closed ``holes``."""
    out: list[tuple[int, int]] = []
    for lo, hi in base:
        cur = lo
        for a, b in holes:
            if b < cur:
                continue
            if a > hi:
                break
            if a > cur:
                out.append((cur, a - 1))
            cur = max(cur, b + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return out


def closest_in(intervals: list[tuple[int, int]], target: int) -> int | None:
    """The value in the closed ``intervals`` closest to ``target`` (ties go to the earlier day)."""
    best: int | None = None
    for lo, hi in intervals:
        v = min(max(target, lo), hi)
        if (
            best is None
            or abs(v - target) < abs(best - target)
            or (abs(v - target) == abs(best - target) and v < best)
        ):
            best = v
    return best


def evaluate(problem: Problem, starts: dict[str, int]) -> ObjectiveParts:
    """Objective parts of a set of starts (unknown ids are ignored)."""
    tasks = problem.task_map()
    placed = unplaced = dev = cnt = mk = 0
    for t in problem.tasks:
        s = starts.get(t.id)
        if s is None:
            unplaced += t.work
            cnt += 1
        else:
            placed += t.work
            dev += t.weight * abs(s - t.preferred)
            mk = max(mk, s + t.duration)
    span = 0
    for b in problem.bundles:
        ms = [(starts[i], starts[i] + tasks[i].duration) for i in set(b.tasks) if i in starts]
        if ms:
            span += max(e for _, e in ms) - min(s for s, _ in ms)
    return ObjectiveParts(placed, unplaced, dev, span, mk, cnt)


def moves(problem: Problem, starts: dict[str, int]) -> int:
    """The stability tie-break: how many movable tasks with a ``current_start`` are not placed there (moved or
    left out). Compared only between plans of equal ``lex_key``."""
    return sum(
        1 for t in problem.tasks
        if t.current_start is not None and t.fixed_start is None and starts.get(t.id) != t.current_start
    )
