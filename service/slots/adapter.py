"""Stored requests → a scheduler :class:`~service.scheduler.Problem`.

Day 0 is the plan's ``from`` date; the horizon is ``to - from + 1`` days. Task ids are the request ids
(as strings), so everything the scheduler reports (conflict partners, blockers) names requests.

- window: ``earliest_start``/``latest_end`` (inclusive dates) become ``earliest_start``/``latest_end``
  day ints, the end exclusive, clipped to the horizon. A request whose clipped window is shorter than its
  duration is not part of the plan (``skipped``: its window does not fit into the plan period), nor is one
  whose preferred start lies after the period (a plan for 2027 does not pull works wanted in 2028 forward), nor
  is one that holds a slot and whose preferred start lies before a period that begins after today (a plan from
  May does not push back works wanted in April), nor is one that holds a slot and whose window reaches beyond
  the period (a plan until May does not squeeze works that may run until September into it, or take their
  slot away when May is full), at its end or, for a period that begins after today, at its start (a plan from
  March does not push works that may start in February behind a closure when February was free: it cannot see
  February). Such a request keeps its slot as a fixed task; one without a slot is planned in the part of its
  window inside the period. The period never begins before today: no slot is granted in the past.
- preferred start: the request's ``preferred_start`` (else its earliest start), clamped into the window. The
  owner's own preferred start is kept in ``TaskInfo.preferred``: explanations report against it.
- counter-proposal: a request whose owner contested a slot with another window (the workflow's latest
  ``contest``, ``repository.counter_proposals``) is planned in that window (what the owner can do) while it
  waits for a decision and was not edited since, also after a new proposal (a later plan run does not undo it);
  its preferred start is clamped into it (so the counter start when the old one lies before it). Where the counter
  window does not fit the plan period, or the plan finds no start in it (the service solves once more, see
  ``CounterProposal.fallback``), the request is planned in its own window with the counter start as its
  preferred start, and its explanation says so (``Built.counter``). Where the own window is not this plan's to
  judge (it reaches beyond the period and the request holds a slot, as above), the request keeps that slot
  instead (``fall_back`` makes it the fixed task ``build`` would have made it); the counter-proposal is never
  reported met when it was not.
- current start: a movable request that holds a ``proposed`` slot and waits for its owner (``submitted``,
  ``slot_proposed``) carries that slot's first day as ``Task.current_start``: among equally good plans the
  scheduler keeps the slots already proposed (no new proposal, deadline or notice for a mere reshuffle).
  A contested slot carries none: its owner asked for another.
- weight: urgency factor × impact factor (see ``URGENCY_WEIGHT``/``IMPACT_WEIGHT``). The scheduler's
  "work" of a task is weight × duration: the first objective places as much of it as possible, so an
  emergency full closure of 30 days outweighs a planned footway site of 30 days twelvefold.
- submitted: ``created_at`` as a POSIX timestamp (the FCFS order; ``clock_timestamp()``, so the requests of
  one import keep the file's order).
- fixed start: a slot that is ``locked`` or ``approved``, or any slot of an ``accepted``, ``approved`` or
  ``active`` request; an approved/active request without a slot is fixed at its preferred (else earliest)
  start. A request skipped because its window does not fit the plan period keeps the slot it holds (any
  ``proposed``, ``locked`` or ``approved`` one) as a fixed task. Fixed slots that began before day 0 are
  clipped to start on day 0; those over before day 0 are left out. Scheduled requests outside the scope
  (any request with a slot) that conflict with one in scope join the problem as fixed tasks, so a plan of
  one district respects the slots next door.
- conflicts: potential hard conflicts (space, diversion) over the windows, by the conflicts domain's rules
  (``repository.hard_conflicts``: one PostGIS query; see ``hard_pairs`` for why not its table).
  Conflicts between two fixed tasks are facts, not constraints, and are dropped (they would make the model infeasible).
- bundles: ``bundle_with`` references and accepted dig-once opportunities between tasks of the problem,
  merged into groups (members of a bundle may overlap each other: one closure, one trench).
- capacity rules: a corridor with ``max_concurrent`` 1 is a clique (no two of its sites at once); a
  corridor with N > 1 and every zone become a cumulative Zone of capacity N with demand 1 for each request
  of at least the rule's ``min_impact`` on it (touching the corridor, along or across, and stopping or restricting
  its mode: the SQL function ``corridor_counts``, as in the conflicts domain; intersecting the zone). Where
  fixed members alone overload a zone, their demand becomes fixed load tasks (``<rule>:<id>:load:<k>``,
  weight 0, not in ``Built.info``) that fill the zone on those days only; the capacity stays as it is.
- forbidden periods: moratoriums (excavating kinds, not emergencies, footprint in the area) and blackouts
  (impact above the blackout's ``max_impact``; a blackout without geometry applies everywhere) become
  holes in the start domain (``Task.forbidden``).
- precedences: a request's ``after`` list (``request_precedences``): it starts at least ``min_gap_days`` and at
  most ``max_gap_days`` whole days after the other's last day, i.e. a start-to-start lag of the other's duration
  plus the gap. Between two tasks of the plan it holds when both are
  placed (the scheduler's rule: an unplaced partner imposes nothing); between two fixed ones it is a fact, not a
  constraint, and is dropped. A partner outside the problem (another area or period, or not plannable) joins it
  as a zero-length fixed "anchor" task carrying its request id: with its slot (or fixed dates) both gaps count;
  without one its window does, as far as it is certain: a predecessor cannot end before its earliest start
  (from today) plus its duration, a successor cannot start after its last start; only the minimum gap counts
  then. Withdrawn, rejected and draft partners hold nothing. Fixed tasks clipped to day 0 keep their real dates
  in the lags.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from service.geo.rules import SHIFT_HOURS, occupies
from service.kit.time import today
from service.requests.models import EXCAVATING_KINDS, IMPACT_ORDER
from service.scheduler import Bundle, Conflict, Forbidden, Precedence, Problem, Task, Zone
from service.settings import Settings
from service.slots import repository
from service.slots.repository import FIXED_REQUEST_STATUSES, FIXED_SLOT_STATUSES

# Why a request of the scope is not part of the plan (``Built.skipped``; ``explanations.SKIPPED`` words them
# in German and English).
SKIP_WINDOW = "the window does not fit into the plan period"
SKIP_PREFERRED_AFTER = "the preferred start lies after the plan period"
SKIP_PREFERRED_BEFORE = "the preferred start lies before the plan period"
SKIP_BEYOND = "the window reaches beyond the plan period"

URGENCY_WEIGHT = {"planned": 1, "urgent": 2, "emergency": 4}
IMPACT_WEIGHT = {"none": 1, "footway": 1, "lane_reduction": 2, "one_way": 2, "full_closure": 3}


def weight_of(urgency: str, impact: str) -> int:
    return URGENCY_WEIGHT.get(urgency, 1) * IMPACT_WEIGHT.get(impact, 1)


@dataclass
class Scope:
    start: date
    end: date  # inclusive
    bbox: tuple[float, float, float, float] | None = None
    zone: str | None = None


@dataclass
class TaskInfo:
    request_id: uuid.UUID
    version: int
    status: str
    in_scope: bool
    fixed: bool
    slot_status: str | None
    owner_id: uuid.UUID | None = None
    preferred: date | None = None  # the owner's preferred start (else earliest), before clipping to the period
    preferred_stated: bool = True  # false when the owner gave no preferred start (``preferred`` is the earliest)


@dataclass
class CounterProposal:
    """A contested request's counter-proposal window (inclusive dates) and how the plan uses it: ``window`` (the
    task's window is the counter window) or ``fallback`` (the counter window cannot be met: the task has the
    request's own window and the counter start as its preferred start). ``fallback`` holds that task while
    ``used`` is ``window``, for a second solve when the plan leaves the request unplaced in the counter window.
    Where there is no fallback, ``used`` becomes ``kept`` (the request keeps the slot it holds, ``kept``) or
    ``unmet`` (it stays unplaced): either way the counter-proposal was not met."""

    earliest_start: date
    latest_end: date
    used: str
    fallback: Task | None = None
    # Without a fallback (the own window is not this plan's to judge, see ``build``), the slot the request holds as
    # a fixed task (``used`` becomes ``kept`` when the counter window cannot be met), why, and the slot's real first
    # day (the fixed task is clipped to the period).
    kept: Task | None = None
    kept_reason: str | None = None
    slot_day: int = 0


@dataclass
class Built:
    problem: Problem
    day0: date
    horizon: int
    info: dict[str, TaskInfo] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    conflict_source: str = "postgis"
    # (predecessor task, successor task) -> (min_gap_days, max_gap_days) of the precedences in the problem
    gaps: dict[tuple[str, str], tuple[int, int | None]] = field(default_factory=dict)
    counter: dict[str, CounterProposal] = field(default_factory=dict)
    # The slots requests this run may keep (skipped, or a counter-proposal that cannot be met) break these hard
    # rules: task id -> {"start", "end", "rules": [...]} (``kept_slot_breaks``); only tasks whose slot breaks one.
    slot_breaks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def day(self, d: date) -> int:
        return (d - self.day0).days

    def date(self, day: int) -> date:
        return self.day0 + timedelta(days=day)

    def movable(self) -> list[str]:
        return [tid for tid, i in self.info.items() if not i.fixed]


def is_fixed(row: Any) -> bool:
    if row.slot_status in FIXED_SLOT_STATUSES:
        return True
    if row.status in FIXED_REQUEST_STATUSES and row.slot_start is not None:
        return True
    return row.status in ("approved", "active")


def fixed_dates(row: Any) -> tuple[date, date]:
    """Inclusive dates of a fixed request: its slot, else its preferred/earliest start and duration."""
    if row.slot_start is not None and row.slot_end is not None:
        return row.slot_start, row.slot_end
    start = row.preferred_start or row.earliest_start
    return start, start + timedelta(days=row.duration_days - 1)


def task_of(row: Any, day0: date, horizon: int, *, fixed: bool, not_before: int = 0) -> tuple[Task | None, str | None]:
    """The scheduler task of one request row, or ``(None, reason)`` when it is not part of the plan. A movable
    task starts on day ``not_before`` at the earliest (today: no slot is granted in the past)."""
    tid = str(row.id)
    weight = weight_of(row.urgency, row.impact)
    submitted = row.created_at.timestamp()
    if fixed:
        first, last = fixed_dates(row)
        s, e = (first - day0).days, (last - day0).days + 1
        if e <= 0 or s >= horizon:
            return None, "fixed slot outside the plan period"
        s = max(s, 0)
        return Task(tid, e - s, s, e, s, weight, submitted, fixed_start=s, shift=row.shift), None
    es = max((row.earliest_start - day0).days, 0, not_before)
    le = min((row.latest_end - day0).days + 1, horizon)
    d = row.duration_days
    if le - es < d:
        return None, SKIP_WINDOW
    if ((row.preferred_start or row.earliest_start) - day0).days >= horizon:
        return None, SKIP_PREFERRED_AFTER
    pref = (row.preferred_start or row.earliest_start) - day0
    pref = min(max(pref.days, es), le - d)
    return Task(tid, d, es, le, pref, weight, submitted, shift=row.shift), None


def hard_pairs(
    session: Session, ids: Sequence[uuid.UUID], settings: Settings, *, start: date, end: date,
    whole_range: bool = False,
) -> tuple[list[tuple[uuid.UUID, uuid.UUID, str]], str]:
    """Potential hard conflicts (space, diversion) touching ``ids``, with each other or with any scheduled
    request. The conflicts domain's table records conflicts of the *current* periods (slot, else window);
    the solver needs every pair that could clash anywhere in the windows, so it is computed here with the
    same rules (``service/geo/rules.py``) in one PostGIS query."""
    pairs = repository.hard_conflicts(session, ids, dict(settings.conflict_distance_m),
                                      settings.diversion_tolerance_m, start=start, end=end, whole_range=whole_range)
    return pairs, "postgis"


def build(session: Session, scope: Scope, settings: Settings) -> Built:
    """The scheduler problem of every plannable request in the scope (see the module docstring)."""
    now = today(settings)
    day0 = max(scope.start, min(now, scope.end))  # no slot in the past
    horizon = (scope.end - day0).days + 1
    built = Built(Problem([], horizon=horizon), day0, horizon)
    rows = repository.requests_in_scope(session, bbox=scope.bbox, zone_id=scope.zone, start=day0, end=scope.end)
    counters = repository.counter_proposals(session, [r.id for r in rows if r.status in repository.COUNTER_STATUSES])
    tasks: dict[str, Task] = {}

    def movable_task(row: Any) -> tuple[Task | None, str | None]:
        task, reason = task_of(row, day0, horizon, fixed=False)
        if (task is not None and day0 > now and row.slot_start is not None
                and (row.preferred_start or row.earliest_start) < day0):
            # a plan from May does not push back works wanted before it: they keep the slot they hold
            task, reason = None, SKIP_PREFERRED_BEFORE
        if task is not None and row.slot_start is not None and (
                row.latest_end > scope.end or (day0 > now and row.earliest_start < day0)):
            # nor does a plan until May squeeze works whose window runs on past it into its period, or take
            # their slot away when the period is full: what lies beyond the period is not its to judge; the same
            # for a plan from May and works whose window begins before it (it cannot see the free days there)
            task, reason = None, SKIP_BEYOND
        return task, reason

    def kept_task(row: Any) -> Task:
        """The slot a request holds as a fixed task (a zero-length stand-in when it lies outside the period)."""
        task, _ = task_of(row, day0, horizon, fixed=True)
        return task or Task(str(row.id), 0, 0, 0, 0, weight_of(row.urgency, row.impact), row.created_at.timestamp(),
                            fixed_start=0, shift=row.shift)

    for row in rows:
        fixed = is_fixed(row)
        counter = counters.get(row.id) if not fixed else None
        if fixed:
            task, reason = task_of(row, day0, horizon, fixed=True)
        elif counter is not None:
            row, task, reason, built_counter = counter_task(row, counter, movable_task, kept_task)
            if built_counter is not None and built_counter.kept is not None:
                built_counter.slot_day = (row.slot_start - day0).days
            if built_counter is not None:
                built.counter[str(row.id)] = built_counter
        else:
            task, reason = movable_task(row)
        if (task is not None and not fixed and row.slot_status == "proposed" and row.status in CURRENT_STATUSES
                and row.slot_start is not None and row.slot_start >= day0):
            task = replace(task, current_start=(row.slot_start - day0).days)
            if (c := built.counter.get(task.id)) is not None and c.fallback is not None:
                c.fallback = replace(c.fallback, current_start=task.current_start)
        if task is None and not fixed:
            built.skipped[str(row.id)] = reason or SKIP_WINDOW
            if row.slot_start is not None:  # not planned by this run, but its slot holds the street: respect it
                fixed = True
                task, _ = task_of(row, day0, horizon, fixed=True)
        if task is None:
            continue
        tasks[task.id] = task
        built.info[task.id] = TaskInfo(row.id, row.version, row.status, True, fixed, row.slot_status, row.owner_id,
                                       row.preferred_start or row.earliest_start, row.preferred_start is not None)
    scope_ids = [built.info[t].request_id for t in tasks]
    pairs, built.conflict_source = hard_pairs(session, scope_ids, settings, start=scope.start, end=scope.end)
    members = rule_members(session, scope_ids, start=scope.start, end=scope.end)
    add_context(session, built, tasks, {x for a, b, _ in pairs for x in (a, b)} | {r.request_id for r in members})
    built.problem.tasks = list(tasks.values())
    built.problem.conflicts = conflicts_of(pairs, tasks)
    accepted = repository.accepted_opportunities(session, [built.info[t].request_id for t in tasks])
    built.problem.bundles = bundles_of(rows, tasks, accepted)
    cliques, built.problem.zones, loads = capacity_rules(members, tasks)
    built.problem.conflicts += cliques
    built.problem.tasks += loads
    forbidden = forbidden_for(session, built, [i.request_id for t, i in built.info.items() if not i.fixed])
    if forbidden:
        built.problem.tasks = [replace(t, forbidden=tuple(forbidden.get(t.id, ()))) for t in built.problem.tasks]
        for tid, c in built.counter.items():
            if c.fallback is not None:
                c.fallback = replace(c.fallback, forbidden=tuple(forbidden.get(tid, ())))
    built.slot_breaks = kept_slot_breaks(session, built, rows, tasks, pairs)
    links = repository.precedences_touching(session, [built.info[t].request_id for t in built.movable()])
    built.problem.precedences, anchors, built.gaps = precedences_of(session, links, tasks, built.day0, built.horizon,
                                                                   now)
    built.problem.tasks += anchors
    built.problem.validate()
    return built


def kept_slot_breaks(session: Session, built: Built, rows: Sequence[Any], tasks: dict[str, Task],
                     pairs: Iterable[tuple[uuid.UUID, uuid.UUID, str]]) -> dict[str, dict[str, Any]]:
    """The hard rules broken by the slots this run keeps without planning them: a request skipped with the slot it
    holds, or one whose counter-proposal may fall back to its slot (``CounterProposal.kept``). The plan works
    around such a slot as a fixed task, so nothing in the run would say that it lies in a blackout or moratorium
    added since (over the slot's own dates, also beyond the period) or clashes (``space``, ``diversion``) with
    another fixed slot in the period: the run's statistics name them (``kept_breaking_rules``) so that the
    coordination office can act. Zone and corridor capacities are not looked at here."""
    kept = {str(r.id): r for r in rows
            if r.slot_start is not None and r.slot_end is not None and str(r.id) in built.info
            and (str(r.id) in built.skipped and built.info[str(r.id)].fixed
                 or (str(r.id) in built.counter and built.counter[str(r.id)].kept is not None))}
    if not kept:
        return {}
    out: dict[str, dict[str, Any]] = {}

    def entry(tid: str) -> dict[str, Any]:
        row = kept[tid]
        return out.setdefault(tid, {"start": row.slot_start.isoformat(), "end": row.slot_end.isoformat(),
                                    "rules": []})

    first, last = min(r.slot_start for r in kept.values()), max(r.slot_end for r in kept.values())
    for r in repository.forbidden_periods(session, [r.id for r in kept.values()], dict(IMPACT_ORDER),
                                          sorted(EXCAVATING_KINDS), start=first, end=last):
        row = kept[str(r.request_id)]
        if r.start <= row.slot_end and r.end >= row.slot_start:
            entry(str(r.request_id))["rules"].append({"kind": r.kind, "id": str(r.rule_id), "name": r.name,
                                                      "start": r.start.isoformat(), "end": r.end.isoformat()})
    for a, b, kind in sorted(pairs, key=lambda p: (str(p[0]), str(p[1]), p[2])):
        for tid, other in ((str(a), str(b)), (str(b), str(a))):
            o = tasks.get(other)
            if tid not in kept or o is None or o.fixed_start is None:
                continue
            row = kept[tid]
            first_day, end_day = built.day(row.slot_start), built.day(row.slot_end) + 1
            if max(first_day, o.fixed_start, 0) < min(end_day, o.fixed_start + o.duration, built.horizon):
                rules = entry(tid)["rules"]
                if not any(x.get("request_id") == other for x in rules):
                    rules.append({"kind": kind, "request_id": other})
    return out


def fall_back(built: Built, ids: Iterable[str]) -> list[str]:
    """The counter-proposals of the tasks ``ids`` cannot be met: plan those requests in their own window, the
    counter start preferred (``CounterProposal.fallback``); a request without such a fallback (its own window
    reaches beyond the period, see ``build``) keeps the slot it holds as a fixed task, as if it had been skipped
    (``CounterProposal.kept``), or stays unplaced. Returns the tasks switched (with the zone load tasks a kept
    slot adds), whose components are to be solved again."""
    switched: dict[str, Task] = {}
    kept: list[str] = []
    for tid in ids:
        c = built.counter.get(tid)
        if c is None or c.used != "window":
            continue
        if c.fallback is not None:
            switched[tid] = c.fallback
            c.used, c.fallback = "fallback", None
        elif c.kept is not None:
            kept.append(tid)
        else:
            c.used = "unmet"
    if switched:
        built.problem.tasks = [switched.get(t.id) or t for t in built.problem.tasks]
    extra: list[str] = []
    for tid in kept:
        extra += _keep_slot(built, tid)
    return list(switched) + kept + extra


def _keep_slot(built: Built, tid: str) -> list[str]:
    """Turn the movable task ``tid`` (planned in its counter window) into the fixed task of the slot its request
    holds (``CounterProposal.kept``), as ``build`` would have made it: conflicts with other fixed tasks are facts
    and dropped, a corridor's clique keeps the others and pairs them with the slot, a zone the slot would overload
    together with the other fixed members takes the slot's demand only on the days it has room for it (as fixed
    load tasks, returned: their components must be solved again), and the precedences count the slot's real
    dates. The request is skipped (``Built.skipped``), a fixed task of the scope."""
    c = built.counter[tid]
    assert c.kept is not None
    task = c.kept
    c.used = "kept"
    tasks = {t.id: t for t in built.problem.tasks}
    tasks[tid] = task

    def fixed(x: str) -> bool:
        return x in tasks and tasks[x].fixed_start is not None

    conflicts: list[Conflict] = []
    for con in built.problem.conflicts:
        if tid not in con.tasks:
            conflicts.append(con)
            continue
        others = [x for x in con.tasks if x != tid]
        if len(others) > 1:  # a clique (movable tasks only): the others keep it
            conflicts.append(Conflict(tuple(others), con.label))
        conflicts += [Conflict(tuple(sorted((x, tid))), con.label) for x in others if not fixed(x)]
    extra: list[Task] = []
    zones: list[Zone] = []
    at, days = task.fixed_start or 0, range(task.fixed_start or 0, (task.fixed_start or 0) + task.duration)
    for z in built.problem.zones:
        q = z.demands.get(tid, 0)
        if q <= 0:
            zones.append(z)
            continue
        load: dict[int, int] = {}
        for x, n in z.demands.items():
            if x != tid and fixed(x) and n > 0:
                for day in range(tasks[x].fixed_start or 0, (tasks[x].fixed_start or 0) + tasks[x].duration):
                    load[day] = load.get(day, 0) + n
        if all(load.get(day, 0) + q <= z.capacity for day in days):
            zones.append(z)
            continue
        room = {day: min(q, z.capacity - load.get(day, 0)) for day in days}
        loads = [Task(f"{z.id}:kept:{tid}:{k}", n, a, a + n, a, 0, 0.0, fixed_start=a)
                 for k, (a, n, _) in enumerate(load_runs(room))]
        extra += loads
        demands = {x: n for x, n in z.demands.items() if x != tid}
        demands.update({t.id: n for t, (_, _, n) in zip(loads, load_runs(room), strict=True)})
        zones.append(Zone(z.id, z.capacity, demands))
    precedences: list[Precedence] = []
    for p in built.problem.precedences:
        if tid not in (p.before, p.after):
            precedences.append(p)
            continue
        if fixed(p.after if p.before == tid else p.before):
            continue  # two fixed ends: a fact, not a constraint
        # the lags counted the task's own start (0) and end (its duration): now its slot's, from where it is fixed
        shift = c.slot_day - at if p.before == tid else at - c.slot_day
        precedences.append(replace(p, min_lag=p.min_lag + shift,
                                   max_lag=None if p.max_lag is None else p.max_lag + shift))
    built.problem.tasks = list(tasks.values()) + extra
    built.problem.conflicts, built.problem.zones, built.problem.precedences = conflicts, zones, precedences
    built.info[tid].fixed = True
    built.skipped[tid] = c.kept_reason or SKIP_BEYOND
    return [t.id for t in extra]


# A proposed slot of a request in these states is kept among equally good plans (``Task.current_start``).
CURRENT_STATUSES = ("submitted", "slot_proposed")


def counter_task(
    row: Any, counter: tuple[date, date], movable_task: Any, kept_task: Any = None,
) -> tuple[Any, Task | None, str | None, CounterProposal | None]:
    """The task of a request holding a counter-proposal ``counter`` (see the module docstring): the row as
    planned (its window, or its own window with the counter start preferred), the task (or ``None`` and why it is
    not part of the plan) and the ``CounterProposal`` (``None`` when the request is not planned at all). When the
    own window gives no fallback but the request holds a slot, ``kept_task(row)`` (the slot as a fixed task) is
    what the request keeps if the counter window cannot be met."""
    first, last = max(counter[0], row.earliest_start), min(counter[1], row.latest_end)
    fields = dict(row._mapping)
    back = SimpleNamespace(**{**fields, "preferred_start": counter[0]})  # the own window, the counter start preferred
    fallback, fallback_reason = movable_task(back)
    task, reason = None, SKIP_WINDOW
    inside = None
    if (last - first).days + 1 >= row.duration_days:
        latest_start = last - timedelta(days=row.duration_days - 1)
        wished = min(max(row.preferred_start or row.earliest_start, first), latest_start)
        inside = SimpleNamespace(**{**fields, "earliest_start": first, "latest_end": last, "preferred_start": wished})
        task, reason = movable_task(inside)
    if task is not None:
        proposal = CounterProposal(counter[0], counter[1], "window", fallback)
        if fallback is None and row.slot_start is not None and kept_task is not None:
            proposal.kept, proposal.kept_reason = kept_task(row), fallback_reason
        return inside, task, None, proposal
    if fallback is not None:
        return back, fallback, None, CounterProposal(counter[0], counter[1], "fallback")
    return row, None, fallback_reason or reason, None


# Partners in these states hold nothing: their works are off, or not yet asked for.
INERT_PARTNER_STATUSES = ("withdrawn", "rejected", "draft")


@dataclass(frozen=True)
class _End:
    """A request at one end of a precedence: the task that stands for it, its first day and the day after its
    last day relative to that task's start, whether it can move, and whether its dates are known (``exact``)
    or only bounded by its window (then only minimum gaps count)."""

    task: str
    start_off: int
    end_off: int
    movable: bool
    exact: bool


def precedences_of(
    session: Session, links: Sequence[Any], tasks: dict[str, Task], day0: date, horizon: int, now: date,
) -> tuple[list[Precedence], list[Task], dict[tuple[str, str], tuple[int, int | None]]]:
    """The scheduler precedences of stored ``links`` (``request_id`` after ``predecessor_id``) that touch a movable
    task of ``tasks``, the anchor tasks they need for partners outside ``tasks`` (see the module docstring), and
    the gaps of each (predecessor task, successor task)."""
    rows = {r.id: r for r in repository.requests_by_id(
        session, sorted({x for link in links for x in (link.request_id, link.predecessor_id)}))}
    anchors: dict[str, Task] = {}
    ends: dict[uuid.UUID, _End | None] = {}

    def end_of(rid: uuid.UUID) -> _End | None:
        if rid not in ends:
            ends[rid] = _end(rid)
        return ends[rid]

    def _end(rid: uuid.UUID) -> _End | None:
        tid, task, row = str(rid), tasks.get(str(rid)), rows.get(rid)
        if task is not None and task.fixed_start is None:
            return _End(tid, 0, task.duration, True, True)
        if row is None or row.status in INERT_PARTNER_STATUSES:
            return None
        dates = partner_dates(row)
        if dates is not None:
            start, end, exact = (dates[0] - day0).days, (dates[1] - day0).days + 1, True
        else:  # only its window is known: the latest it can start, the earliest it can end
            start = (row.latest_end - day0).days - row.duration_days + 1
            end = (max(row.earliest_start, now) - day0).days + row.duration_days
            exact = False
            if end - row.duration_days > start:
                return None  # too little of its window is left: it will not run in it, and holds nothing
        if task is not None:
            at = task.fixed_start
        else:
            at = min(max(start if exact else end, 0), horizon)
            anchors[tid] = Task(tid, 0, at, at, at, 0, row.created_at.timestamp(), fixed_start=at)
        assert at is not None
        return _End(tid, start - at, end - at, False, exact)

    precedences: list[Precedence] = []
    gaps: dict[tuple[str, str], tuple[int, int | None]] = {}
    for link in links:
        before, after = end_of(link.predecessor_id), end_of(link.request_id)
        if before is None or after is None or not (before.movable or after.movable):
            continue  # a partner that holds nothing, or two fixed ends: a fact, not a constraint
        shift = before.end_off - after.start_off
        exact = before.exact and after.exact and link.max_gap_days is not None
        precedences.append(Precedence(before.task, after.task, link.min_gap_days + shift,
                                      link.max_gap_days + shift if exact else None, "after"))
        gaps[(before.task, after.task)] = (link.min_gap_days, link.max_gap_days)
    used = {t for p in precedences for t in (p.before, p.after)}
    return precedences, [a for tid, a in anchors.items() if tid in used], gaps


def partner_dates(row: Any) -> tuple[date, date] | None:
    """The inclusive dates a request holds: its slot, else (approved or active without a slot) its fixed dates."""
    if row.slot_start is not None and row.slot_end is not None:
        return row.slot_start, row.slot_end
    if row.status in ("approved", "active"):
        return fixed_dates(row)
    return None


def add_context(session: Session, built: Built, tasks: dict[str, Task], ids: Iterable[uuid.UUID]) -> None:
    """Scheduled requests outside the scope that share a conflict or a rule with it, as fixed tasks."""
    outside = sorted(x for x in ids if str(x) not in tasks and str(x) not in built.skipped)
    for row in repository.requests_by_id(session, outside):
        if row.slot_start is None or row.status not in repository.PLANNABLE_STATUSES:
            continue  # not scheduled: nothing to respect
        task, _ = task_of(row, built.day0, built.horizon, fixed=True)
        if task is not None:
            tasks[task.id] = task
            built.info[task.id] = TaskInfo(row.id, row.version, row.status, False, True, row.slot_status,
                                           row.owner_id)


def rule_members(session: Session, ids: Sequence[uuid.UUID], *, start: date, end: date) -> list[Any]:
    """Zone and corridor memberships (rows with ``rule``, ``rule_id``, ``capacity``, ``request_id``)."""
    order = dict(IMPACT_ORDER)
    out: list[Any] = []
    for rule, fetch in (("zone", repository.zone_members), ("corridor", repository.corridor_members)):
        for r in fetch(session, ids, order, start=start, end=end):
            out.append(SimpleNamespace(rule=rule, rule_id=r.rule_id, capacity=r.capacity, request_id=r.request_id))
    return out


def shift_groups(ids: Sequence[str], tasks: dict[str, Task]) -> list[tuple[str, list[str]]]:
    """The members of a capacity rule as the resources they compete for, by the conflicts domain's rule
    (``rules.capacity_excess``): day-only and night-only works never meet, ``continuous`` works take both. With
    day-only and night-only members both present, two resources (``("day", continuous and day members)``,
    ``("night", continuous and night members)``); else one (``("", ids)``), as the other would be a part of it."""
    shifts = {tasks[t].shift for t in ids}
    if not set(SHIFT_HOURS) <= shifts:
        return [("", list(ids))]
    return [(part, [t for t in ids if occupies(tasks[t].shift, part)]) for part in SHIFT_HOURS]


# How a capacity rule's resource for one shift is named (``zone:<id>:day``); ``rule_ref`` gives the rule back.
SHIFT_SUFFIXES = (":day", ":night")


def rule_ref(zone_id: str) -> str:
    """The rule (``zone:<id>``, ``corridor:<id>``) of a scheduler zone id, without its shift suffix."""
    for suffix in SHIFT_SUFFIXES:
        if zone_id.endswith(suffix):
            return zone_id[: -len(suffix)]
    return zone_id


def capacity_rules(members: Iterable[Any], tasks: dict[str, Task]) -> tuple[list[Conflict], list[Zone], list[Task]]:
    """Corridors allowing one site at a time become cliques; other corridors and zones become cumulative
    zones (demand 1 per member). Day-only and night-only works never compete (``shift_groups``): a clique or zone
    per shift then, ``continuous`` works in both (zones ``<rule>:<id>:day`` and ``…:night``). Fixed members never
    conflict with each other. Where the fixed members of a zone already overload it, their demand is replaced by
    fixed "load" tasks (returned, to add to the problem) that fill the zone up to its capacity on those days and
    carry the fixed load elsewhere: the zone keeps its capacity on every other day (otherwise the model would be
    infeasible, or the zone too large). Bundle partners in a clique are left to the scheduler, which lets them
    overlap (``Problem.bundles``)."""
    groups: dict[tuple[str, Any], tuple[int, list[str]]] = {}
    for m in members:
        tid = str(m.request_id)
        if tid in tasks:
            groups.setdefault((m.rule, m.rule_id), (m.capacity, []))[1].append(tid)
    cliques: list[Conflict] = []
    zones: list[Zone] = []
    loads: list[Task] = []
    for (rule, rule_id), (capacity, all_ids) in sorted(groups.items(), key=lambda kv: str(kv[0])):
        for shift, ids in shift_groups(sorted(set(all_ids)), tasks):
            label = f"{rule}:{rule_id}"
            _capacity_rule(rule, label, f"{label}:{shift}" if shift else label, capacity, ids, tasks, cliques,
                           zones, loads)
    return cliques, zones, loads


def _capacity_rule(rule: str, label: str, zone_id: str, capacity: int, ids: list[str], tasks: dict[str, Task],
                   cliques: list[Conflict], zones: list[Zone], loads: list[Task]) -> None:
    """One resource of a capacity rule (see :func:`capacity_rules`), appended to ``cliques``, ``zones``, ``loads``."""
    if len(ids) <= max(capacity, 0):
        return  # can never be exceeded
    movable = [t for t in ids if tasks[t].fixed_start is None]
    fixed = [t for t in ids if tasks[t].fixed_start is not None]
    if rule == "corridor" and capacity <= 1:
        if len(movable) > 1:
            cliques.append(Conflict(tuple(movable), label))
        cliques.extend(Conflict((m, f), label) for m in movable for f in fixed)
        return
    load: dict[int, int] = {}
    for f in fixed:
        t = tasks[f]
        for day in range(t.fixed_start or 0, (t.fixed_start or 0) + t.duration):
            load[day] = load.get(day, 0) + 1
    if max(load.values(), default=0) <= capacity:
        zones.append(Zone(zone_id, capacity, {t: 1 for t in ids}))
        return
    runs = load_runs({day: min(n, capacity) for day, n in load.items()})
    extra = [Task(f"{zone_id}:load:{k}", n, a, a + n, a, 0, 0.0, fixed_start=a) for k, (a, n, _) in enumerate(runs)]
    loads += extra
    demands = {t: 1 for t in movable} | {t.id: q for t, (_, _, q) in zip(extra, runs, strict=True)}
    zones.append(Zone(zone_id, max(capacity, 0), demands))


def load_runs(load: dict[int, int]) -> list[tuple[int, int, int]]:
    """Maximal runs of consecutive days with the same positive load, as ``(first day, days, load)``."""
    runs: list[tuple[int, int, int]] = []
    for day in sorted(d for d, q in load.items() if q > 0):
        if runs and runs[-1][0] + runs[-1][1] == day and runs[-1][2] == load[day]:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1, load[day])
        else:
            runs.append((day, 1, load[day]))
    return runs


def conflicts_of(pairs: Iterable[tuple[uuid.UUID, uuid.UUID, str]], tasks: dict[str, Task]) -> list[Conflict]:
    out: dict[frozenset[str], Conflict] = {}
    for a, b, kind in sorted(pairs, key=lambda p: (str(p[0]), str(p[1]), p[2])):
        x, y = str(a), str(b)
        if x == y or x not in tasks or y not in tasks:
            continue
        if tasks[x].fixed_start is not None and tasks[y].fixed_start is not None:
            continue
        out.setdefault(frozenset((x, y)), Conflict(tuple(sorted((x, y))), kind))
    # in one order (and one kind per pair) whatever order the database returned the pairs in: the greedy lists
    # blockers and a repair builds its model in the conflicts' order, and an unchanged problem must give the same
    # plan and explanations
    return sorted(out.values(), key=lambda c: c.tasks)


def bundles_of(rows: Iterable[Any], tasks: dict[str, Task],
               pairs: Iterable[tuple[uuid.UUID, uuid.UUID]] = ()) -> list[Bundle]:
    """Groups of tasks linked by ``bundle_with`` or by an accepted dig-once opportunity."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    links = [(str(row.id), str(b)) for row in rows for b in row.bundle_with or []]
    links += [(str(a), str(b)) for a, b in pairs]
    for a, b in links:
        if a in tasks and b in tasks and a != b:
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return [Bundle(f"bundle:{root}", tuple(sorted(members))) for root, members in sorted(groups.items())
            if len(members) > 1]


def forbidden_for(session: Session, built: Built, ids: Sequence[uuid.UUID]) -> dict[str, list[Forbidden]]:
    """Moratoriums (excavating, non-emergency works) and blackouts (impact above the blackout's maximum)
    as per-task forbidden periods ``[first day, last day + 1)``, clipped to the horizon."""
    out: dict[str, list[Forbidden]] = {}
    rows = repository.forbidden_periods(session, ids, dict(IMPACT_ORDER), sorted(EXCAVATING_KINDS),
                                        start=built.day0, end=built.date(built.horizon - 1))
    for r in rows:
        a = max(built.day(r.start), 0)
        b = min(built.day(r.end) + 1, built.horizon)
        if a < b:
            out.setdefault(str(r.request_id), []).append(Forbidden(a, b, f"{r.kind}:{r.name}"))
    return out
