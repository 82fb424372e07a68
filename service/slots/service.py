"""Slot allocation: plan runs (queued by the API, solved in the worker), slots on requests, locks, and the
incremental placement of a newly submitted request.

Nothing here commits, except :func:`run_plan`, which is a unit of work of its own (the worker's job): it
commits progress while it runs, then the slots in one transaction at the end.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session, object_session, sessionmaker

from service.auth.service import Principal
from service.events import service as events
from service.kit import cursor as cursors
from service.kit.db import session_scope
from service.kit.problems import InvalidField, conflict, not_found
from service.kit.time import today, wall_clock
from service.requests import repository as requests_repository
from service.requests.models import SiteRequest
from service.requests.service import parse_bbox
from service.scheduler import Conflict, Options, Precedence, Problem, Stopped, Task, Zone, check_plan, resolve, solve
from service.scheduler.explain import explain_moved, explain_unplaced
from service.scheduler.greedy import Occupancy
from service.scheduler.incremental import InsertionIndex
from service.settings import Settings
from service.slots import adapter, explanations, repository
from service.slots.models import PlanRun, Slot
from service.slots.schemas import PlanCreate

log = logging.getLogger("baustellen.slots")

SLOT_PROPOSED = "slot.proposed"
SLOT_LOCKED = "slot.locked"
SLOT_UNLOCKED = "slot.unlocked"
# Request states in which a (re)proposal moves the request to slot_proposed.
PROPOSABLE_STATUSES = ("submitted", "slot_proposed", "contested")
MAX_PLAN_DAYS = 11 * 366  # settings.max_years_ahead is 10
# Request states whose works are off: a withdrawn or rejected request gave its slot back, nothing to lock.
CLOSED_STATUSES = ("withdrawn", "rejected")


# --- plan runs: API side ------------------------------------------------------------------------


def create_plan(session: Session, created_by: uuid.UUID | None, body: PlanCreate, settings: Settings) -> PlanRun:
    if (body.bbox is None) == (body.zone is None):
        raise InvalidField("bbox", "give either bbox or zone (exactly one)")
    if body.bbox is not None:
        parse_bbox(",".join(str(v) for v in body.bbox))
        w, s_, e, n = settings.service_area
        if body.bbox[0] > e or body.bbox[2] < w or body.bbox[1] > n or body.bbox[3] < s_:
            swapped = w <= body.bbox[1] <= e and s_ <= body.bbox[0] <= n
            raise InvalidField("bbox", f"{list(body.bbox)} lies outside the service area {list(settings.service_area)}"
                               + ("; it looks like lat/lon: the order is minlon, minlat, maxlon, maxlat"
                                  if swapped else ""))
    if body.to < body.from_:
        raise InvalidField("to", f"{body.to} is before from {body.from_}")
    if body.to < today(settings):
        raise InvalidField("to", f"{body.to} has passed (today is {today(settings)}); no slot can be granted then")
    if (body.to - body.from_).days + 1 > MAX_PLAN_DAYS:
        raise InvalidField("to", f"a plan covers at most {MAX_PLAN_DAYS} days")
    if body.zone is not None:
        zone = body.zone
        try:  # zone ids are UUIDs: written in upper case (or without dashes) they name the same zone
            zone = str(uuid.UUID(zone))
        except ValueError:
            pass
        if not _zone_exists(session, zone):
            raise InvalidField("zone", f"zone {body.zone} does not exist")
        body = body.model_copy(update={"zone": zone})
    # no slot is granted in the past: a plan asked to start earlier starts today (and says so in its params)
    first = max(body.from_, today(settings))
    params = {"bbox": list(body.bbox) if body.bbox else None, "zone": body.zone,
              "from": first.isoformat(), "to": body.to.isoformat()}
    if first != body.from_:
        params["from_requested"] = body.from_.isoformat()
    if body.dry_run:  # computes the plan and its statistics, writes no slot (``_finish``)
        params["dry_run"] = True
    run = repository.add_plan(session, PlanRun(status="queued", params=params, progress=0.0, stats={}, fcfs={},
                                               created_by=created_by))
    events.emit(session, "plan.queued", organisation_id=created_by, payload={"plan_id": str(run.id), **params})
    return run


def _zone_exists(session: Session, zone_id: str) -> bool:
    if not repository.table_exists(session, "zones"):
        return False
    from sqlalchemy import text

    return bool(session.scalar(text("select count(*) from zones where id::text = :z"), {"z": zone_id}))


def get_plan(session: Session, plan_id: uuid.UUID) -> PlanRun:
    run = repository.get_plan(session, plan_id)
    if run is None:
        raise not_found("Plan", plan_id)
    return run


# ``PlanRun.stats`` key of the requests a run moved or left unplaced (``plan_outcomes``): thousands of entries
# in a large run, so plan reads leave it out and ``GET /v1/plans/{id}/requests`` pages through it.
OUTCOMES = "outcomes"


def plan_read(run: Any) -> dict[str, Any]:
    """A plan run as the API shows it (a :class:`PlanRun` or a row of ``repository.plan_light``/``plan_page``):
    without the per-request outcomes (``GET /v1/plans/{id}/requests`` pages through them)."""
    stats = {k: v for k, v in (run.stats or {}).items() if k != OUTCOMES}
    return {
        "id": run.id, "status": run.status, "progress": run.progress, "params": run.params,
        "statistics": stats or None, "fcfs": run.fcfs or None, "error": run.error,
        "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
    }


def plan_view(session: Session, plan_id: uuid.UUID) -> dict[str, Any]:
    """``GET /v1/plans/{id}``: the run without its outcomes, which are not even read from the database."""
    row = repository.plan_light(session, plan_id, leave_out=(OUTCOMES,))
    if row is None:
        raise not_found("Plan", plan_id)
    return plan_read(row)


# What the list of plan runs leaves out of each run's statistics: the per-request lists (the run's own read has them).
LIST_LEFT_OUT = (OUTCOMES, "skipped_requests", "skipped_reasons", "kept_breaking_rules_requests")


def list_plans(session: Session, *, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """``GET /v1/plans``: the runs, newest first, ``limit`` per page, and the cursor of the next page (``None``
    on the last). Each run's statistics without the per-request lists (:data:`LIST_LEFT_OUT`)."""
    after = None
    if cursor:
        created, pid = cursors.decode(cursor, 2)
        try:
            after = (datetime.fromisoformat(created), uuid.UUID(pid))
        except (ValueError, TypeError, AttributeError) as exc:
            raise cursors.refused() from exc
    rows = repository.plan_page(session, after=after, limit=limit + 1, leave_out=LIST_LEFT_OUT)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.encode([rows[-1].created_at.isoformat(), str(rows[-1].id)]) if more else None
    return [plan_read(r) for r in rows], next_cursor


OUTCOME_KINDS = ("unplaced", "moved")


def plan_requests(session: Session, plan_id: uuid.UUID, *, outcome: str | None, cursor: str | None,
                  limit: int) -> dict[str, Any]:
    """``GET /v1/plans/{id}/requests``: the requests the run left unplaced (with the reason), then those it moved
    (the most days first), each with its title and status now; ``outcome`` keeps one kind. Paged by ``limit``
    with an opaque cursor (the list of a finished run never changes)."""
    found = repository.plan_outcomes(session, plan_id)
    if found is None:
        raise not_found("Plan", plan_id)
    status, outcomes = found
    items = [{"outcome": kind, **x} for kind in OUTCOME_KINDS if outcome in (None, kind)
             for x in (outcomes or {}).get(kind, [])]
    first = 0
    if cursor:
        (first,) = cursors.decode(cursor, 1)
        if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first <= len(items):
            raise cursors.refused()
    page = items[first:first + limit]
    known = {r.id: r for r in repository.request_states(session, [uuid.UUID(x["request_id"]) for x in page])}
    for x in page:
        r = known.get(uuid.UUID(x["request_id"]))
        x["title"], x["status"] = (r.title, r.status) if r is not None else (None, None)
    more = first + limit < len(items)
    return {"plan_id": plan_id, "plan_status": status,
            "counts": {kind: len((outcomes or {}).get(kind, [])) for kind in OUTCOME_KINDS},
            "items": page, "next_cursor": cursors.encode([first + limit]) if more else None}


def scope_of(params: dict[str, Any]) -> adapter.Scope:
    bbox = tuple(params["bbox"]) if params.get("bbox") else None
    return adapter.Scope(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]), bbox,
                         params.get("zone"))  # type: ignore[arg-type]


# --- plan runs: worker side ---------------------------------------------------------------------


# A run whose process died is queued again this many times, then marked failed.
MAX_REQUEUES = 2
# A run claimed less than this long ago may not hold its runner lock yet (claim and lock are two steps).
ORPHAN_GRACE = timedelta(seconds=60)


