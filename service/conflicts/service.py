"""Conflict detection: keep the ``conflicts`` table current, answer dry-run checks, manage the rules.

Nothing here commits. The decisions are the pure rules of :mod:`service.geo.rules`; the repository finds
candidates with indexed PostGIS queries and measures (distance, touches) in EPSG:25832.

Stored rows:
- pairs (``space``, ``diversion``; ``same_owner`` when both requests belong to one organisation — one
  information row per pair with the bases in ``reason.basis``), ``request_a < request_b``;
- ``corridor`` / ``zone``: the pairs active together on a day on which the rule is over capacity (rule id,
  capacity, peak count and peak set in ``reason``); hard even for one owner;
- ``moratorium`` / ``blackout``: one row per (request, rule), ``request_b`` null.
Withdrawn, rejected and completed requests conflict with nothing; bundled pairs (``bundle_with`` either
way, or an accepted dig-once opportunity) never conflict with each other.

The stored rows follow the rules they were computed with: ``conflicts_state`` records ``RULES_REVISION`` and a
fingerprint of the settings at every full refresh, and the worker recomputes them when either differs
(:func:`follow_rules`).

Concurrency. A full refresh (:func:`refresh_all`) holds the full-refresh advisory lock exclusively; recomputing one
request or rule (:func:`refresh_for_request`, :func:`refresh_rule`) holds it shared, so a full refresh starts only
after those transactions end and sees what they committed. They never wait for it, though: their transaction
usually holds request (and slot) rows ``FOR UPDATE``, which a full refresh's inserts into ``conflicts`` need
(``KEY SHARE`` for the foreign keys), so waiting could deadlock. When the shared lock is not free at once (a full
refresh holds or waits for the lock), they leave ``conflicts`` alone and queue the request or rule in
``conflicts_pending``; the worker recomputes those once the full refresh has ended (:func:`drain_target`, run by
``service.conflicts.jobs.drain_pending``). Until then ``GET /v1/conflicts`` answers ``stale: true``.

Single recomputations run one at a time: each takes the single-recomputation lock (exclusive) after the shared
full-refresh lock and before deleting any row (:func:`_may_refresh`). Without it, two transactions changing
neighbouring requests each deleted and re-inserted their pair under READ COMMITTED without seeing the other's
uncommitted rows, so the pair was stored twice (or from the other side's old state), or PostgreSQL aborted one of
them as a deadlock. The one that comes second has usually locked its own request row ``FOR UPDATE`` already, and
the one holding the lock may need that row (``KEY SHARE``, for the foreign keys of the pair it inserts), so it never
waits in PostgreSQL's lock queue: it polls for the lock for at most ``SINGLE_REFRESH_WAIT_S`` and gives up at once
when the holder waits for it; giving up queues the request or rule in ``conflicts_pending`` as above. Each stored
conflict is unique (``uq_conflicts_identity``, migration 0021).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely import to_wkb
from shapely.geometry import mapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth import repository as auth_repository
from service.auth.service import Principal
from service.conflicts import repository
from service.conflicts.models import RULE_NAME_INDEXES, Corridor, Opportunity, Zone
from service.conflicts.schemas import RULE_SCHEMAS, CheckBody
from service.geo import GeometryError, GeometryLimits, rules, validate_geojson
from service.kit import cursor as cursors
from service.kit.problems import InvalidField, Problem, forbidden, not_found
from service.kit.time import now, today, wall_clock, years_after
from service.requests import repository as requests_repository
from service.requests import service as requests_service
from service.settings import Settings

Progress = Callable[[str], None]

# The revision of the detection rules the stored conflicts follow. Bump it in the same change as anything that
# alters which conflicts (or dig-once opportunities) a full refresh stores for unchanged data: the rules of
# ``service.geo.rules``, the candidate queries of ``repository``, the SQL rule functions (such as migration 0015's
# ``works_in_road`` and ``corridor_carries``), the classification in this module. After the upgrade the worker
# recomputes the stored conflicts once at its start (:func:`follow_rules`); until then ``GET /v1/conflicts``
# answers ``stale: true``. Never lower it: a worker only recomputes conflicts stored with an older revision.
#   1: works in the road vs. on a track of their own; corridors count works running along them (0015).
#   2: a pair stored in id order keeps which of the two is the track works (``_ordered`` swaps ``track``): rows
#      stored by revision 1's incremental path may name the road works as the track works.
#   3: corridors count works that touch them (along or across) and stop or restrict their mode (0025
#      ``corridor_counts``: a tram corridor the works naming trams, not a road closure with the trams running).
RULES_REVISION = 3


@dataclass(frozen=True)
class Config:
    distances: Mapping[str, float]
    route_tolerance_m: float
    dig_once_distance_m: float
    dig_once_months: int


@cache
def _env_settings() -> Settings:
    return Settings()


def config(settings: Settings | None = None) -> Config:
    s = settings or _env_settings()
    return Config(dict(s.conflict_distance_m), s.diversion_tolerance_m, s.dig_once_distance_m, s.dig_once_months)


def config_fingerprint(cfg: Config) -> str:
    """A short hash of the settings that shape the stored conflicts (changing one is a change of the rules)."""
    data = json.dumps({**asdict(cfg), "distances": dict(cfg.distances)}, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


# --- classification (pure, on candidate rows) -----------------------------------------------------


def _bundled(a_id: Any, b_id: Any, a_bundle: Iterable[str] | None, b_bundle: Iterable[str] | None,
             accepted: set[frozenset]) -> bool:
    if a_id is not None and str(a_id) in set(b_bundle or ()):
        return True
    if b_id is not None and str(b_id) in set(a_bundle or ()):
        return True
    return frozenset((a_id, b_id)) in accepted


def classify_pair(row: Any, cfg: Config, accepted: set[frozenset]) -> list[dict[str, Any]]:
    """The conflict rows of one candidate pair (``a`` is the side checked, ``b`` a stored request)."""
    overlap = rules.periods_overlap((row.a_start, row.a_end), (row.b_start, row.b_end))
    if overlap is None or not rules.shifts_clash(row.a_shift, row.b_shift):
        return []
    if _bundled(row.a_id, row.b_id, row.a_bundle, row.b_bundle, accepted):
        return []
    bases, via = [], []
    required = rules.required_distance_between(row.a_impact, row.b_impact, row.a_in_road, row.b_in_road,
                                               cfg.distances)
    if rules.space_clash(row.distance, row.a_impact, row.b_impact, cfg.distances, in_road_a=row.a_in_road,
                         in_road_b=row.b_in_road):
        bases.append("space")
    for flag, site, route_of, route in (
        (row.a_on_b_div, "a", "b", "diversion"), (row.a_on_b_rep, "a", "b", "replacement_route"),
        (row.b_on_a_div, "b", "a", "diversion"), (row.b_on_a_rep, "b", "a", "replacement_route"),
    ):
        impact = row.a_impact if site == "a" else row.b_impact
        if flag and rules.blocks_routes(impact):
            via.append({"site": site, "route_of": route_of, "route": route})
    if via:
        bases.append("diversion")
    if not bases:
        return []
    base = {"request_a": row.a_id, "request_b": row.b_id, "distance_m": round(float(row.distance), 2),
            "overlap_start": overlap[0], "overlap_end": overlap[1]}
    facts = {"required_m": required, "impact_a": row.a_impact, "impact_b": row.b_impact,
             "shift_a": row.a_shift, "shift_b": row.b_shift}
    if row.a_in_road != row.b_in_road:  # one in the road, one on a track of its own: they clash where they meet
        facts["track"] = "a" if row.b_in_road else "b"
    if row.a_owner == row.b_owner:
        return [{**base, "kind": "same_owner", "hard": False, "reason": {**facts, "basis": bases, "via": via}}]
    out = []
    if "space" in bases:
        out.append({**base, "kind": "space", "hard": True, "reason": facts})
    if via:
        out.append({**base, "kind": "diversion", "hard": True, "reason": {**facts, "via": via}})
    return out


def _ordered(row: dict[str, Any]) -> dict[str, Any]:
    """Store pairs with request_a < request_b (swapping the a/b facts with them)."""
    a, b = row["request_a"], row.get("request_b")
    if b is None or a < b:
        return row
    swap = {"a": "b", "b": "a"}
    reason = dict(row["reason"])
    for key in ("impact", "shift"):
        if f"{key}_a" in reason:
            reason[f"{key}_a"], reason[f"{key}_b"] = reason[f"{key}_b"], reason[f"{key}_a"]
    if reason.get("via"):
        reason["via"] = [{**v, "site": swap[v["site"]], "route_of": swap[v["route_of"]]} for v in reason["via"]]
    if reason.get("track") in swap:  # which of the two is the track works goes with them
        reason["track"] = swap[reason["track"]]
    return {**row, "request_a": b, "request_b": a, "reason": reason}


def moratorium_rows(hits: Iterable[Any]) -> list[dict[str, Any]]:
    return [{
        "request_a": h.request_id, "request_b": None, "kind": "moratorium", "hard": True, "distance_m": None,
        "overlap_start": h.o_start, "overlap_end": h.o_end, "moratorium_id": h.rule_id,
        "reason": {"rule": {"type": "moratorium", "id": str(h.rule_id), "name": h.name, "reason": h.reason},
                   "work_kind": h.kind},
    } for h in hits if rules.moratorium_applies(h.kind, h.urgency)]


def blackout_rows(hits: Iterable[Any]) -> list[dict[str, Any]]:
    return [{
        "request_a": h.request_id, "request_b": None, "kind": "blackout", "hard": True, "distance_m": None,
        "overlap_start": h.o_start, "overlap_end": h.o_end, "blackout_id": h.rule_id,
        "reason": {"rule": {"type": "blackout", "id": str(h.rule_id), "name": h.name, "max_impact": h.max_impact},
                   "impact": h.impact},
    } for h in hits if rules.blackout_applies(h.impact, h.max_impact, h.urgency)]


def capacity_rows(rule: str, obj: Zone | Corridor, members: list[Any], accepted: set[frozenset]) -> list[dict]:
    capacity = obj.capacity if rule == "zone" else obj.max_concurrent
    info = {m.id: m for m in members}
    out = []
    for ex in rules.capacity_excess(
            [rules.Member(m.id, m.p_start, m.p_end, m.shift, m.slotted) for m in members], capacity):
        ma, mb = info[ex.a], info[ex.b]
        if _bundled(ma.id, mb.id, ma.bundle_with, mb.bundle_with, accepted):
            continue
        out.append({
            "request_a": ex.a, "request_b": ex.b, "kind": rule, "hard": True, "distance_m": None,
            "overlap_start": ex.start, "overlap_end": ex.end, f"{rule}_id": obj.id,
            "reason": {"rule": {"type": rule, "id": str(obj.id), "name": obj.name, "capacity": capacity,
                                "min_impact": obj.min_impact}, "peak": ex.peak,
                       "peak_members": [str(i) for i in ex.peak_members],
                       "same_owner": ma.owner_id == mb.owner_id},
        })
    return out


# --- refresh ----------------------------------------------------------------------------------------


def _refresh_capacity_rule(session: Session, rule: str, rule_id: uuid.UUID, accepted: set[frozenset]) -> int:
    repository.delete_rule_conflicts(session, rule, rule_id)
    obj = repository.get_rule(session, rule, rule_id)
    if obj is None:
        return 0
    rows = capacity_rows(rule, obj, repository.capacity_members(session, rule, rule_id), accepted)
    return repository.insert_conflicts(session, [_ordered(r) for r in rows])


def _refresh_area_rule(session: Session, rule: str, rule_id: uuid.UUID) -> int:
    repository.delete_rule_conflicts(session, rule, rule_id)
    if rule == "moratorium":
        rows = moratorium_rows(repository.moratorium_hits(session, "all", tolerance_m=0.0, moratorium_id=rule_id))
    else:
        rows = blackout_rows(repository.blackout_hits(session, "all", tolerance_m=0.0, blackout_id=rule_id))
    return repository.insert_conflicts(session, rows)


# How long a single recomputation polls for the single-recomputation lock while another transaction holds it (one
# recomputation usually takes a few milliseconds to a few tenths of a second) before it queues its request or rule
# instead. It stops at once when the holder waits for this transaction.
SINGLE_REFRESH_WAIT_S = 2.0
_GAVE_UP = "conflicts.single_refresh_gave_up"  # session.info: the transaction that gave up waiting


def _lock_single_refresh(session: Session, wait_s: float) -> bool:
    """Take the single-recomputation lock (see the module's notes on concurrency), polling for at most ``wait_s``.

    Never queues in PostgreSQL's lock manager: this transaction may hold request, slot or rule rows the holder needs
    (a pair's foreign keys take ``KEY SHARE`` on both requests), and a wait there would form a cycle that ends in a
    deadlock error for one of them. Polling forms no cycle; and when the holder waits for this transaction
    (:func:`repository.single_refresh_holder_waits_for_us`) it gives up at once, so the holder goes on as soon as
    this transaction ends. Once it gave up, it does not wait again in the same transaction (a plan run refreshing
    many requests would wait ``wait_s`` for each)."""
    if repository.lock_single_refresh(session, wait=False):
        return True
    transaction = session.get_transaction()
    if session.info.get(_GAVE_UP) is transaction:
        return False
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while not repository.single_refresh_holder_waits_for_us(session):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
        if repository.lock_single_refresh(session, wait=False):
            return True
    session.info[_GAVE_UP] = transaction
    return False


def _may_refresh(session: Session, kind: str, target_id: uuid.UUID) -> bool:
    """Whether this transaction may recompute stored conflicts now: it holds, or gets without waiting, the shared
    side of the full-refresh lock, and then the single-recomputation lock within ``SINGLE_REFRESH_WAIT_S``. If not, a
    full refresh runs or waits to run, or another recomputation holds the lock (and may be waiting for this
    transaction); the request or rule is queued in ``conflicts_pending`` instead (never waiting in a lock queue),
    and recomputed by the worker once the lock is free."""
    if repository.lock_refresh_shared(session, wait=False) and _lock_single_refresh(session, SINGLE_REFRESH_WAIT_S):
        return True
    repository.queue_pending(session, kind, target_id)
    return False


def refresh_rule(session: Session, rule: str, rule_id: uuid.UUID) -> int:
    """Recompute the conflicts of one rule (after it was created, changed or deleted); 0 when queued because a
    full refresh runs (see the module's notes on concurrency)."""
    session.flush()
    if not _may_refresh(session, rule, rule_id):
        return 0
    if rule in ("zone", "corridor"):
        return _refresh_capacity_rule(session, rule, rule_id, repository.accepted_pairs(session))
    return _refresh_area_rule(session, rule, rule_id)


def refresh_for_request(session: Session, request_id: uuid.UUID, settings: Settings | None = None) -> int:
    """Recompute everything this request takes part in: its pairs, its rule rows, the corridors and zones
    it counts (or counted) for, and its dig-once opportunities. Returns the number of rows it now has (0 when it
    was queued because a full refresh runs: see the module's notes on concurrency)."""
    cfg = config(settings)
    session.flush()
    if not _may_refresh(session, "request", request_id):
        return 0
    old_corridors, old_zones = repository.rule_ids_in_conflicts(session, request_id)
    repository.delete_request_conflicts(session, request_id)
    req = requests_repository.get(session, request_id)
    active = req is not None and req.status not in repository.INACTIVE
    corridors, zones = set(old_corridors), set(old_zones)
    accepted = repository.accepted_pairs(session, request_id)
    rows: list[dict[str, Any]] = []
    if active:
        for cand in repository.pair_candidates(session, "single", request_id=request_id, distances=cfg.distances,
                                               route_tolerance_m=cfg.route_tolerance_m):
            rows += classify_pair(cand, cfg, accepted)
        rows += moratorium_rows(repository.moratorium_hits(session, "single", request_id=request_id, tolerance_m=0))
        rows += blackout_rows(repository.blackout_hits(session, "single", request_id=request_id, tolerance_m=0))
        now_corridors, now_zones = repository.capacity_rules_of(session, "single", request_id=request_id)
        corridors |= set(now_corridors)
        zones |= set(now_zones)
    repository.insert_conflicts(session, [_ordered(r) for r in rows])
    if corridors or zones:
        accepted_all = repository.accepted_pairs(session)
        for cid in corridors:
            _refresh_capacity_rule(session, "corridor", cid, accepted_all)
        for zid in zones:
            _refresh_capacity_rule(session, "zone", zid, accepted_all)
    _refresh_opportunities(session, cfg, request_id=request_id if active else None, drop_for=request_id)
    return len(rows)


def _lock_full_refresh(session: Session, say: Progress) -> None:
    """Take the full-refresh lock for this transaction, saying so when another full refresh holds it."""
    if not repository.lock_full_refresh(session, wait=False):
        say("waiting for another full refresh to finish")
        repository.lock_full_refresh(session, wait=True)


def lock_full_refresh(session: Session, *, wait: bool = True) -> bool:
    """Take the full-refresh lock (exclusive) until the transaction ends; without ``wait``, only when it is free.

    For a caller that may run :func:`refresh_all` later in its transaction: it must take the lock *before* it locks
    request or slot rows, or it would wait for the lock while holding rows that the transactions it waits for may
    need. Taking it again (here or in :func:`refresh_all`) is free, and so is recomputing single requests while
    holding it."""
    return repository.lock_full_refresh(session, wait=wait)


def refresh_all(session: Session, progress: Progress | None = None, settings: Settings | None = None) -> dict:
    """Rebuild the whole conflict graph with set-based queries (one self-join for the pairs), and record that
    the stored conflicts now follow ``RULES_REVISION`` and these settings. One full refresh at a time: another
    one waits for the running one's transaction to end.

    Holding the lock, it also forgets the queued changes committed so far (``conflicts_pending``): it computes from
    their state itself. Changes queued while it runs stay queued."""
    cfg = config(settings)
    say = progress or (lambda _msg: None)
    session.flush()
    _lock_full_refresh(session, say)
    repository.clear_pending(session)
    repository.delete_all_conflicts(session)
    accepted = repository.accepted_pairs(session)
    say("pairs")
    rows = []
    for cand in repository.pair_candidates(session, "all", distances=cfg.distances,
                                           route_tolerance_m=cfg.route_tolerance_m):
        rows += classify_pair(cand, cfg, accepted)
    stats = {"pairs": repository.insert_conflicts(session, [_ordered(r) for r in rows])}
    say("moratoriums and blackouts")
    stats["moratorium"] = repository.insert_conflicts(
        session, moratorium_rows(repository.moratorium_hits(session, "all", tolerance_m=0.0)))
    stats["blackout"] = repository.insert_conflicts(
        session, blackout_rows(repository.blackout_hits(session, "all", tolerance_m=0.0)))
    say("corridors and zones")
    stats["corridor"] = sum(_refresh_capacity_rule(session, "corridor", i, accepted)
                            for i in repository.all_rule_ids(session, "corridor"))
    stats["zone"] = sum(_refresh_capacity_rule(session, "zone", i, accepted)
                        for i in repository.all_rule_ids(session, "zone"))
    say("dig-once opportunities")
    stats["opportunities"] = _refresh_opportunities(session, cfg, request_id=None, drop_for=None, full=True)
    repository.put_state(session, rules_revision=RULES_REVISION, config_hash=config_fingerprint(cfg),
                         computed_at=wall_clock(settings or _env_settings()))
    return stats


@dataclass(frozen=True)
class RulesState:
    """What the stored conflicts follow, against what this code and these settings would compute."""

    stored_revision: int  # 0: computed before revisions were recorded (or the state row is missing)
    current_revision: int
    config_matches: bool

    @property
    def stale(self) -> bool:
        """Older rules, or the current rules with other settings. Conflicts stored by newer code (a later
        revision) are not stale to this code: an older worker never rebuilds them with its older rules."""
        if self.stored_revision != self.current_revision:
            return self.stored_revision < self.current_revision
        return not self.config_matches


def rules_state(session: Session, settings: Settings | None = None) -> RulesState:
    """One primary-key read of ``conflicts_state``."""
    row = repository.get_state(session)
    if row is None:
        return RulesState(0, RULES_REVISION, False)
    return RulesState(row.rules_revision, RULES_REVISION, row.config_hash == config_fingerprint(config(settings)))


def follow_rules(session: Session, settings: Settings | None = None, progress: Progress | None = None) -> dict | None:
    """Recompute every stored conflict when they follow older rules or other settings (see ``RULES_REVISION``);
    the refresh statistics, or None when they are current. The worker calls this at its start.

    Safe when several workers start at once: the first takes the full-refresh lock and rebuilds; the others wait
    for it, find the state current and do nothing. It runs in the worker's own transaction: API reads go on
    seeing the old rows until it commits."""
    if not rules_state(session, settings).stale:
        return None
    _lock_full_refresh(session, progress or (lambda _msg: None))
    if not rules_state(session, settings).stale:  # another worker rebuilt them while this one waited
        return None
    return refresh_all(session, progress, settings)


# --- changes queued while a full refresh ran --------------------------------------------------------

# Recomputing a queued request or rule gives up waiting for a row lock after this long (less than PostgreSQL's
# default ``deadlock_timeout`` of 1 s, so when it meets an API transaction in a lock cycle it is the one that gives
# up, and that transaction goes on); the target stays queued for the next round.
DRAIN_LOCK_TIMEOUT_MS = 500


def pending_count(session: Session) -> int:
    """How many requests and rules wait for their conflicts to be recomputed after a full refresh."""
    return repository.pending_count(session)


def pending_targets(session: Session, limit: int = 500) -> list[tuple[str, uuid.UUID]]:
    """The queued requests (``'request'``) and rules (their type) with their ids, the longest waiting first."""
    return [(r.kind, r.target_id) for r in repository.pending_targets(session, limit)]


def drain_target(session: Session, kind: str, target_id: uuid.UUID, settings: Settings | None = None) -> str:
    """Recompute one queued request or rule in this transaction and take it off the queue. Never waits for a
    lock: ``done``; ``gone`` (nothing queued any more: another drain or a full refresh took it); ``busy`` (another
    drain holds it, a transaction changing it holds its row, or another recomputation kept the single-recomputation
    lock for ``DRAIN_LOCK_TIMEOUT_MS``: the next round takes it); ``refresh`` (a full refresh runs or waits: stop
    this round)."""
    if not repository.lock_refresh_shared(session, wait=False):
        return "refresh"
    if not repository.lock_pending_target(session, kind, target_id):
        return "busy"
    rows = repository.claim_pending(session, kind, target_id)
    if not rows:
        return "gone"
    # a change of the request or rule in flight commits first; the next one waits for this transaction
    if repository.share_target(session, kind, target_id) == "busy":
        return "busy"
    # one recomputation at a time (the module's notes on concurrency); a busy one leaves the target for next round
    if not _lock_single_refresh(session, DRAIN_LOCK_TIMEOUT_MS / 1000):
        return "busy"
    repository.set_lock_timeout(session, DRAIN_LOCK_TIMEOUT_MS)
    if kind == "request":
        refresh_for_request(session, target_id, settings)
    else:
        refresh_rule(session, kind, target_id)
    repository.delete_pending(session, rows)
    return "done"


def _opportunity_rows(cands: Iterable[Any], cfg: Config) -> list[dict[str, Any]]:
    out = []
    for c in cands:
        a, b = (c.a_start, c.a_end), (c.b_start, c.b_end)
        if _bundled(c.a_id, c.b_id, c.a_bundle, c.b_bundle, set()):
            continue
        if not rules.dig_once_pair(c.a_kind, c.b_kind, float(c.distance), a, b,
                                   max_distance_m=cfg.dig_once_distance_m, months=cfg.dig_once_months):
            continue
        pair = sorted((c.a_id, c.b_id)) if c.a_id is not None else [None, c.b_id]
        out.append({"request_a": pair[0], "request_b": pair[1], "distance_m": round(float(c.distance), 2),
                    "gap_days": rules.gap_days(a, b), "b_title": c.b_title, "b_kind": c.b_kind,
                    "b_owner": c.b_owner, "b_status": c.b_status})
    return out


def _refresh_opportunities(session: Session, cfg: Config, *, request_id: uuid.UUID | None,
                           drop_for: uuid.UUID | None, full: bool = False) -> int:
    if full:
        cands = repository.opportunity_candidates(session, "all", max_distance_m=cfg.dig_once_distance_m,
                                                  months=cfg.dig_once_months)
    elif request_id is not None:
        cands = repository.opportunity_candidates(session, "single", request_id=request_id,
                                                  max_distance_m=cfg.dig_once_distance_m,
                                                  months=cfg.dig_once_months)
    else:
        cands = []
    rows = [{k: r[k] for k in ("request_a", "request_b", "distance_m", "gap_days")}
            for r in _opportunity_rows(cands, cfg)]
    keep = {(r["request_a"], r["request_b"]) for r in rows}
    if full:
        repository.delete_open_opportunities(session, None, keep)
    elif drop_for is not None:
        repository.delete_open_opportunities(session, drop_for, keep)
    repository.upsert_opportunities(session, rows)
    return len(rows)


# --- dry run ------------------------------------------------------------------------------------------


def check(session: Session, principal: Principal, body: CheckBody, settings: Settings) -> dict[str, Any]:
    """Conflicts a planned request would have, without storing anything."""
    cfg = config(settings)
    duration = (body.duration_days if body.duration_days is not None
                else max(1, (body.latest_end - body.earliest_start).days + 1))
    owner_id, slotted, stored_bundle = principal.org_id, False, set()
    if body.request_id is not None:
        own = requests_repository.get(session, body.request_id)
        if own is None and principal.is_coordinator:
            raise InvalidField("request_id", f"request {body.request_id} does not exist")
        if own is None or not requests_service.can_see_full(principal, own):
            # coordinators may check a change of any request; others only of their organisation's
            raise InvalidField("request_id", f"request {body.request_id} is not a request of your organisation")
        owner_id = own.owner_id
        # checking the request with its slot's dates: it counts as placed there, as the stored request does
        slotted = repository.slot_period(session, own.id) == (body.earliest_start, body.latest_end)
        stored_bundle = {str(b) for b in own.bundle_with or []}  # checked when added, as a PATCH keeps them
    requests_service._check_references(session, principal, {"bundle_with": [str(b) for b in body.bundle_with]},
                                       owner_id=owner_id, self_id=body.request_id, existing=stored_bundle)
    requests_service.check_window(body.earliest_start, body.latest_end, duration, None, settings=settings)
    geom = requests_service._footprint(body.geometry, settings, field_name="geometry", repair=False)
    diversions, _ = requests_service._routes(body.diversions, settings, field_name="diversions")
    replacements, _ = requests_service._routes(body.replacement_routes, settings, field_name="replacement_routes")
    draft = repository.Draft(
        owner_id=owner_id, kind=body.kind.value, impact=body.impact.value, shift=body.shift.value,
        urgency=body.urgency.value, start=body.earliest_start, end=body.latest_end,
        geom_wkb=to_wkb(geom.geometry), diversions_wkb=to_wkb(diversions) if diversions else None,
        replacement_wkb=to_wkb(replacements) if replacements else None, exclude_id=body.request_id,
        modes=[m.value for m in body.modes],
    )
    bundle = [str(b) for b in body.bundle_with]
    accepted = repository.accepted_pairs(session, body.request_id) if body.request_id else set()

    def visible(owner: uuid.UUID, status: str) -> bool:
        return status != "draft" or principal.is_coordinator or owner == principal.org_id

    # others' requests are named by their public titles (as on the map); the caller's own and, for a
    # coordinator, every request by the title as written
    viewer = repository.viewer_of(principal.org_id, coordinator=principal.is_coordinator)
    others: dict[uuid.UUID, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for cand in repository.pair_candidates(session, "check", draft=draft, distances=cfg.distances,
                                           route_tolerance_m=cfg.route_tolerance_m, viewer=viewer):
        if not visible(cand.b_owner, cand.b_status):
            continue
        cand_rows = classify_pair(_with_bundle(cand, bundle, body.request_id), cfg, accepted)
        if cand_rows:
            others[cand.b_id] = {"id": cand.b_id, "title": cand.b_title, "kind": cand.b_kind,
                                 "impact": cand.b_impact, "status": cand.b_status, "owner_id": cand.b_owner,
                                 "owner_name": cand.b_owner_name}
        rows += cand_rows
    hits = repository.rule_hits(session, draft=draft, tolerance_m=0.0)
    rows += moratorium_rows(h for h in hits if h.rule == "moratorium")
    rows += blackout_rows(h for h in hits if h.rule == "blackout")
    corridors = [h.rule_id for h in hits if h.rule == "corridor"]
    zones = [h.rule_id for h in hits if h.rule == "zone"]
    for rule, ids in (("corridor", corridors), ("zone", zones)):
        for rid in ids:
            obj = repository.get_rule(session, rule, rid)
            # every active request counts, as in the stored conflicts; those the caller may not see (others'
            # drafts) are left out of the answer, as they are when the stored conflicts are read
            members = [m for m in repository.capacity_members(session, rule, rid) if m.id != body.request_id]
            hidden = {m.id for m in members if not visible(m.owner_id, m.status)}
            me = _Member(None, owner_id, "submitted", body.shift.value, bundle, body.earliest_start,
                         body.latest_end, slotted)
            for r in capacity_rows(rule, obj, [*members, me], accepted):
                if None in (r["request_a"], r["request_b"]):
                    other = r["request_b"] if r["request_a"] is None else r["request_a"]
                    if other in hidden:
                        continue
                    others.setdefault(other, {"id": other})
                    rows.append({**r, "request_a": None, "request_b": other})
    _fill_others(session, others, viewer)
    # the request checked is named by its title when it is a stored one (the caller sees it in full: its own
    # organisation's, or a coordinator's), else as the planned site it is
    title = own.title if body.request_id is not None else None
    conflicts = [_render_check(r, others, title) for r in rows]
    conflicts.sort(key=lambda c: (not c["hard"], c["overlap"]["start"]))
    opportunities = []
    for o in _opportunity_rows(repository.opportunity_candidates(
            session, "check", draft=draft, max_distance_m=cfg.dig_once_distance_m, months=cfg.dig_once_months,
            viewer=viewer), cfg):
        other = o["request_b"] if o["request_a"] is None else o["request_a"]
        if visible(o["b_owner"], o["b_status"]):
            opportunities.append({"other": {"id": other, "title": o["b_title"], "kind": o["b_kind"]},
                                  "distance_m": o["distance_m"], "gap_days": o["gap_days"]})
    return {"conflicts": conflicts, "hard": sum(c["hard"] for c in conflicts), "opportunities": opportunities}


@dataclass
class _Member:
    id: Any
    owner_id: Any
    status: str
    shift: str
    bundle_with: list[str]
    p_start: date
    p_end: date
    slotted: bool = False


class _Row:
    def __init__(self, row: Any, **overrides: Any) -> None:
        self.__dict__.update(row._mapping)
        self.__dict__.update(overrides)


def _with_bundle(cand: Any, bundle: list[str], request_id: uuid.UUID | None) -> Any:
    # a_id None (a draft): bundled when the draft names b, or b names the stored request being changed
    return _Row(cand, a_bundle=bundle, a_id=request_id)


def _fill_others(session: Session, others: dict[uuid.UUID, dict[str, Any]], viewer: repository.Viewer) -> None:
    missing = [k for k, v in others.items() if "owner_name" not in v]
    for req in repository.request_summaries(session, missing, viewer):
        others[req.id] = {"id": req.id, "title": req.title, "kind": req.kind, "impact": req.impact,
                          "status": req.status, "owner_id": req.owner_id, "owner_name": req.owner_name}


PLANNED_SITE = "Geplante Baustelle / planned site"  # a dry-run check of works not stored yet


def _render_check(row: dict[str, Any], others: dict[uuid.UUID, dict[str, Any]],
                  title: str | None = None) -> dict[str, Any]:
    other_id = row.get("request_b")
    other = others.get(other_id) if other_id else None
    a_side = {"title": title or PLANNED_SITE}
    flat = {**row, "a_title": a_side["title"], "b_title": other["title"] if other else None}
    reason = dict(row["reason"])
    reason.pop("peak_members", None)
    return {
        "id": None, "kind": row["kind"], "hard": row["hard"], "distance_m": row.get("distance_m"),
        "overlap": {"start": row["overlap_start"], "end": row["overlap_end"]},
        "other": _other_view(other) if other else None,
        "rule": _rule_ref(reason),
        "explanation": explain(row["kind"], reason, flat["a_title"], flat["b_title"], row.get("distance_m"),
                               row["overlap_start"], row["overlap_end"]),
        "reason": reason,
    }


def _other_view(other: dict[str, Any]) -> dict[str, Any]:
    return {"id": other["id"], "title": other["title"], "kind": other["kind"], "impact": other["impact"],
            "status": other["status"], "owner": {"id": other["owner_id"], "name": other.get("owner_name")}}


def _rule_ref(reason: dict[str, Any]) -> dict[str, Any] | None:
    rule = reason.get("rule")
    return {"type": rule["type"], "id": rule["id"], "name": rule["name"]} if rule else None


# --- explanations ---------------------------------------------------------------------------------------

IMPACT_DE = {"none": "keiner Einschränkung", "footway": "Gehwegsperrung", "lane_reduction": "Fahrstreifenreduzierung",
             "one_way": "Einbahnregelung", "full_closure": "Vollsperrung"}
IMPACT_EN = {"none": "no restriction", "footway": "a footway closure", "lane_reduction": "a lane reduction",
             "one_way": "one-way traffic", "full_closure": "a full closure"}
# With the indefinite article: "bringt eine Vollsperrung mit sich", and through ``_dative`` "bis zu einer …",
# "ab einer …" (impact "none" never breaks a limit; a limit of "none" is worded on its own).
IMPACT_DE_ART = {"none": "keine Verkehrseinschränkung", "footway": "eine Gehwegsperrung",
                 "lane_reduction": "eine Fahrstreifenreduzierung", "one_way": "eine Einbahnregelung",
                 "full_closure": "eine Vollsperrung"}
ROUTE_DE = {"diversion": "Umleitungsstrecke", "replacement_route": "Route des Schienenersatzverkehrs"}
ROUTE_EN = {"diversion": "diversion route", "replacement_route": "rail-replacement bus route"}


def period_de(start: date, end: date) -> str:
    if start.year == end.year:
        return f"{start:%d.%m.}–{end:%d.%m.%Y}"
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def period_en(start: date, end: date) -> str:
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b} {end.year}"
    return f"{start.day} {start:%b} {start.year} – {end.day} {end:%b} {end.year}"


def _upper_first(text: str) -> str:
    """Capitalise the first character only (``str.capitalize`` would lower-case the German nouns after it)."""
    return text[:1].upper() + text[1:]


def _dative(phrase: str) -> str:
    """"eine Gehwegsperrung" → "einer Gehwegsperrung" (all impact nouns are feminine)."""
    return "einer" + phrase[len("eine"):] if phrase.startswith("eine ") else phrase


def _m(v: float | None) -> str:
    return f"{v:.0f}" if v is not None else "?"


def _with_owner_note(kind: str, de: str, en: str) -> dict[str, str]:
    if kind == "same_owner":
        de += " Beide gehören demselben Träger: zur Information, kein harter Konflikt."
        en += " Both belong to the same owner: for information, not a hard conflict."
    return {"de": de, "en": en}


def explain(kind: str, reason: dict[str, Any], title_a: str | None, title_b: str | None, distance: float | None,
            start: date, end: date) -> dict[str, str]:
    """One sentence in German and one in English, from the recorded facts."""
    pde, pen = period_de(start, end), period_en(start, end)
    titles = {"a": title_a or "?", "b": title_b or "?"}
    if kind in ("space", "same_owner") and (kind == "space" or "space" in reason.get("basis", [])):
        if reason.get("track") in titles:  # works in the road and works on a track of their own meet
            track, road = titles[reason["track"]], titles["b" if reason["track"] == "a" else "a"]
            de = (f"Die Gleisbaustelle „{track}“ und die Straßenbaustelle „{road}“ treffen aufeinander "
                  f"(z. B. an einem Bahnübergang oder einer Brücke) und sind gleichzeitig eingerichtet ({pde}).")
            en = (f"The track works “{track}” and the road works “{road}” meet (e.g. at a level crossing or a "
                  f"bridge) while both are in place ({pen}).")
            return _with_owner_note(kind, de, en)
        worst = max((reason.get("impact_a", "none"), reason.get("impact_b", "none")), key=rules.IMPACT_RANK.get)
        de = (f"Beide Baustellen liegen {_m(distance)} m auseinander und sperren gleichzeitig ({pde}); "
              f"bei {IMPACT_DE[worst]} sind {_m(reason.get('required_m'))} m Abstand nötig.")
        en = (f"Both sites are {_m(distance)} m apart and restrict traffic at the same time ({pen}); "
              f"with {IMPACT_EN[worst]} they must be {_m(reason.get('required_m'))} m apart.")
        return _with_owner_note(kind, de, en)
    if kind in ("diversion", "same_owner"):
        v = (reason.get("via") or [{"site": "a", "route_of": "b", "route": "diversion"}])[0]
        de = (f"Die Baustelle „{titles[v['site']]}“ liegt auf der {ROUTE_DE[v['route']]} von "
              f"„{titles[v['route_of']]}“, und beide sind gleichzeitig eingerichtet ({pde}).")
        en = (f"The site “{titles[v['site']]}” lies on the {ROUTE_EN[v['route']]} of “{titles[v['route_of']]}” "
              f"while both are in place ({pen}).")
        return _with_owner_note(kind, de, en)
    rule = reason.get("rule", {})
    if kind in ("corridor", "zone"):
        where_de = "auf dem Korridor" if kind == "corridor" else "in der Zone"
        where_en = "on the corridor" if kind == "corridor" else "in the zone"
        imp = rule.get("min_impact", "none")
        cap = rule.get("capacity")
        sites_de = "ist höchstens 1 Baustelle" if cap == 1 else f"sind höchstens {cap} Baustellen"
        sites_en = "At most 1 site" if cap == 1 else f"At most {cap} sites"
        which_de = "" if imp == "none" else f" ab {_dative(IMPACT_DE_ART[imp])}"
        which_en = "" if imp == "none" else f" with {IMPACT_EN[imp]} or more"
        return {
            "de": (f"{_upper_first(where_de)} „{rule.get('name')}“ {sites_de}{which_de} gleichzeitig erlaubt; "
                   f"im Zeitraum {pde} wären es {reason.get('peak')}."),
            "en": (f"{sites_en}{which_en} {'is' if cap == 1 else 'are'} allowed at the same time {where_en} "
                   f"“{rule.get('name')}”; during {pen} there would be {reason.get('peak')}."),
        }
    if kind == "moratorium":
        why = f" ({rule.get('reason')})" if rule.get("reason") else ""
        # the period is the days the site would dig there (the overlap), not the moratorium's own
        return {
            "de": (f"Im Bereich „{rule.get('name')}“ gilt ein Aufbruchverbot{why}, in das die Baustelle im Zeitraum "
                   f"{pde} fiele; Aufgrabungen sind dort nur im Notfall zulässig."),
            "en": (f"The area “{rule.get('name')}” is protected from excavation{why}, and the site would dig there "
                   f"during {pen}; digging there is allowed only in an emergency."),
        }
    if kind == "blackout":
        mx, imp = rule.get("max_impact", "none"), reason.get("impact", "none")
        if mx == "none":
            allowed_de = "keine Baustellen mit Verkehrseinschränkungen zulässig"
            allowed_en = "no works that restrict traffic are allowed"
        else:
            allowed_de = f"nur Baustellen bis zu {_dative(IMPACT_DE_ART[mx])} zulässig"
            allowed_en = f"only works up to {IMPACT_EN[mx]} are allowed"
        # the period is the days the site would fall in the blackout (the overlap), not the blackout's own
        return {
            "de": (f"Im Zeitraum {pde} fiele die Baustelle in die Sperrzeit „{rule.get('name')}“, in der "
                   f"{allowed_de} sind; diese bringt {IMPACT_DE_ART[imp]} mit sich."),
            "en": (f"During {pen} the site would fall in the blackout “{rule.get('name')}”, when {allowed_en}; "
                   f"this one brings {IMPACT_EN[imp]}."),
        }
    return {"de": "Konflikt.", "en": "Conflict."}


# --- reading stored conflicts -------------------------------------------------------------------------------


def _side(row: Any, side: str) -> dict[str, Any]:
    g = lambda k: getattr(row, f"{side}_{k}")  # noqa: E731
    return {"id": row.request_a if side == "a" else row.request_b, "title": g("title"), "kind": g("kind"),
            "impact": g("impact"), "status": g("status"), "owner": {"id": g("owner"), "name": g("owner_name")}}


def _sees(principal: Principal, side: dict[str, Any]) -> bool:
    return side["status"] != "draft" or principal.is_coordinator or side["owner"]["id"] == principal.org_id


def _present(row: Any, principal: Principal, perspective: uuid.UUID | None) -> dict[str, Any] | None:
    a = _side(row, "a")
    b = _side(row, "b") if row.request_b is not None else None
    if not _sees(principal, a) or (b is not None and not _sees(principal, b)):
        return None
    reason = dict(row.reason)
    if not principal.is_coordinator:
        reason.pop("peak_members", None)
    out = {
        "id": row.id, "kind": row.kind, "hard": row.hard, "distance_m": row.distance_m,
        "overlap": {"start": row.overlap_start, "end": row.overlap_end},
        "rule": _rule_ref(reason),
        "explanation": explain(row.kind, reason, a["title"], b["title"] if b else None, row.distance_m,
                               row.overlap_start, row.overlap_end),
        "reason": reason,
    }
    if perspective is None:
        out["requests"] = [a, b] if b else [a]
    else:
        out["other"] = (b if row.request_a == perspective else a) if b else None
    return out


def conflicts_of(session: Session, principal: Principal, request_id: uuid.UUID) -> list[dict[str, Any]]:
    requests_service.get_visible(session, principal, request_id)
    viewer_org = None if principal.is_coordinator else principal.org_id
    out = [_present(r, principal, request_id)
           for r in repository.conflicts_of(session, request_id, viewer_org=viewer_org)]
    return [c for c in out if c is not None]


def list_features(
    session: Session, principal: Principal, *, bbox: str | None, start: date | None, end: date | None,
    kinds: list[str], owners: list[uuid.UUID], hard: bool | None, cursor: int | None, limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    if start and end and end < start:
        raise InvalidField("end", "is before start")
    rows = repository.list_conflicts(
        session, viewer_org=None if principal.is_coordinator else principal.org_id,
        bbox=requests_service.parse_bbox(bbox), start=start, end=end, kinds=kinds, owners=owners, hard=hard,
        after=cursor, limit=limit + 1)
    features = []
    for row in rows[:limit]:
        props = _present(row, principal, None)
        if props is not None:
            features.append({"type": "Feature", "id": row.id, "geometry": _json(row.line), "properties": props})
    return features, (rows[limit - 1].id if len(rows) > limit else None)


def report_features(session: Session) -> list[dict[str, Any]]:
    """Every stored conflict as a GeoJSON feature (the coordinator's view), for the CLI report."""
    from service.kit.encode import to_json

    admin = Principal(org_id=uuid.UUID(int=0), org_name="report", org_kind="coordinator", role="admin",
                      key_id=uuid.UUID(int=0))
    out, after = [], None
    while True:
        rows = repository.list_conflicts(session, viewer_org=None, bbox=None, start=None, end=None, kinds=(),
                                         owners=(), hard=None, after=after, limit=5000)
        for row in rows:
            out.append({"type": "Feature", "id": row.id, "geometry": _json(row.line),
                        "properties": to_json(_present(row, admin, None))})
        if len(rows) < 5000:
            return out
        after = rows[-1].id


def report_counts(session: Session) -> dict[str, Any]:
    by_kind = [{"kind": r.kind, "hard": r.hard, "count": r.n} for r in repository.pair_counts(session)]
    totals = repository.pair_totals(session)
    return {"by_kind": by_kind, "hard_pairs": totals.hard_pairs, "same_owner_only_pairs": totals.info_pairs,
            "requests_against_rules": totals.rule_requests}


def _json(text_value: str | None) -> Any:
    import json

    return json.loads(text_value) if text_value else None


# --- opportunities ------------------------------------------------------------------------------------------


def encode_opportunity_cursor(row: Any) -> str:
    return cursors.encode([row.status, row.distance_m, str(row.id)])


def decode_opportunity_cursor(cursor: str) -> tuple[str, float, uuid.UUID]:
    status, distance, opp_id = cursors.decode(cursor, 3)
    try:
        if not isinstance(status, str) or isinstance(distance, bool) or not isinstance(distance, int | float):
            raise TypeError(cursor)
        return status, float(distance), uuid.UUID(opp_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise cursors.refused() from exc


def list_opportunities(session: Session, principal: Principal, *, status: str | None, owners: list[uuid.UUID],
                       bbox: str | None, limit: int, cursor: str | None = None,
                       ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of dig-once pairs (accepted, then open, each nearest first) and the cursor of the next, if any."""
    rows = repository.list_opportunities(
        session, viewer_org=None if principal.is_coordinator else principal.org_id, status=status, owners=owners,
        bbox=requests_service.parse_bbox(bbox), limit=limit + 1,
        after=decode_opportunity_cursor(cursor) if cursor else None)
    features = []
    for r in rows[:limit]:
        m = r._mapping  # one lookup per column (a Row's attributes cost several)
        a_title, b_title, distance, gap = m["a_title"], m["b_title"], m["distance_m"], m["gap_days"]
        sides = [{"id": m[f"request_{s}"], "title": m[f"{s}_title"], "kind": m[f"{s}_kind"],
                  "owner": {"id": m[f"{s}_owner"], "name": m[f"{s}_owner_name"]},
                  "window": {"start": m[f"{s}_start"], "end": m[f"{s}_end"]}} for s in ("a", "b")]
        de = (f"„{a_title}“ und „{b_title}“ liegen {distance:.0f} m auseinander und "
              f"{'überschneiden sich zeitlich' if gap == 0 else f'liegen {gap} Tage auseinander'}: "
              f"ein gemeinsamer Graben spart eine Sperrung.")
        en = (f"“{a_title}” and “{b_title}” are {distance:.0f} m apart and "
              f"{'overlap in time' if gap == 0 else f'{gap} days apart'}: one shared trench saves "
              f"a closure.")
        opp_id = str(m["id"])
        features.append({"type": "Feature", "id": opp_id, "geometry": _json(m["line"]), "properties": {
            "id": opp_id, "status": m["status"], "distance_m": distance, "gap_days": gap,
            "accepted_at": m["accepted_at"], "requests": sides, "explanation": {"de": de, "en": en}}})
    return features, (encode_opportunity_cursor(rows[limit - 1]) if len(rows) > limit else None)


def accept_opportunity(session: Session, principal: Principal, opportunity_id: uuid.UUID,
                       settings: Settings) -> Opportunity:
    opp = repository.get_opportunity(session, opportunity_id, for_update=True)
    if opp is None:
        raise not_found("Opportunity", opportunity_id)
    if opp.status != "accepted":
        repository.accept_opportunity(session, opp, principal.org_id, now(settings))
        refresh_for_request(session, opp.request_a, settings)
        refresh_for_request(session, opp.request_b, settings)
    return opp


# --- rules CRUD ------------------------------------------------------------------------------------------------

RULE_TYPES = {"zone": ("Polygon", "MultiPolygon"), "corridor": ("LineString", "MultiLineString"),
              "moratorium": ("Polygon", "MultiPolygon", "LineString", "MultiLineString"),
              "blackout": ("Polygon", "MultiPolygon")}
RULE_MAX_AREA_KM2 = 5000.0  # rules may cover a whole city (a request may not)


def _rule_geometry(obj: Any, rule: str, settings: Settings) -> Any:
    limits = GeometryLimits(service_area=tuple(settings.service_area), max_vertices=settings.max_vertices,  # type: ignore[arg-type]
                            max_area_km2=max(settings.max_area_km2, RULE_MAX_AREA_KM2))
    try:
        # a transit line may pass the same junction twice (loops, turning circles)
        valid = validate_geojson(obj, limits=limits, allowed=RULE_TYPES[rule], simple_lines=rule != "corridor")
    except GeometryError as exc:
        extra = {"location": list(exc.location)} if exc.location else {}
        raise InvalidField(exc.field("geometry"), exc.detail, **extra) from exc
    return valid.geometry


def _rule_values(rule: str, data: dict[str, Any], settings: Settings) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k != "geometry"}
    geometry = data.get("geometry")
    if geometry is None and rule != "blackout":
        raise InvalidField("geometry", "is required")
    # only an explicit null means "the whole region" (blackouts); {} or [] is a malformed geometry
    values["geom"] = from_shape(_rule_geometry(geometry, rule, settings), srid=4326) if geometry is not None else None
    if "start" in data:
        if data["end"] < data["start"]:
            raise InvalidField("end", f"{data['end']} is before start {data['start']}")
        horizon = years_after(today(settings), settings.max_years_ahead)
        if data["end"] > horizon:
            raise InvalidField("end", f"{data['end']} is more than {settings.max_years_ahead} years ahead")
    for key in ("min_impact", "max_impact", "kind"):
        if key in values and values[key] is not None:
            values[key] = str(values[key])
    if rule == "corridor":
        values["stops"] = [{k: v for k, v in dict(s).items() if v is not None} for s in values.get("stops") or []]
        for i, stop in enumerate(values["stops"]):
            if "lon" in stop:
                try:
                    validate_geojson({"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                                     limits=requests_service.geometry_limits(settings))
                except GeometryError as exc:
                    raise InvalidField(f"stops[{i}]", exc.detail) from exc
    return values


def rule_to_read(rule: str, obj: Any) -> dict[str, Any]:
    schema = RULE_SCHEMAS[rule]
    props = {k: getattr(obj, k) for k in schema.model_fields if k != "geometry"}
    props.update(id=obj.id, type=rule, created_at=obj.created_at, updated_at=obj.updated_at)
    geometry = mapping(to_shape(obj.geom)) if obj.geom is not None else None
    return {"type": "Feature", "id": str(obj.id), "geometry": geometry, "properties": props}


def _validate(rule: str, data: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from service.kit.problems import field_path

    try:
        return RULE_SCHEMAS[rule].model_validate(data).model_dump(mode="python")
    except ValidationError as exc:
        errors = [{"field": field_path(e["loc"]), "detail": e["msg"].removeprefix("Value error, ")}
                  for e in exc.errors()]
        raise Problem(422, "Invalid input", f"{errors[0]['field']}: {errors[0]['detail']}",
                      type_="invalid-input", errors=errors) from exc


def _check_owner(session: Session, clean: dict[str, Any]) -> None:
    owner = clean.get("owner_id")
    if owner is not None and auth_repository.get_org(session, owner) is None:
        raise InvalidField("owner_id", f"organisation {owner} does not exist")


def _name_taken(rule: str, name: str) -> Problem:
    return Problem(409, "Conflict", f"name: a {rule} named {name!r} exists already (names are compared "
                   "regardless of case)", type_="conflict", errors=[{"field": "name", "detail": "already used"}])


def _check_name(session: Session, rule: str, name: str, self_id: uuid.UUID | None = None) -> None:
    existing = repository.get_rule_by_name(session, rule, name)
    if existing is not None and existing.id != self_id:
        raise _name_taken(rule, existing.name)


def _write_rule(session: Session, rule: str, name: str, write: Callable[[], Any]) -> Any:
    """Run ``write`` (which flushes the rule) in a savepoint: when a concurrent call took the name first, the
    answer is the 409 of :func:`_check_name`, never an IntegrityError."""
    try:
        with session.begin_nested():
            return write()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) not in RULE_NAME_INDEXES:
            raise
        raise _name_taken(rule, name) from exc


def create_rule(session: Session, rule: str, data: dict[str, Any], settings: Settings) -> Any:
    clean = _validate(rule, data)
    _check_owner(session, clean)
    _check_name(session, rule, clean["name"])
    values = _rule_values(rule, clean, settings)
    obj = _write_rule(session, rule, clean["name"],
                      lambda: repository.add_rule(session, repository.RULE_MODELS[rule](**values)))
    refresh_rule(session, rule, obj.id)
    return obj


def get_rule(session: Session, rule: str, rule_id: uuid.UUID) -> Any:
    obj = repository.get_rule(session, rule, rule_id)
    if obj is None:
        raise not_found(rule.capitalize(), rule_id)
    return obj


OWNER_EDITABLE = {"routes", "stops"}


def update_rule(session: Session, principal: Principal, rule: str, rule_id: uuid.UUID, patch: dict[str, Any],
                settings: Settings) -> Any:
    """Coordinators change anything; the organisation owning a corridor may change its routes and stops."""
    obj = repository.get_rule(session, rule, rule_id, for_update=True)
    if obj is None:
        raise not_found(rule.capitalize(), rule_id)
    if not principal.is_coordinator:
        owner = getattr(obj, "owner_id", None)
        if owner is None or owner != principal.org_id or not set(patch) <= OWNER_EDITABLE:
            raise forbidden("Only the coordination office may change this rule"
                            + ("; the corridor's owner may change routes and stops." if owner else "."))
    if not isinstance(patch, dict):
        raise InvalidField("body", "must be a JSON object")
    current = rule_to_read(rule, obj)
    merged = {k: v for k, v in current["properties"].items() if k in RULE_SCHEMAS[rule].model_fields}
    merged["geometry"] = current["geometry"]
    merged.update(patch)
    clean = _validate(rule, merged)
    _check_owner(session, clean)
    _check_name(session, rule, clean["name"], obj.id)  # a rule may change the case of its own name
    values = _rule_values(rule, clean, settings)
    if "geometry" not in patch:
        values.pop("geom")

    def write() -> None:
        for key, value in values.items():
            setattr(obj, key, value)
        session.flush()

    _write_rule(session, rule, clean["name"], write)
    session.refresh(obj)
    refresh_rule(session, rule, obj.id)
    return obj


def delete_rule(session: Session, rule: str, rule_id: uuid.UUID) -> None:
    """Delete a rule and its conflicts. Unlike a change, this waits while a full refresh runs: the refresh's rows
    of the rule (and the cascade of the rule's deletion) cannot be left alone, and its inserts would wait for the
    deleted rule's row. It also waits for a single recomputation (which may be inserting rows of the rule). Waiting
    is safe here because nothing is locked yet: what holds either lock never waits for this transaction."""
    repository.lock_refresh_shared(session, wait=True)
    repository.lock_single_refresh(session, wait=True)
    obj = get_rule(session, rule, rule_id)
    repository.delete_rule_conflicts(session, rule, rule_id)
    repository.delete_rule(session, obj)


def rules_of_type(session: Session, rule: str) -> list[Any]:
    return repository.list_rules(session, rule)