def requeue_orphaned(session: Session, settings: Settings) -> list[uuid.UUID]:
    """Give runs left ``running`` by a dead worker (or CLI) back to the queue, or fail them after
    :data:`MAX_REQUEUES` attempts. Returns their ids."""
    out = []
    for run in repository.orphaned_runs(session, wall_clock(settings) - ORPHAN_GRACE):
        requeued = int(run.stats.get("requeued", 0))
        if requeued >= MAX_REQUEUES:
            run.status, run.finished_at = "failed", wall_clock(settings)
            run.error = (f"the process running this plan stopped {requeued + 1} times before it finished "
                         "(out of memory or killed?); start a new run, perhaps for a smaller area")
        else:
            run.status, run.progress, run.started_at = "queued", 0.0, None
            run.stats = {**run.stats, "requeued": requeued + 1}
        log.warning("plan run %s was orphaned by a dead process: %s", run.id, run.status)
        out.append(run.id)
    return out


def claim_and_run(factory: sessionmaker[Session], settings: Settings,
                  stop: threading.Event | None = None) -> uuid.UUID | None:
    """Requeue orphaned runs, then claim the oldest queued plan run (``FOR UPDATE SKIP LOCKED``) and run it.
    Returns its id (``None``: nothing queued, or ``stop`` is set)."""
    if stop is not None and stop.is_set():
        return None
    with session_scope(factory) as session:
        requeue_orphaned(session, settings)
    with session_scope(factory) as session:
        run = repository.claim_queued_plan(session)
        if run is None:
            return None
        run.status, run.started_at, run.progress = "running", wall_clock(settings), 0.01
        plan_id = run.id
    run_plan(factory, plan_id, settings, stop=stop)
    return plan_id


def run_plan(
    factory: sessionmaker[Session], plan_id: uuid.UUID, settings: Settings,
    on_progress: Callable[[float], None] | None = None, stop: threading.Event | None = None,
) -> str:
    """Solve plan run ``plan_id`` and write its slots. Commits as it goes; returns the final status.

    Any error marks the run ``failed`` with the error; slots are then left as they were. ``stop`` set (the worker
    is shutting down) ends the solve or the write within about 50 ms, rolls the write back and puts the run back
    to ``queued`` for the next worker (returns ``"queued"``). The run's runner lock is held throughout, so that
    :func:`requeue_orphaned` can tell a live run from one whose process died."""
    with repository.runner_lock(factory, plan_id):
        return _run_plan(factory, plan_id, settings, on_progress, stop)


def _run_plan(
    factory: sessionmaker[Session], plan_id: uuid.UUID, settings: Settings,
    on_progress: Callable[[float], None] | None, stop: threading.Event | None = None,
) -> str:
    try:
        with session_scope(factory) as session:
            run = repository.get_plan(session, plan_id, for_update=True)
            if run is None:
                raise LookupError(f"plan run {plan_id} does not exist")
            if run.status in ("done", "failed"):
                return run.status
            run.status, run.progress = "running", 0.02
            run.started_at = run.started_at or wall_clock(settings)
            params = dict(run.params)
        _execute(factory, plan_id, params, settings, on_progress, stop)
        return "done"
    except Stopped:
        requeue_stopped(factory, plan_id)
        return "queued"
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        log.exception("plan run %s failed", plan_id)  # the traceback goes to the log, not to the run
        mark_failed(factory, plan_id, settings, error_line(exc))
        return "failed"


def mark_failed(factory: sessionmaker[Session], plan_id: uuid.UUID, settings: Settings, error: str) -> bool:
    """Record that the run ended without a plan (``error``: one line, any key reads it), unless it ended
    already (done or failed). Returns whether it was marked."""
    with session_scope(factory) as session:
        run = repository.get_plan(session, plan_id, for_update=True)
        if run is None or run.status in ("done", "failed"):
            return False
        run.status, run.finished_at, run.error = "failed", wall_clock(settings), error
        return True


def requeue_stopped(factory: sessionmaker[Session], plan_id: uuid.UUID) -> None:
    """Put a run its worker stopped (SIGTERM) back to ``queued``, so that the next worker runs it from the start.
    Not counted as a requeue: the process did not die on it."""
    with session_scope(factory) as session:
        run = repository.get_plan(session, plan_id, for_update=True)
        if run is None or run.status in ("done", "failed"):
            return
        run.status, run.progress, run.started_at = "queued", 0.0, None
    log.warning("plan run %s interrupted: the worker is stopping; queued again, the next worker start runs it",
                plan_id)


def error_line(exc: BaseException) -> str:
    """What a failed run says about its error (any key may read it): the exception's type and message on one
    line; no traceback, no server paths."""
    message = " ".join(str(exc).split())
    return (f"{type(exc).__name__}: {message}" if message else type(exc).__name__)[:500]


def _execute(
    factory: sessionmaker[Session], plan_id: uuid.UUID, params: dict[str, Any], settings: Settings,
    on_progress: Callable[[float], None] | None, stop: threading.Event | None = None,
) -> None:
    t0 = time.perf_counter()
    with session_scope(factory) as session:
        if params.get("zone") and not _zone_exists(session, params["zone"]):
            raise LookupError(f"zone {params['zone']} was deleted after the plan was queued")
        built = adapter.build(session, scope_of(params), settings)
        repository.set_progress(session, plan_id, 0.1)
    t_build = time.perf_counter() - t0

    last = [0.0]

    def report(value: float, *, last_step: bool = False) -> None:
        """Progress to the caller at once, to the run's row at most every 0.5 s (and at a phase's last step), in
        a transaction of its own (the write transaction holds no lock on the run's row yet). ``stop`` set: raises
        :class:`Stopped` (during the write that rolls the slots back)."""
        if stop is not None and stop.is_set():
            raise Stopped("the worker is stopping")
        if on_progress is not None:
            on_progress(value)
        if time.monotonic() - last[0] < 0.5 and not last_step:
            return
        last[0] = time.monotonic()
        with session_scope(factory) as s:
            repository.set_progress(s, plan_id, round(value, 3))

    # solving: 0.1 → 0.9 by components; writing: 0.9 → 0.99
    plan = _solve_checked(built, settings,
                          lambda done, total: report(0.1 + 0.8 * done / max(total, 1), last_step=done >= total), stop)
    with session_scope(factory) as session:
        _finish(session, plan_id, built, plan, settings, t0, t_build, lambda share: report(0.9 + 0.09 * share))


def _solve_checked(built: adapter.Built, settings: Settings, progress: Callable[[int, int], None] | None,
                   stop: threading.Event | None = None) -> Any:
    options = Options(time_limit_s=settings.solver_time_limit_s, num_workers=max(2, settings.solver_workers),
                      seed=settings.solver_seed, stop=stop)
    plan = solve(built.problem, options, progress)
    switched = adapter.fall_back(built, [tid for tid in built.counter if tid in plan.unplaced])
    if switched:
        # no start in a counter-proposal's window: those requests are planned in their own window again, as
        # close to the counter start as the others allow (their explanations say so); only their components are
        # solved again
        plan = resolve(built.problem, plan, switched, options)
    violations = check_plan(built.problem, plan)
    if violations:
        raise RuntimeError(f"the plan checker found {len(violations)} violations, e.g. {violations[0].message}")
    return plan


def _finish(session: Session, plan_id: uuid.UUID, built: adapter.Built, plan: Any, settings: Settings, t0: float,
            t_build: float, progress: Callable[[float], None] | None = None) -> None:
    """Write the slots, the statistics and the FCFS comparison, mark the run done (one transaction). ``progress``
    hears how far the write has got (0..1)."""
    t_write = time.perf_counter()
    params = repository.plan_params(session, plan_id)
    written = (write_plan(session, plan_id, built, plan, settings, progress) if not params.get("dry_run")
               else {})
    run = repository.get_plan(session, plan_id, for_update=True)
    assert run is not None
    requeued = (run.stats or {}).get("requeued")
    run.stats = statistics(built, plan, written, t_build)
    if params.get("dry_run"):
        run.stats["dry_run"] = True
    if requeued:  # how often a dead process left this run behind stays on it
        run.stats["requeued"] = requeued
    run.stats["write_time_s"] = round(time.perf_counter() - t_write, 3)
    run.stats["wall_time_s"] = round(time.perf_counter() - t0, 3)
    run.fcfs = fcfs_comparison(built, plan)
    run.status, run.progress, run.finished_at = "done", 1.0, wall_clock(settings)
    events.emit(session, "plan.done", organisation_id=run.created_by,
                payload={"plan_id": str(plan_id), "placed": run.stats["placed"], "unplaced": run.stats["unplaced"],
                         **({"dry_run": True} if params.get("dry_run") else {})})


def plan_in_session(session: Session, params: dict[str, Any], settings: Settings,
                    created_by: uuid.UUID | None = None) -> PlanRun:
    """Run a plan at once inside ``session`` (no worker, nothing committed here): ``baustellen demo load`` plans
    the example this way before the coordination office's decisions, which need the data uncommitted."""
    t0 = time.perf_counter()
    run = repository.add_plan(session, PlanRun(status="running", params=params, progress=0.1, stats={}, fcfs={},
                                               created_by=created_by, started_at=wall_clock(settings)))
    built = adapter.build(session, scope_of(params), settings)
    t_build = time.perf_counter() - t0
    plan = _solve_checked(built, settings, None)
    _finish(session, run.id, built, plan, settings, t0, t_build)
    return run


def write_plan(session: Session, plan_id: uuid.UUID, built: adapter.Built, plan: Any, settings: Settings,
               progress: Callable[[float], None] | None = None) -> dict:
    """Slots for every movable task of the plan. Requests that changed since the problem was built (new
    version, or their slot got locked/approved meanwhile) are left alone and counted as ``stale``. ``progress``
    hears the share done (0..1): the slots up to 0.6, the conflicts of the moved ones up to 0.8, then the nearest
    feasible windows of the unplaced ones."""
    movable = built.movable()
    ids = [built.info[t].request_id for t in movable]
    if len(ids) > REFRESH_ALL_ABOVE:
        # a full conflict refresh may follow (refresh_conflicts): take its lock before the request rows, never
        # while holding them (the transactions it waits for may need those rows; the conflicts domain explains)
        lock_full_refresh = domain_function("conflicts", "lock_full_refresh")
        if lock_full_refresh is not None:
            lock_full_refresh(session)
    reqs = repository.requests_for_update(session, ids)
    slots = repository.slots_of(session, ids)
    tasks = built.problem.task_map()  # once: looking a task up per slot must not rebuild it
    # the conflicts of the requests the proposals below change are refreshed once, at the end, with the moved
    # ones (the conflicts domain's hook collects them instead of refreshing each request as it is proposed)
    deferred: set[uuid.UUID] = set()
    session.info[DEFERRED_CONFLICTS] = deferred
    try:
        counts, moved, unplaced = _write_slots(session, plan_id, built, plan, settings, progress, movable, reqs,
                                               slots, tasks)
    finally:
        session.info.pop(DEFERRED_CONFLICTS, None)
    if progress is not None:
        progress(0.6)
    refresh_conflicts(session, [*moved, *sorted(deferred - set(moved))], settings)
    # the scheduler's nearest windows only know this plan's problem (windows and rules inside the period):
    # look again against every stored slot and rule, now that the new slots are written (for at most
    # NEAREST_CHECKED_MAX requests and NEAREST_BUDGET_S seconds: the request rows stay locked meanwhile)
    session.flush()
    started = time.monotonic()
    for k, (req, row, info, written) in enumerate(unplaced):
        if progress is not None:
            progress(0.8 + 0.2 * k / len(unplaced))
        if k < NEAREST_CHECKED_MAX and time.monotonic() - started < NEAREST_BUDGET_S:
            info = {**info, "nearest_feasible": nearest_feasible(session, req, settings)}
        if written:
            row.unplaced = info
        elif row.unplaced != info or (row.explanation or {}).get("method") != "plan":
            repository.put_slot(session, req.id, start=None, end=None, status="unplaced", provisional=False,
                                explanation={"plan_id": str(plan_id), "method": "plan"}, unplaced=info,
                                plan_id=plan_id)
        # else: unplaced as before, for the same reason: rewriting the row would make a new version for nothing
    return counts


# ``service.conflicts.hooks.DEFERRED``: while this ``session.info`` entry holds a set, the conflicts domain collects
# the requests changed instead of refreshing their conflicts one by one.
DEFERRED_CONFLICTS = "conflicts.deferred_refresh"


def _write_slots(session: Session, plan_id: uuid.UUID, built: adapter.Built, plan: Any, settings: Settings,
                 progress: Callable[[float], None] | None, movable: list[str], reqs: dict[uuid.UUID, SiteRequest],
                 slots: dict[uuid.UUID, Slot], tasks: dict[str, Task],
                 ) -> tuple[dict[str, int], list[uuid.UUID], list[tuple[SiteRequest, Slot, dict[str, Any], bool]]]:
    """:func:`write_plan`'s slot rows and proposals: the counts, the requests whose dates changed, the unplaced
    ones (the request, its slot row, why, and whether the row was written already)."""
    counts = {"proposed": 0, "unchanged": 0, "unplaced": 0, "stale": 0}
    moved: list[uuid.UUID] = []  # slots whose dates changed: their stored conflicts follow them
    # requests left unplaced: the request, its slot row, why, and whether the row was written already (one left
    # unplaced before is rewritten only if its reason changed: see the end)
    unplaced: list[tuple[SiteRequest, Slot, dict[str, Any], bool]] = []
    for k, tid in enumerate(movable):
        if progress is not None and k % 25 == 0:
            progress(0.6 * k / max(len(movable), 1))
        info = built.info[tid]
        req, slot = reqs.get(info.request_id), slots.get(info.request_id)
        if req is None or req.version != info.version or (slot is not None and slot.status in ("locked", "approved")):
            counts["stale"] += 1
            continue
        if tid in plan.starts:
            start = built.date(plan.starts[tid])
            end = start + timedelta(days=req.duration_days - 1)
            explanation = placed_explanation(built, tasks[tid], plan.starts[tid], plan.explanations.get(tid),
                                             plan_id)
            unchanged = slot is not None and slot.status == "proposed" and (slot.start, slot.end) == (start, end)
            if slot is None or (slot.start, slot.end) != (start, end):
                moved.append(req.id)
            if (unchanged and req.status == "slot_proposed" and slot is not None and not slot.provisional
                    and _same_explanation(slot.explanation, explanation)):
                # the proposal stands as it is: rewriting it (only the plan id would change) would make a new
                # version of the request (its ETag, the feeds) for nothing
                counts["unchanged"] += 1
                continue
            # kept in ``slots``: the session holds its objects weakly, and the proposal below and the history
            # read this row again (a new row dropped here would be loaded from the database each time)
            slots[req.id] = repository.put_slot(session, req.id, start=start, end=end, status="proposed",
                                                provisional=False, explanation=explanation, unplaced=None,
                                                plan_id=plan_id)
            if unchanged and req.status == "slot_proposed":
                counts["unchanged"] += 1
                continue
            counts["proposed"] += 1
            if req.status in PROPOSABLE_STATUSES:
                propose(session, req, start, end, explanation, None, settings=settings, plan_id=plan_id)
        else:
            counts["unplaced"] += 1
            info = unplaced_info(built, tid, plan, period_cut(built, tid, req, today(settings)))
            if (slot is not None and slot.status == "unplaced" and slot.start is None and not slot.provisional
                    and req.status not in ("slot_proposed", "contested")):
                unplaced.append((req, slot, info, False))
                continue
            if slot is not None and slot.start is not None:
                moved.append(req.id)
            unplaced.append((req, repository.put_slot(
                session, req.id, start=None, end=None, status="unplaced", provisional=False,
                explanation={"plan_id": str(plan_id), "method": "plan"}, unplaced=info, plan_id=plan_id), info, True))
            hook = workflow_hook("unplace")
            if hook is not None and req.status in ("slot_proposed", "contested"):  # nothing left to answer
                hook(session, req, settings, plan_id=plan_id)
    return counts, moved, unplaced


def _same_explanation(stored: dict | None, new: dict) -> bool:
    """Whether a stored slot explanation says what ``new`` says, apart from which plan run wrote it."""
    def strip(ex: dict | None) -> dict:
        return {k: v for k, v in (ex or {}).items() if k != "plan_id"}
    return strip(stored) == strip(new)


# A plan run looks up the nearest feasible windows of at most this many unplaced requests against the database
# (about 10-100 ms each), and for at most NEAREST_BUDGET_S seconds in all (the write holds the rows of every
# request in scope meanwhile); the others keep the scheduler's estimate from the plan's own problem.
NEAREST_CHECKED_MAX = 200
NEAREST_BUDGET_S = 5.0


# Above this many moved slots one set-based rebuild of the conflict graph beats refreshing them one by one.
REFRESH_ALL_ABOVE = 300


def refresh_conflicts(session: Session, ids: list[uuid.UUID], settings: Settings) -> None:
    """The stored conflicts record the current periods (slot, else window): after slots moved, recompute the
    conflicts of those requests (or the whole graph when many moved). Nothing happens without the conflicts
    domain. The full refresh needs its lock without waiting (``write_plan`` takes it before the request rows; a
    caller holding rows must not wait for it): when another full refresh holds it, the requests are refreshed one
    by one, which queues them until that refresh has ended."""
    if not ids:
        return
    if len(ids) > REFRESH_ALL_ABOVE:
        refresh_all = domain_function("conflicts", "refresh_all")
        lock_full_refresh = domain_function("conflicts", "lock_full_refresh")
        if refresh_all is not None and lock_full_refresh is not None and lock_full_refresh(session, wait=False):
            refresh_all(session, settings=settings)
            return
    refresh = domain_function("conflicts", "refresh_for_request")
    if refresh is not None:
        for rid in ids:
            refresh(session, rid, settings)


def propose(
    session: Session, req: SiteRequest, start: date, end: date, explanation: dict, actor: Any, *,
    settings: Settings, plan_id: uuid.UUID | None = None,
) -> None:
    """Hand a proposed slot to the workflow (state ``slot_proposed``, history, event); without the workflow
    domain, set the state and emit ``slot.proposed`` here."""
    hook = workflow_hook("propose_slot")
    if hook is not None:
        hook(session, req, start, end, explanation, actor, settings=settings, plan_id=plan_id)
        return
    if req.status != "slot_proposed":
        req.status = "slot_proposed"
        session.flush()
    events.emit(session, SLOT_PROPOSED, request_id=req.id, organisation_id=req.owner_id,
                payload={"start": start.isoformat(), "end": end.isoformat(), "status": req.status})


def placed_explanation(built: adapter.Built, task: Task, start: int, ex: dict | None, plan_id: uuid.UUID | None,
                       method: str = "plan") -> dict[str, Any]:
    """A placed slot's explanation, against the owner's own preferred start (a plan period may have clipped the
    scheduler's): deviation, what blocked the days in between, and a German and an English summary."""
    info = built.info.get(task.id)
    preferred = info.preferred if info and info.preferred else built.date(task.preferred)
    stated = info.preferred_stated if info else True
    start_date = built.date(start)
    moved = ex is not None and start != task.preferred
    blockers = explanations.blockers(built, ex["blockers"], task.id) if moved and ex.get("blockers") else []
    summary = explanations.placed_summary(start_date, preferred, blockers, bool(ex and ex.get("note")),
                                          (built.day0, built.date(built.horizon - 1)), task.duration, stated)
    out = {
        "method": method, "plan_id": str(plan_id) if plan_id else None,
        "preferred_start": preferred.isoformat(), "preferred_stated": stated,
        "deviation_days": abs((start_date - preferred).days),
        "summary": summary,
        "blockers": blockers,
    }
    counter = built.counter.get(task.id)
    if counter is not None:
        out["counter_proposal"] = counter_json(counter)
        note = explanations.counter_note(counter.earliest_start, counter.latest_end, counter.used == "window")
        out["summary"] = {lang: f"{summary[lang]} {note[lang]}" for lang in ("de", "en")}
    return out


def counter_json(counter: adapter.CounterProposal) -> dict[str, Any]:
    """The counter-proposal a plan worked with, in a slot's explanation: its window and whether the plan kept to
    it (``met``) or fell back to the request's own window with the counter start preferred."""
    return {"earliest_start": counter.earliest_start.isoformat(), "latest_end": counter.latest_end.isoformat(),
            "met": counter.used == "window"}


def period_cut(built: adapter.Built, tid: str, req: Any, now: date) -> tuple[date | None, date | None] | None:
    """Where a plan's period cut the window task ``tid`` (request ``req``) was planned in: the period's first day
    when the window begins before it (and the period does not simply begin today: no slot is granted in the
    past anyway), its last day when the window runs on past it; None when the plan saw the whole window."""
    c = built.counter.get(tid)
    first, last = ((c.earliest_start, c.latest_end) if c is not None and c.used in ("window", "unmet")
                   else (req.earliest_start, req.latest_end))
    period_first, period_last = built.day0, built.date(built.horizon - 1)
    cut = (period_first if first < period_first and period_first > now else None,
           period_last if last > period_last else None)
    return cut if cut != (None, None) else None


def unplaced_info(built: adapter.Built, tid: str, plan: Any,
                  part: tuple[date | None, date | None] | None = None) -> dict[str, Any]:
    """Why a request got no slot: a German and an English reason, the blocking requests (a small set that
    together make it impossible), the blockers and the nearest window bounds that would let it fit. ``detail`` is
    the scheduler's own English wording (for support), ``detail_text`` the same in German and English. ``part``:
    where a plan period cut the window (:func:`period_cut`); the reason then speaks of the part inside, and
    ``window_part`` (``{"from", "to"}``, null where not cut) records it."""
    why = plan.unplaced.get(tid)
    ex = plan.explanations.get(tid) or {}
    blockers = explanations.blockers(built, ex.get("blockers", []), tid)
    blocking = explanations.blocking_requests(blockers)
    if why is not None:
        blocking += [str(built.info[r].request_id) for r in why.blocking if r in built.info]
    nearest = {}
    near = ex.get("nearest") or {}
    if "extend_latest_end_to" in near:
        nearest["latest_end"] = built.date(near["extend_latest_end_to"] - 1).isoformat()
    if "extend_earliest_start_to" in near:
        nearest["earliest_start"] = built.date(near["extend_earliest_start_to"]).isoformat()
    free_from = built.date(ex["free_from"]) if ex.get("free_from") is not None else None
    detail = why.reason if why else ex.get("reason", "not placed")
    out = {"reason": explanations.unplaced_reason(ex.get("code"), blockers, free_from, part), "detail": detail,
           "detail_text": explanations.detail_text(detail, built.day0),
           "blocking": list(dict.fromkeys(blocking)), "blockers": blockers, "nearest_feasible": nearest or None}
    if part is not None:
        out["window_part"] = {"from": part[0].isoformat() if part[0] else None,
                              "to": part[1].isoformat() if part[1] else None}
    counter = built.counter.get(tid)
    if counter is not None:
        out["counter_proposal"] = counter_json(counter)
    return out


def movable_objective(built: adapter.Built, parts: Any, starts: dict[str, int]) -> dict[str, Any]:
    """The objective parts of a plan (``parts``, the scheduler's, over every task of the problem) restricted to
    the movable requests, the ones the plan decides on: ``placed_work`` (weight × duration) and ``makespan``
    (the day after the last placed day, counted from the plan's ``from``) over them only. The scheduler's own
    figures also count the fixed tasks (locked, approved and active slots, neighbours outside the scope, zone
    load), whose slots may reach far beyond the period. ``unplaced_work``, ``weighted_deviation`` and
    ``unplaced_count`` are the scheduler's (a fixed task is never unplaced nor moved), as is ``bundle_span``
    (a bundle's span counts its fixed members too: the bundle is kept together with them)."""
    tasks = built.problem.task_map()
    placed = [tasks[t] for t in built.movable() if t in starts]
    return {**asdict(parts), "placed_work": sum(t.work for t in placed),
            "makespan": max((starts[t.id] + t.duration for t in placed), default=0)}


def statistics(built: adapter.Built, plan: Any, written: dict, t_build: float) -> dict[str, Any]:
    """A plan run's figures. ``requests``, ``placed``, ``unplaced``, the moved days and ``objective`` are about
    the movable requests of the scope (the ones the plan decides on); ``fixed`` counts the fixed tasks (locked,
    approved or active slots in the scope and the scheduled neighbours outside it, ``context``), which the plan
    only works around; ``objective_all_tasks`` is the scheduler's objective over every task, fixed ones
    included."""
    tasks = built.problem.task_map()
    movable = built.movable()
    devs = [abs(plan.starts[t] - tasks[t].preferred) for t in movable if t in plan.starts]
    objective = movable_objective(built, plan.objective, plan.starts)
    last = built.date(objective["makespan"] - 1) if objective["makespan"] else None
    skipped = dict(list(built.skipped.items())[:100])
    comp_status: dict[str, int] = {}
    for c in plan.stats:
        comp_status[c.status] = comp_status.get(c.status, 0) + 1
    fixed = sum(i.fixed for i in built.info.values())
    context = sum(not i.in_scope for i in built.info.values())
    breaking = kept_breaking_rules(built)
    return {
        "from": built.day0.isoformat(), "horizon_days": built.horizon,
        "requests": len(movable), "fixed": fixed, "fixed_in_scope": sum(
            i.fixed and i.in_scope for i in built.info.values()), "context": context,
        "placed": len(devs), "unplaced": sum(t in plan.unplaced for t in movable),
        "placed_until": last.isoformat() if last else None,
        "skipped": len(built.skipped), "skipped_requests": skipped,
        "skipped_reasons": {rid: explanations.skipped_reason(why) for rid, why in skipped.items()},
        "precedences": len(built.problem.precedences),
        "conflicts": len(built.problem.conflicts), "conflict_source": built.conflict_source,
        "zones": len(built.problem.zones), "bundles": len(built.problem.bundles),
        "forbidden_periods": sum(len(t.forbidden) for t in built.problem.tasks),
        "moved_days_total": sum(devs), "moved_days_max": max(devs, default=0),
        "moved_requests": sum(d > 0 for d in devs),
        "objective": objective, "objective_all_tasks": asdict(plan.objective),
        "lower_bound": plan.lower_bound, "upper_bound": plan.upper_bound,
        "solver_status": plan.status, "components": len(plan.stats), "component_status": comp_status,
        "violations": 0, "build_time_s": round(t_build, 3), "solve_time_s": round(plan.wall_time_s, 3),
        "slots": written,
        "skipped_by_reason": dict(sorted(Counter(built.skipped.values()).items(), key=lambda x: (-x[1], x[0]))),
        "kept_breaking_rules": len(breaking), "kept_breaking_rules_requests": dict(list(breaking.items())[:100]),
        OUTCOMES: plan_outcomes(built, plan),
    }


def kept_breaking_rules(built: adapter.Built) -> dict[str, dict[str, Any]]:
    """The requests the run skipped and whose slot it kept although that slot breaks a hard rule (a blackout or
    moratorium, a clash with another fixed slot: ``adapter.kept_slot_breaks``), by request id. ``violations``
    (the checker's count over what the run wrote) cannot see them: the run did not write them."""
    return {str(built.info[tid].request_id): {**found, "reason": built.skipped[tid]}
            for tid, found in built.slot_breaks.items()
            if tid in built.skipped and tid in built.info and built.info[tid].fixed}


def plan_outcomes(built: adapter.Built, plan: Any) -> dict[str, list[dict[str, Any]]]:
    """What the run decided for each movable request that is not simply where it was wanted: ``moved`` (placed
    away from its preferred start, or away from the proposed slot it held: ``previous_start``), ``unplaced``
    (with the reason). Stored on the run (``OUTCOMES``), so that a dry run can be read too."""
    tasks = built.problem.task_map()
    moved, unplaced = [], []
    for tid in built.movable():
        info, task = built.info[tid], tasks[tid]
        if tid in plan.starts:
            start = built.date(plan.starts[tid])
            preferred = info.preferred or built.date(task.preferred)
            previous = built.date(task.current_start) if task.current_start is not None else None
            if plan.starts[tid] != task.preferred or (previous is not None and previous != start):
                moved.append({"request_id": str(info.request_id), "preferred_start": preferred.isoformat(),
                              "previous_start": previous.isoformat() if previous else None,
                              "start": start.isoformat(),
                              "end": (start + timedelta(days=task.duration - 1)).isoformat(),
                              "deviation_days": abs((start - preferred).days)})
        elif tid in plan.unplaced:
            unplaced.append({"request_id": str(info.request_id), "reason": unplaced_info(built, tid, plan)["reason"]})
    moved.sort(key=lambda x: (-x["deviation_days"], x["request_id"]))
    return {"moved": moved, "unplaced": unplaced}


def fcfs_comparison(built: adapter.Built, plan: Any) -> dict[str, Any]:
    """First-come-first-served on the same problem, over the same movable requests as :func:`statistics` (its
    ``objective`` as there; ``objective_all_tasks`` the scheduler's, fixed tasks included)."""
    if plan.fcfs is None:
        return {}
    tasks = built.problem.task_map()
    movable = set(built.movable())
    f, p = plan.fcfs.objective, plan.objective
    devs = [abs(s - tasks[t].preferred) for t, s in plan.fcfs.starts.items() if t in movable]

    def saved(a: int, b: int) -> float | None:
        return round(100.0 * (a - b) / a, 2) if a else None

    return {
        "objective": movable_objective(built, f, plan.fcfs.starts), "objective_all_tasks": asdict(f),
        "unplaced": sum(t not in plan.fcfs.starts for t in movable),
        "placed": sum(t in plan.fcfs.starts for t in movable),
        "moved_days_total": sum(devs), "moved_days_max": max(devs, default=0),
        "unplaced_work_saved_pct": saved(f.unplaced_work, p.unplaced_work),
        "deviation_saved_pct": saved(f.weighted_deviation, p.weighted_deviation),
        "plan_better_or_equal": p.lex_key() <= f.lex_key(),
    }


# --- slots on requests --------------------------------------------------------------------------


def public_slot_extras(req: SiteRequest) -> dict[str, Any]:
    """The slot and unplaced reason as other organisations read them: their sentences, the titles of other
    requests and a coordinator's words in them scrubbed of personal data (``feeds.common.scrub_texts``), as the
    request's own title and description are; the owner and the coordinators read them as written
    (:func:`slot_extras`)."""
    from service.feeds.common import scrub_texts  # pure text rules

    extras = slot_extras(req)
    slot, unplaced = extras["slot"], extras["unplaced"]
    # a contested request's counter-proposal is between its owner and the coordination office (the workflow's
    # ``read_extras`` gives it to full readers): a plan's explanation of it, and its preferred start, stay with them
    if slot is not None and "counter_proposal" in slot["explanation"]:
        kept = {k: v for k, v in slot["explanation"].items() if k in ("method", "plan_id")}
        slot = {**slot, "explanation": {**kept, "summary": explanations.placed_for(slot["start"], slot["end"])}}
    if unplaced is not None and "counter_proposal" in unplaced:
        unplaced = {k: v for k, v in unplaced.items() if k != "counter_proposal"}
    return scrub_texts({"slot": slot, "unplaced": unplaced})


def slot_extras(req: SiteRequest) -> dict[str, Any]:
    session = object_session(req)
    slot = repository.get_slot(session, req.id) if session is not None else None
    if slot is None:
        return {"slot": None, "unplaced": None}
    if slot.status == "unplaced" or slot.start is None:
        return {"slot": None, "unplaced": slot.unplaced or {
            "reason": {"de": "Nicht eingeplant.", "en": "Not placed."}, "blocking": []}}
    return {"slot": {"start": slot.start, "end": slot.end, "status": slot.status, "provisional": slot.provisional,
                     "plan_id": slot.plan_id, "explanation": slot.explanation or {}}, "unplaced": None}


def set_lock(session: Session, principal: Principal, request_id: uuid.UUID, *, locked: bool, settings: Settings,
             if_match: str | None = None) -> SiteRequest:
    """Lock (``locked``) or unlock the request's slot. A lock makes the slot fixed, so it passes what a manual
    proposal passes (the workflow domain's ``lock_checks``, when present): a slot that clashes with approved or
    locked slots by the hard rules (409 ``slot-conflict``), or breaks a precedence (``after`` links, either way)
    against the other request's locked or approved slot (409 ``precedence``, naming the links and the starts they
    allow), is refused. Once locked, the submitted requests' provisional slots that clash with it or break the order
    with it are placed again around it, as after an approval (the workflow's ``lock_placed``: explanation
    ``fixed_by``, history ``slot.placed``, event ``slot.displaced``); what it still breaks against a proposed slot
    stays in the slot's explanation as ``precedence_warnings`` and the answer warns (:func:`lock_warnings`)."""
    from service.requests.service import check_if_match

    req = requests_repository.get(session, request_id, for_update=True)
    if req is None:
        raise not_found("Request", request_id)
    check_if_match(req, if_match)  # a slot moved since the coordinator read it is not locked blindly
    if req.status in CLOSED_STATUSES:
        raise conflict(f"This request is {req.status} and gave its slot back; there is nothing to "
                       f"{'lock' if locked else 'unlock'}.", status_now=req.status)
    slot = repository.get_slot(session, request_id, for_update=True)
    if slot is not None and slot.start is None:  # placed and left out: a plan run (or the placement) said why
        why = ((slot.unplaced or {}).get("reason") or {}).get("en")
        raise conflict(f"This request is unplaced: it has no slot to {'lock' if locked else 'unlock'}"
                       + (f" ({why.rstrip('.')})." if why else ".")
                       + " It gets one when a plan run or a proposal places it.",
                       reason=(slot.unplaced or {}).get("reason"))
    if slot is None:
        raise conflict(f"This request has no slot to {'lock' if locked else 'unlock'}; run a plan first.")
    if slot.status == "approved":
        raise conflict("The slot is approved; approved slots are fixed and cannot be locked or unlocked.")
    target = "locked" if locked else "proposed"
    if slot.status != target:
        explanation = {**(slot.explanation or {}), "locked_by" if locked else "unlocked_by": str(principal.org_id)}
        if locked and "as_of" not in explanation:
            explanation = frozen_explanation(explanation, slot, today(settings))
        check = workflow_hook("lock_checks") if locked else None
        if check is not None:  # refuses (409) before anything changed; the warnings replace the proposal's
            assert slot.end is not None
            warned = check(session, req, slot.start, slot.end, settings)
            explanation.pop("precedence_warnings", None)
            if warned:
                explanation["precedence_warnings"] = warned
        slot.status, slot.provisional = target, False
        slot.explanation = explanation
        session.flush()
        placed = workflow_hook("lock_placed") if locked else None
        if placed is not None:  # a locked slot is fixed: provisional neighbours it clashes with move, as on approval
            placed(session, req, settings)
        events.emit(session, SLOT_LOCKED if locked else SLOT_UNLOCKED, request_id=req.id,
                    organisation_id=principal.org_id,
                    payload={"start": slot.start.isoformat(), "end": slot.end.isoformat() if slot.end else None})
        _record_history(session, req, SLOT_LOCKED if locked else SLOT_UNLOCKED, principal)
    return req


def frozen_explanation(explanation: dict[str, Any], slot: Slot, on: date) -> dict[str, Any]:
    """A slot's explanation as a lock keeps it: written for the plan run (or placement) that proposed the slot, it
    is not rewritten while the slot is locked, so the blockers it names may have moved since. ``as_of`` records
    the run (``plan_id``) and the day of the lock (``locked_on``), and the summary says so."""
    plan_id = explanation.get("plan_id") or (str(slot.plan_id) if slot.plan_id else None)
    day_de, day_en = explanations.date_de(on), explanations.date_en(on)
    source = ("des Planungslaufs, der diesen Zeitraum vorgeschlagen hat", "of the plan run that proposed these dates"
              ) if plan_id else ("der Einplanung dieses Zeitraums", "of the placement that chose these dates")
    note = {"de": f"(Begründung {source[0]}; seit der Sperre am {day_de} nicht aktualisiert: die genannten "
                  "Hindernisse können sich inzwischen verschoben haben.)",
            "en": f"(Explanation {source[1]}; not updated since the lock on {day_en}: the obstacles it names may "
                  "have moved since.)"}
    out = {**explanation, "as_of": {"plan_id": plan_id, "locked_on": on.isoformat(), "note": note}}
    summary = explanation.get("summary")
    if isinstance(summary, dict):
        out["summary"] = {lang: f"{summary[lang]} {note[lang]}" if summary.get(lang) else note[lang]
                          for lang in ("de", "en")}
    return out


def lock_warnings(session: Session, req: SiteRequest) -> list[str]:
    """What the answer to a lock warns about: the precedences the locked slot breaks against proposed slots, as
    the lock found them ("German / English")."""
    slot = repository.get_slot(session, req.id)
    if slot is None or slot.status != "locked":
        return []
    return explanations.precedence_warnings(slot.explanation)


def _record_history(session: Session, req: SiteRequest, action: str, principal: Principal | None, *,
                    reason: str | None = None, force: bool = True) -> None:
    """Who locked or unlocked a slot belongs in the request's history (kept by the workflow domain, if any)."""
    record = workflow_hook("record")
    if record is not None:
        record(session, req, action, principal, reason=reason, force=force)


def lock_fits(req: SiteRequest, slot: Slot) -> bool:
    """Whether a locked slot still lies in the request's window and lasts its duration."""
    return (slot.start is not None and slot.end is not None and req.earliest_start <= slot.start
            and slot.end <= req.latest_end and (slot.end - slot.start).days + 1 == req.duration_days)


def replace_outdated_lock(session: Session, req: SiteRequest, principal: Principal | None,
                          settings: Settings) -> Slot:
    """An edit of the request made its locked slot no longer fit (window, duration): release the lock and place
    the request again (provisional), with the reason in the slot's explanation, the history and an event."""
    slot = repository.get_slot(session, req.id, for_update=True)
    assert slot is not None and slot.start is not None and slot.end is not None
    old_start, old_end = slot.start, slot.end
    texts = explanations.lock_released((old_start, old_end), (req.earliest_start, req.latest_end),
                                       req.duration_days)
    reason = f"{texts['de']} / {texts['en']}"
    _record_history(session, req, "update", principal, force=False)  # the edit first, then its consequence
    repository.delete_slot(session, req.id)
    session.flush()
    new = place_incrementally(session, req, settings, cause=EDITED)
    new.explanation = {**(new.explanation or {}), "lock_released": texts}
    session.flush()
    events.emit(session, SLOT_UNLOCKED, request_id=req.id, organisation_id=req.owner_id,
                payload={"start": old_start.isoformat(), "end": old_end.isoformat(), "reason": reason})
    _record_history(session, req, SLOT_UNLOCKED, None, reason=reason)
    return new


def workflow_hook(name: str) -> Callable[..., Any] | None:
    """A function of the workflow domain's service, or ``None`` when that domain (or the function) is absent:
    slots works without the workflow, and importing it lazily keeps the two domains free of an import cycle."""
    return domain_function("workflow", name)


def domain_function(domain: str, name: str) -> Callable[..., Any] | None:
    """``service.<domain>.service.<name>``, or ``None`` when that domain (or the function) is absent."""
    try:
        module = importlib.import_module(f"service.{domain}.service")
    except ImportError:
        return None
    return getattr(module, name, None)


# --- incremental placement ----------------------------------------------------------------------


@dataclass
class Neighbourhood:
    """The small problem around one request (see :func:`place_incrementally`): everything but the request itself
    is in ``built.problem``; ``new_task`` is the request, with ``partners`` (tasks it conflicts with, each with
    the rule that says so: ``space``, ``diversion``, ``corridor:<id>``), ``demand`` (its demand per zone) and
    ``zones`` (with its demand) to add it, and ``precedences`` (those linking it with the others); ``starts`` are
    the others' current starts."""

    built: adapter.Built
    tasks: dict[str, Task]
    new_task: Task
    partners: dict[str, str]
    demand: dict[str, int]
    zones: list[Zone]
    starts: dict[str, int]
    precedences: list[Precedence]


def neighbourhood(session: Session, req: Any, settings: Settings, *, window: tuple[date, date] | None = None,
                  repair: bool = True) -> Neighbourhood:
    """The neighbourhood of ``req`` over its window (or ``window`` instead). With ``repair`` the provisional
    neighbours are movable tasks (and everything they conflict with anywhere in their windows is fetched);
    without it every other task is fixed where its slot is."""
    tid = str(req.id)
    es, le = window or (max(req.earliest_start, today(settings)), req.latest_end)
    pairs, _ = adapter.hard_pairs(session, [req.id], settings, start=es, end=le, whole_range=window is not None)
    neighbours = sorted({x for a, b, _ in pairs for x in (a, b) if x != req.id})
    rows = {r.id: r for r in repository.requests_by_id(session, neighbours) if r.slot_start is not None}
    neighbours = [n for n in neighbours if n in rows]
    ring: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    if neighbours and repair:
        # the repair may move a neighbour anywhere in its window: its own conflicts over all of it
        first = min(min(r.slot_start, r.earliest_start) for r in rows.values())
        last = max(max(r.slot_end, r.latest_end) for r in rows.values())
        ring, _ = adapter.hard_pairs(session, neighbours, settings, start=first, end=last)
        extra = sorted({x for a, b, _ in ring for x in (a, b)} - set(rows) - {req.id})
        rows.update({r.id: r for r in repository.requests_by_id(session, extra) if r.slot_start is not None})
    # zones and corridors of the new request and of the neighbours the repair may move, with their members
    # scheduled during those windows
    movable_ids = [n for n in neighbours if _provisional(rows[n])] if repair else []
    members = adapter.rule_members(session, [req.id, *movable_ids],
                                   start=min([es] + [rows[n].earliest_start for n in movable_ids]),
                                   end=max([le] + [rows[n].latest_end for n in movable_ids]))
    others = sorted({m.request_id for m in members} - set(rows) - {req.id})
    rows.update({r.id: r for r in repository.requests_by_id(session, others)
                 if r.slot_start is not None and r.status in repository.PLANNABLE_STATUSES})
    day0 = min([es] + [r.slot_start for r in rows.values()])
    last_day = max([le] + [r.slot_end for r in rows.values()] + [r.latest_end for r in rows.values()])
    horizon = (last_day - day0).days + 2
    built = adapter.Built(adapter.Problem([], horizon=horizon), day0, horizon)
    tasks: dict[str, Task] = {}
    not_before = max((today(settings) - day0).days, 0)  # a moved neighbour never moves into the past
    for rid, row in rows.items():
        movable = rid in movable_ids
        task, _ = adapter.task_of(row, day0, horizon, fixed=not movable, not_before=not_before)
        if task is None or (movable and not (task.earliest_start <= (row.slot_start - day0).days
                                              <= task.latest_end - task.duration)):
            task, _ = adapter.task_of(row, day0, horizon, fixed=True)
            movable = False
        if task is not None:
            tasks[task.id] = task
            built.info[task.id] = adapter.TaskInfo(rid, row.version, row.status, False, not movable, row.slot_status,
                                                   preferred_stated=row.preferred_start is not None)
    new_row = SimpleNamespace(id=req.id, urgency=req.urgency, impact=req.impact,
                              created_at=req.created_at or wall_clock(settings), shift=req.shift, earliest_start=es,
                              latest_end=le, duration_days=req.duration_days, preferred_start=req.preferred_start)
    new_task, _ = adapter.task_of(new_row, day0, horizon, fixed=False)
    assert new_task is not None
    # blackouts and moratoriums: for the new request and for the neighbours the repair may move
    forbidden = adapter.forbidden_for(session, built, [req.id] + [built.info[t].request_id for t in tasks
                                                                   if not built.info[t].fixed])
    tasks = {t: replace(task, forbidden=tuple(forbidden.get(t, ()))) for t, task in tasks.items()}
    new_task = replace(new_task, forbidden=tuple(forbidden.get(tid, ())))
    cliques, zones, loads = adapter.capacity_rules(members, {**tasks, tid: new_task})
    tasks.update({t.id: t for t in loads})
    # the precedences of the new request and of the neighbours the repair may move (partners outside the
    # neighbourhood join as anchors)
    links = repository.precedences_touching(
        session, [req.id] + [i.request_id for t, i in built.info.items() if not i.fixed])
    precedences, anchors, built.gaps = adapter.precedences_of(session, links, {**tasks, tid: new_task}, day0, horizon,
                                                              today(settings))
    tasks.update({t.id: t for t in anchors})
    built.problem.precedences = [p for p in precedences if tid not in (p.before, p.after)]
    # bundles (``bundle_with``, accepted dig-once pairs) as in a full run: partners may overlap (one closure)
    accepted = repository.accepted_opportunities(session, [req.id, *rows])
    own = SimpleNamespace(id=req.id, bundle_with=getattr(req, "bundle_with", None) or [])
    built.problem.bundles = adapter.bundles_of([*rows.values(), own], {**tasks, tid: new_task}, accepted)
    mates = {x for b in built.problem.bundles if tid in b.tasks for x in b.tasks if x != tid}
    kinds = {str(b if a == req.id else a): kind for a, b, kind in pairs}
    partners = {str(n): kinds.get(str(n), "space") for n in neighbours if str(n) in tasks and str(n) not in mates}
    # a corridor's one-site-at-a-time limit names the corridor (a rule's label wins over a plain kind)
    partners.update({x: c.label for c in cliques if tid in c.tasks for x in c.tasks if x != tid and x not in mates})
    built.problem.tasks = list(tasks.values())
    built.problem.conflicts = adapter.conflicts_of(ring, tasks) + [c for c in cliques if tid not in c.tasks]
    built.problem.zones = [Zone(z.id, z.capacity, {x: q for x, q in z.demands.items() if x != tid})
                           for z in zones]
    demand = {z.id: z.demands[tid] for z in zones if tid in z.demands}
    starts = {t: (rows[built.info[t].request_id].slot_start - day0).days if t in built.info else task.fixed_start
              for t, task in tasks.items()}
    return Neighbourhood(built, tasks, new_task, partners, demand, zones, starts,
                         [p for p in precedences if tid in (p.before, p.after)])


# How far beyond its window the nearest feasible window of an unplaced request is looked for.
NEAREST_REACH_DAYS = 365


def nearest_feasible(session: Session, req: Any, settings: Settings) -> dict[str, str] | None:
    """The nearest window bounds that would let ``req`` fit where every other slot is now: the latest end to
    extend to and the earliest start to bring forward to (each on its own), looked for up to
    :data:`NEAREST_REACH_DAYS` beyond the window and never before today. The neighbourhood is built over that
    wider window, so sites and rules outside the request's own window count too."""
    lo = max(today(settings), req.earliest_start - timedelta(days=NEAREST_REACH_DAYS))
    hi = req.latest_end + timedelta(days=NEAREST_REACH_DAYS)
    if (hi - lo).days + 1 < req.duration_days:
        return None
    nb = neighbourhood(session, req, settings, window=(lo, hi), repair=False)
    tid, d = nb.new_task.id, req.duration_days
    problem = Problem([*nb.built.problem.tasks, nb.new_task],
                      conflicts=[*nb.built.problem.conflicts, *(Conflict((tid, p), k) for p, k in nb.partners.items())],
                      zones=nb.zones, precedences=[*nb.built.problem.precedences, *nb.precedences],
                      bundles=nb.built.problem.bundles, horizon=nb.built.horizon)
    occ = Occupancy(problem, zones_all=True)
    for t, s in nb.starts.items():
        if s is not None:
            occ.place(t, s)
    free = occ.free_starts(nb.new_task)
    first = nb.built.day(req.earliest_start)  # the window's own first and last start
    last = nb.built.day(req.latest_end) - d + 1
    if any(a <= last and b >= max(first, 0) for a, b in free):
        # a start in the window itself is free now (a plan period cut the window, or slots moved since): there
        # is nothing to widen, and a bound one day beyond the window would be no advice at all
        return None
    out: dict[str, str] = {}
    later = [max(a, last + 1) for a, b in free if b >= last + 1]
    earlier = [min(b, first - 1) for a, b in free if a <= first - 1]
    if later:
        out["latest_end"] = (nb.built.date(min(later)) + timedelta(days=d - 1)).isoformat()
    if earlier:
        out["earliest_start"] = nb.built.date(max(earlier)).isoformat()
    return out or None


# Why a request is placed incrementally (``place_incrementally``'s ``cause``): newly submitted, edited, or placed
# again (its blocker gave its slot back, or its order with another request changed). The summary of a neighbour
# the repair moves names it.
NEW, EDITED, AGAIN = "new", "edited", "again"


def place_incrementally(session: Session, req: SiteRequest, settings: Settings, cause: str = NEW) -> Slot:
    """Give a newly submitted request a provisional proposed slot at once (or place one again: ``cause``).

    The neighbourhood is every scheduled request the new one has a hard conflict with, plus (as fixed
    tasks) everything those conflict with anywhere in their windows and the scheduled members of the zones and
    corridors the new request and the movable neighbours lie in. Zone and corridor capacities, the blackouts
    and moratoriums that apply, and the precedences of the new request and of the movable neighbours (with their
    partners where they are, see ``adapter.precedences_of``) are respected as in a full run. Only neighbours
    whose slot is itself provisional (placed the same way, not yet proposed by a plan run) may be moved by the
    CP-SAT repair; slots a plan run proposed, locked and approved slots stay put until the next full run. Moved
    neighbours get their stored conflicts refreshed."""
    tid = str(req.id)
    first = max(req.earliest_start, today(settings))
    if first + timedelta(days=req.duration_days - 1) > req.latest_end:  # the window has (mostly) passed
        info = {"reason": explanations.unplaced_reason("window_passed", [], first), "detail": "window passed",
                "detail_text": explanations.detail_text("window passed"), "blocking": [], "blockers": [],
                "nearest_feasible": {"latest_end": (first + timedelta(days=req.duration_days - 1)).isoformat()}}
        return repository.put_slot(session, req.id, start=None, end=None, status="unplaced", provisional=True,
                                   explanation={"method": "incremental"}, unplaced=info, plan_id=None)
    nb = neighbourhood(session, req, settings)
    built, tasks, new_task, starts = nb.built, nb.tasks, nb.new_task, nb.starts
    index = InsertionIndex(built.problem, SimpleNamespace(starts=starts), max(2, settings.solver_workers),
                           settings.solver_seed)
    result = index.insert(new_task, conflicts=nb.partners, zones_demand=nb.demand, repair=True,
                          repair_time_s=0.1, commit=True, precedences=nb.precedences)
    built.info[tid] = adapter.TaskInfo(req.id, req.version, req.status, True, False, None, req.owner_id,
                                       req.preferred_start or req.earliest_start, req.preferred_start is not None)
    built.problem = index.problem
    for other, s in result.moved.items():
        start = built.date(s)
        t = tasks[other]
        was = repository.get_slot(session, built.info[other].request_id)
        was_dates = (was.start, was.end) if was is not None and was.start and was.end else None
        repository.put_slot(session, built.info[other].request_id, start=start,
                            end=start + timedelta(days=t.duration - 1), status="proposed", provisional=True,
                            explanation={"method": "incremental", "moved_for": str(req.id),
                                         "summary": explanations.moved_for_summary(
                                             start, built.date(t.preferred), built.info[other].preferred_stated,
                                             cause=cause),
                                         "preferred_start": built.date(t.preferred).isoformat(),
                                         "deviation_days": abs(s - t.preferred), "blockers": []},
                            unplaced=None, plan_id=None)
        moved_req = session.get(SiteRequest, built.info[other].request_id)
        if moved_req is not None:  # the owner sees in the history when and why the slot moved
            moved_texts = explanations.moved_for(explanations.title_for(req, moved_req.owner_id))
            _record_history(session, moved_req, "slot.moved", None,
                            reason=f"{moved_texts['de']} / {moved_texts['en']}", force=False)
            now_dates = (start, start + timedelta(days=t.duration - 1))
            if was_dates is not None and was_dates != now_dates:
                _emit_moved(session, moved_req, was_dates, now_dates, req)
    if result.start is not None:
        ex = explain_moved(index.occ, new_task, result.start) if result.start != new_task.preferred else None
        explanation = placed_explanation(built, new_task, result.start, ex, None,
                                         method=f"incremental/{result.method}")
        start = built.date(result.start)
        slot = repository.put_slot(session, req.id, start=start, end=start + timedelta(days=req.duration_days - 1),
                                   status="proposed", provisional=True, explanation=explanation, unplaced=None,
                                   plan_id=None)
    else:
        ex = explain_unplaced(index.occ, new_task, max(2, settings.solver_workers), settings.solver_seed)
        plan_like = SimpleNamespace(unplaced={}, explanations={tid: ex})
        info = unplaced_info(built, tid, plan_like)
        info["nearest_feasible"] = nearest_feasible(session, req, settings)
        slot = repository.put_slot(session, req.id, start=None, end=None, status="unplaced", provisional=True,
                                   explanation={"method": "incremental"}, unplaced=info, plan_id=None)
    # the conflicts domain refreshes the new request itself (its hook runs next); the moved neighbours' stored
    # conflicts follow their new slots here
    refresh_conflicts(session, [built.info[other].request_id for other in sorted(result.moved)], settings)
    return slot


# The outbox event of a provisional slot the incremental placement moved for another request: the same kind as an
# emergency's displacement, which the notices tell the subscribers as "Baustellentermin verschoben" with the dates
# it had (``previous_slot``); it also raises the calendar entry's SEQUENCE (the number of the request's events).
SLOT_DISPLACED = "slot.displaced"


def _emit_moved(session: Session, moved: SiteRequest, was: tuple[date, date] | None, now: tuple[date, date] | None,
                cause: SiteRequest, *, why: str = "moved_for") -> None:
    """``moved``'s provisional slot went from ``was`` to ``now`` (None: left unplaced) because of ``cause``
    (payload key ``why``: ``moved_for``, or ``freed_by`` when ``cause`` gave its slot back). ``was`` None: it had
    no slot, and its subscribers were told the site without dates of its own (its preferred dates or its window);
    the notice compares the new dates with what each of them was told."""
    def dates(d: tuple[date, date] | None) -> dict[str, str] | None:
        return {"start": d[0].isoformat(), "end": d[1].isoformat(), "status": "proposed"} if d is not None else None

    events.emit(session, SLOT_DISPLACED, request_id=moved.id, organisation_id=None, payload={
        "status": moved.status, "title": moved.title, "owner_id": str(moved.owner_id), why: str(cause.id),
        "method": "incremental", "previous_slot": dates(was), "slot": dates(now),
    })


def _provisional(row: Any) -> bool:
    """A slot the incremental placement may move: placed that way and not yet proposed by a plan run."""
    return row.slot_status == "proposed" and bool(row.slot_provisional) and row.status == "submitted"


def release(session: Session, req: SiteRequest) -> None:
    """A withdrawn or rejected request gives its slot back (approved and locked ones too: the works are off)."""
    repository.delete_slot(session, req.id)


def place_unblocked(session: Session, req: SiteRequest, settings: Settings) -> list[uuid.UUID]:
    """``req`` gave its slot back: the requests left unplaced because of it (it is in their
    ``unplaced.blocking``) are looked at again, oldest submission first. A ``submitted`` one gets a provisional
    slot at once, by the same incremental placement as a newly submitted request (it may stay unplaced, now
    with a current reason); for the others (a plan left them unplaced during the conversation) the withdrawn
    request is taken out of the reason, and the next plan run places them. Returns the re-placed ids."""
    ids = repository.unplaced_blocked_by(session, req.id)
    if not ids:
        return []
    reqs = repository.requests_for_update(session, ids)
    placed = []
    for rid in ids:
        other = reqs.get(rid)
        slot = repository.get_slot(session, rid, for_update=True)
        if other is None or slot is None or slot.status != "unplaced":
            continue
        if other.status == "submitted" and other.urgency != "emergency":
            repository.delete_slot(session, rid)
            session.flush()
            new = place_incrementally(session, other, settings, cause=AGAIN)
            new.explanation = {**(new.explanation or {}), "freed_by": str(req.id)}
            refresh_conflicts(session, [rid], settings)
            texts = explanations.blocker_released(explanations.title_for(req, other.owner_id), req.status)
            _record_history(session, other, "slot.placed", None, reason=f"{texts['de']} / {texts['en']}",
                            force=False)
            if new.start is not None and new.end is not None:  # the subscribers were told it had no dates yet
                _emit_moved(session, other, None, (new.start, new.end), req, why="freed_by")
            placed.append(rid)
        else:
            slot.unplaced = without_blocker(slot.unplaced or {}, str(req.id),
                                            explanations.title_for(req, other.owner_id), req.status)
    session.flush()
    return placed


def replace_out_of_order(session: Session, cause: SiteRequest, ids: list[uuid.UUID],
                         settings: Settings) -> list[uuid.UUID]:
    """The order of ``cause`` with the requests ``ids`` changed (``after``) and their slots break it: each that is
    ``submitted`` and holds a provisional slot (placed at once, not yet proposed by a plan run) is placed again,
    by the same incremental placement as a new request, which keeps the order with the slots that are fixed
    (``cause``'s approved slot). Slots a plan run or a coordinator proposed stay: their approval checks the order.
    The history of each says why. Returns the re-placed ids."""
    return place_again(session, cause, ids, settings)


# Why :func:`place_again` places provisional slots again: ``cause``'s order with them changed (an approved
# change), or ``cause``'s dates were set: approved, proposed or locked by a coordinator, or deemed approved when
# the coordinator's deadline passed (the workflow's ``place_provisional_again``).
REORDERED, APPROVED, PROPOSED, LOCKED, DEEMED = "reordered", "approved", "proposed", "locked", "deemed_approved"


def place_again(session: Session, cause: SiteRequest, ids: list[uuid.UUID], settings: Settings,
                why: str = REORDERED) -> list[uuid.UUID]:
    """Each of ``ids`` that is ``submitted`` (not an emergency) and holds a provisional slot (placed at once, not
    yet proposed by a plan run or a coordinator) is placed again at once by the incremental placement, which keeps
    ``cause``'s slot where it is (a fixed slot, or one a coordinator proposed) and so the hard rules and the order
    with it. ``why`` says what happened to ``cause``: its order with them changed (``reordered``: explanation
    ``reordered_by``/``reordered``) or its dates were set (``approved``/``proposed``/``locked`` by a coordinator,
    ``deemed_approved``: explanation ``fixed_by``/``placed_again``, and the summary says so too). The history of
    each gets a ``slot.placed`` row saying why, and the subscribers of one whose dates changed the event
    ``slot.displaced``. Slots a plan run or a coordinator proposed stay: their approval checks them. Returns the
    re-placed ids."""
    placed = []
    reqs = repository.requests_for_update(session, ids)
    for rid in dict.fromkeys(ids):
        other = reqs.get(rid)
        slot = repository.get_slot(session, rid, for_update=True)
        if (other is None or other.id == cause.id or other.status != "submitted" or other.urgency == "emergency"
                or slot is None or not slot.provisional or slot.status != "proposed"):
            continue
        was = (slot.start, slot.end) if slot.start and slot.end else None
        repository.delete_slot(session, rid)
        session.flush()
        new = place_incrementally(session, other, settings, cause=AGAIN)
        if why == REORDERED:
            texts = explanations.reordered_by(explanations.title_for(cause, other.owner_id))
            new.explanation = {**(new.explanation or {}), "reordered_by": str(cause.id), "reordered": texts}
        else:
            texts = explanations.dates_set(explanations.title_for(cause, other.owner_id), why)
            explanation = {**(new.explanation or {}), "fixed_by": str(cause.id), "placed_again": texts}
            summary = explanation.get("summary")
            if isinstance(summary, dict):
                explanation["summary"] = {lang: f"{summary.get(lang, '')} {texts[lang]}".strip()
                                          for lang in ("de", "en")}
            elif new.unplaced:  # left without a slot: its reason says why it was looked at again
                new.unplaced = {**new.unplaced, "placed_again": texts}
            new.explanation = explanation
        _record_history(session, other, "slot.placed", None, reason=f"{texts['de']} / {texts['en']}", force=False)
        now = (new.start, new.end) if new.start and new.end else None
        if was is not None and now != was:  # the subscribers were told the old dates
            _emit_moved(session, other, was, now, cause)
        placed.append(rid)
    if placed:
        session.flush()
        refresh_conflicts(session, placed, settings)
    return placed


def without_blocker(info: dict[str, Any], request_id: str, title: str, status: str) -> dict[str, Any]:
    """An unplaced reason without a request that no longer holds a slot: its blockers are dropped and the
    reason is worded again from what is left."""
    blockers = [b for b in info.get("blockers") or []
                if b.get("request_id") != request_id and request_id not in (b.get("request_ids") or [])]
    cut = info.get("window_part") or {}
    part = (date.fromisoformat(cut["from"]) if cut.get("from") else None,
            date.fromisoformat(cut["to"]) if cut.get("to") else None)
    reason = (explanations.unplaced_reason(None, blockers, None, part if any(part) else None)
              if explanations.blocker_phrase(blockers)
              else explanations.blocker_released(title, status, placed=False))
    return {**info, "blocking": [b for b in info.get("blocking") or [] if b != request_id],
            "blockers": blockers, "reason": reason}

