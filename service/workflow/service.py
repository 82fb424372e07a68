"""Coordination workflow: transitions (driven by ``states.TRANSITIONS``), slot proposals, deadlines,
emergencies, changes after approval, the append-only history and comments.

Every state change here, in one transaction: mutate, write a history row, set or clear the answer deadline,
then ``requests.service._after_change`` (the outbox event plus every domain's hook). Nothing here commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiLineString, mapping
from sqlalchemy.orm import Session

from service.auth.service import Principal
from service.geo import rules as geo_rules
from service.kit.encode import rfc3339
from service.kit.problems import InvalidField, Problem, forbidden, not_found
from service.kit.time import now as service_now
from service.kit.time import today as service_today
from service.kit.time import tz
from service.requests import repository as requests_repository
from service.requests import service as requests_service
from service.requests.models import EXCAVATING_KINDS, IMPACT_ORDER, SiteRequest, Status
from service.settings import Settings
from service.slots import explanations
from service.slots import repository as slot_repository
from service.slots.models import Slot
from service.workflow import precedences, repository
from service.workflow.calendar import working_days_deadline
from service.workflow.models import RequestChange, RequestComment, RequestHistory
from service.workflow.reasons import BY_CODE, COORDINATOR_CODES
from service.workflow.schemas import ActionBody, ChangeBody, DecisionBody
from service.workflow.states import TRANSITIONS, allowed_actions, roles_of

try:  # the pure scheduler's incremental insertion (issue 4); the greedy below is the fallback
    from service.scheduler.incremental import InsertionIndex
    from service.scheduler.model import Forbidden, Task
    from service.scheduler.model import Problem as PlanProblem
except ImportError:  # pragma: no cover - depends on the scheduler work being present
    InsertionIndex = None  # type: ignore[assignment,misc]

IN_TRANSITION = "workflow.in_transition"
SNAPSHOT_FIELDS = (
    "status", "title", "description", "kind", "impact", "modes", "shift", "urgency", "earliest_start",
    "latest_end", "duration_days", "preferred_start", "external_id", "contact", "bundle_with",
)
# Fields the snapshot gained after histories were written: a row that lacks one had this value then.
LATER_FIELDS: dict[str, Any] = {"after": []}
# Which answer deadline starts when a transition lands: the coordinator's (working days) or the owner's.
# ``displace_unplaced``: a site an emergency left without a slot waits in the coordinator's queue with a deadline
COORDINATOR_CLOCK_ACTIONS = {"create", "submit", "accept", "displace_unplaced"}
OWNER_CLOCK_ACTIONS = {"propose", "displace", "restore"}


# --- snapshots and history ------------------------------------------------------------------------


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def slot_json(slot: Slot | None) -> dict[str, Any] | None:
    if slot is None:
        return None
    return {"start": slot.start.isoformat() if slot.start else None,
            "end": slot.end.isoformat() if slot.end else None, "status": slot.status}


def snapshot(session: Session, req: SiteRequest) -> dict[str, Any]:
    """The request as the history compares it: the fields an owner or the workflow can change, plus the slot."""
    data: dict[str, Any] = {name: getattr(req, name) for name in SNAPSHOT_FIELDS}
    data["modes"] = list(data["modes"] or [])
    data["bundle_with"] = list(data["bundle_with"] or [])
    # the precedences, sorted: a PATCH (or a coordinator's ordering of two organisations' works) shows in the history
    data["after"] = sorted(requests_service.after_of(req), key=lambda e: str(e["request"]))
    data["geometry"] = mapping(to_shape(req.geom)) if req.geom is not None else None
    data["diversions"] = mapping(to_shape(req.diversions_geom)) if req.diversions_geom is not None else None
    data["replacement_routes"] = (mapping(to_shape(req.replacement_geom))
                                  if req.replacement_geom is not None else None)
    data["slot"] = slot_json(session.get(Slot, req.id))
    return _json(data)


def _actor(principal: Principal | None, req: SiteRequest) -> str:
    if principal is None:
        return "system"
    if principal.org_id == req.owner_id:
        return "owner"
    return "coordinator" if principal.is_coordinator else "other"


# History rows whose ``after`` describes a change after approval, not the request: the values a change asks
# for are the request's only once it is approved (its own row then says what changed).
NOT_SNAPSHOTS = frozenset({"change.requested", "change.rejected"})


def _replayed(rows: list[RequestHistory]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for row in rows:
        if row.action not in NOT_SNAPSHOTS:
            state.update(row.after or {})
    return state


def record(
    session: Session, req: SiteRequest, action: str, principal: Principal | None, *, reason: str | None = None,
    reason_code: str | None = None, force: bool = False, note: dict[str, Any] | None = None,
) -> RequestHistory | None:
    """Append a history row for what changed since the last row (``before``/``after`` hold the changed
    fields only). Without ``force`` nothing is written when nothing changed. ``note`` adds what the step said
    beyond the request's fields to ``after`` (a contest's counter-proposal). Other domains that change a
    request or its slot without a workflow transition (e.g. a coordinator locking a slot) call this."""
    session.flush()
    rows = repository.history_rows(session, req.id)
    current = snapshot(session, req)
    if not rows:
        before, after = None, current
        action = "create" if action in ("create", "request.created") else action
    else:
        previous = {**LATER_FIELDS, **_replayed(rows)}
        changed = sorted(k for k in current if previous.get(k) != current[k])
        if not changed and not force:
            return None
        before = {k: previous.get(k) for k in changed}
        after = {k: current[k] for k in changed}
    if note:
        after = {**after, **_json(note)}
    return repository.add_history(session, RequestHistory(
        request_id=req.id, seq=(rows[-1].seq + 1) if rows else 1, actor=_actor(principal, req),
        organisation_id=principal.org_id if principal else None, key_id=principal.key_id if principal else None,
        action=action, before=before, after=after, reason=reason, reason_code=reason_code,
    ))


def _ensure_created(session: Session, req: SiteRequest, principal: Principal | None) -> None:
    """A transition before the foundation's ``request.created`` hook reached us (another domain's hook
    acting on a new request): write the creation row first, so the history starts with it."""
    if not repository.history_rows(session, req.id):
        record(session, req, "create", principal)


@contextmanager
def _in_transition(session: Session) -> Iterator[None]:
    depth = session.info.get(IN_TRANSITION, 0)
    session.info[IN_TRANSITION] = depth + 1
    try:
        yield
    finally:
        session.info[IN_TRANSITION] = depth


def in_transition(session: Session) -> bool:
    return bool(session.info.get(IN_TRANSITION))


def _notify(session: Session, req: SiteRequest, kind: str, principal: Principal | None,
            payload: dict[str, Any]) -> None:
    """The outbox event and the other domains' hooks, exactly as for the foundation's own changes."""
    with _in_transition(session):
        requests_service._after_change(session, req, kind, principal, _json(payload))


# --- deadlines ------------------------------------------------------------------------------------


def _set_clock(session: Session, req: SiteRequest, action: str, settings: Settings, at: datetime | None) -> None:
    at = at or service_now(settings)
    if action in COORDINATOR_CLOCK_ACTIONS and req.status in (Status.submitted, Status.accepted):
        due = working_days_deadline(at, settings.coordinator_answer_working_days, tz(settings))
        repository.set_deadline(session, req.id, party="coordinator", status=req.status, since=at, due_at=due)
    elif action in OWNER_CLOCK_ACTIONS and req.status == Status.slot_proposed:
        due = at + timedelta(days=settings.owner_answer_days)
        repository.set_deadline(session, req.id, party="owner", status=req.status, since=at, due_at=due)
    else:
        repository.clear_deadline(session, req.id)


def deadline_json(session: Session, request_id: uuid.UUID) -> dict[str, Any] | None:
    d = repository.get_deadline(session, request_id)
    if d is None:
        return None
    return {"party": d.party, "status": d.status, "since": rfc3339(d.since), "due_at": rfc3339(d.due_at)}


def decision_json(session: Session, req: SiteRequest) -> dict[str, Any] | None:
    """Why a rejected request was rejected: the coordinator's reason code (German and English) and text."""
    if req.status != "rejected":
        return None
    row = repository.last_reasoned(session, req.id)
    if row is None:
        return None
    code = BY_CODE.get(row.reason_code or "")
    return {"action": row.action, "at": rfc3339(row.at), "reason_code": row.reason_code,
            "reason_de": code.de if code else None, "reason_en": code.en if code else None, "reason": row.reason}


# --- the transition core --------------------------------------------------------------------------


def _transition(
    session: Session, req: SiteRequest, action: str, principal: Principal | None, settings: Settings, *,
    reason: str | None = None, reason_code: str | None = None, payload: dict[str, Any] | None = None,
    mutate: Any = None, at: datetime | None = None, note: dict[str, Any] | None = None,
) -> SiteRequest:
    t = TRANSITIONS[action]
    if req.status not in t.sources:  # callers check first; this guards the system paths
        raise _illegal(req, action, set())
    _ensure_created(session, req, principal)
    previous = req.status
    req.status = t.target
    if mutate is not None:
        mutate()
    session.flush()
    record(session, req, action, principal, reason=reason, reason_code=reason_code, force=True, note=note)
    _set_clock(session, req, action, settings, at)
    slot = session.get(Slot, req.id)
    _notify(session, req, t.event, principal, {
        "from": previous, "action": action, "owner_id": str(req.owner_id), "reason": reason,
        "reason_code": reason_code, "slot": slot_json(slot), **(payload or {}),
    })
    return req


def _illegal(req: SiteRequest, action: str, roles: set[str]) -> Problem:
    allowed = allowed_actions(req.status, roles, req.urgency)
    t = TRANSITIONS.get(action)
    why = (f"'{action}' is only for requests of urgency {t.urgency} (this one is {req.urgency})"
           if t is not None and req.status in t.sources and not t.applies(req.urgency)
           else f"'{action}' is not possible while the request is {req.status}")
    return Problem(
        409, "Conflict", f"{why}; allowed now: {', '.join(allowed) or 'nothing'}.", type_="illegal-transition",
        status_now=req.status, allowed=allowed,
    )


def _roles(principal: Principal, req: SiteRequest) -> set[str]:
    return roles_of(is_owner=req.owner_id == principal.org_id, is_coordinator=principal.is_coordinator)


def load_visible(session: Session, principal: Principal, request_id: uuid.UUID, *, lock: bool) -> SiteRequest:
    req = repository.lock_request(session, request_id) if lock else repository.get_request(session, request_id)
    if req is None or (req.status == Status.draft and not requests_service.can_see_full(principal, req)):
        raise not_found("Request", request_id)
    return req


def load_for_action(session: Session, principal: Principal, request_id: uuid.UUID, action: str, *,
                    if_match: str | None = None) -> SiteRequest:
    """The request, locked: 404 if invisible, 403 if the caller may not take this step, 412 if ``if_match``
    is stale, 409 (with the ``allowed`` list for this caller) if the state does not allow it."""
    req = load_visible(session, principal, request_id, lock=True)
    t = TRANSITIONS[action]
    roles = _roles(principal, req)
    if not t.roles & roles:
        who = " or ".join({"owner": "the owner of the request", "coordinator": "the coordination office"}[w]
                          for w in sorted(t.roles, reverse=True))
        raise forbidden(f"Only {who} may {action} this request.")
    requests_service.check_if_match(req, if_match)
    if req.status not in t.sources or not t.applies(req.urgency):
        raise _illegal(req, action, roles)
    return req


def available_actions(session: Session, principal: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    req = load_visible(session, principal, request_id, lock=False)
    return {"status": req.status, "allowed": allowed_actions(req.status, _roles(principal, req), req.urgency),
            "deadline": deadline_json(session, req.id)}


# --- owner steps ----------------------------------------------------------------------------------


def _today(settings: Settings, today: date | None) -> date:
    return today or service_today(settings)


def check_submittable(session: Session, principal: Principal, req: SiteRequest, settings: Settings) -> None:
    """A draft is submitted on the terms of a request created as submitted today (``requests_service.create``):
    its window (not ended, enough days left from today, not too far ahead; an emergency's from today), geometry
    and routes and the windows of its precedences (``after``: both, counted from today, must still allow the
    order) are checked again, and a failing rule is the same 422, naming the field, as a ``POST`` would give. The
    draft stays a draft (nothing is stored): its owner corrects it with ``PATCH`` and submits again. The requests
    it names (``after``, ``bundle_with``) were checked when they were added and are not again (one withdrawn
    since holds nothing)."""
    current = requests_service._current_body(req)
    # (published records, a city's open data, keep their dates as on their import)
    prepared = requests_service.prepare(current, settings,
                                        allow_past=req.source in requests_service.PUBLISHED_SOURCES)
    values, day = prepared.values, service_today(settings)
    window = requests_service.Starts.of(values["earliest_start"], values["latest_end"], values["duration_days"],
                                        Status.submitted, day)
    after = requests_service._after_entries(current.get("after"))
    # the links stored with the draft stay as they are (a coordinator may have set one with another
    # organisation's request); what is checked again is whether both windows, counted from today, keep them
    requests_service.check_after(session, principal, after, owner_id=req.owner_id, self_id=req.id, window=window,
                                 existing={e["request"]: (e["min_gap_days"], e["max_gap_days"]) for e in after},
                                 window_changed=True, day=day)


def submit(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
           settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "submit", if_match=if_match)
    check_submittable(session, principal, req, settings)  # before anything is written
    _transition(session, req, "submit", principal, settings, reason=body.reason)
    if req.urgency == "emergency":
        activate_emergency(session, req, settings)
    return req


def accept(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
           settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "accept", if_match=if_match)
    slot = repository.get_slot(session, req.id)
    if slot is None or slot.start is None:  # nothing to agree to; a slot proposed later must be seen first
        raise Problem(409, "Conflict", "There is no slot to accept: the coordination office proposes one first.",
                      type_="no-slot", allowed=allowed_actions(req.status, _roles(principal, req), req.urgency))
    return _transition(session, req, "accept", principal, settings, reason=body.reason)


def contest(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
            settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "contest", if_match=if_match)
    if not body.reason or not body.reason.strip():
        raise InvalidField("reason", "say why you contest the proposed slot")
    counter = None
    if body.counter_proposal is not None:
        cp = body.counter_proposal
        day = service_today(settings)
        if cp.earliest_start < day:  # dates asked for instead of the proposed slot: the past is no answer (and it
            # would widen the request's window backwards)
            raise InvalidField("counter_proposal.earliest_start", f"{cp.earliest_start} has passed (today is {day}); "
                               "ask for dates from today on")
        window = (cp.latest_end - cp.earliest_start).days + 1
        if cp.latest_end >= cp.earliest_start and window < req.duration_days:
            # the works' duration is the request's, not a field of the counter-proposal: its end is named
            raise InvalidField("counter_proposal.latest_end", f"the window of {window} days ({cp.earliest_start} to "
                               f"{cp.latest_end}) is shorter than the works' {req.duration_days} days; ask for a "
                               f"latest_end of {cp.earliest_start + timedelta(days=req.duration_days - 1)} or later")
        requests_service.check_window(cp.earliest_start, cp.latest_end, req.duration_days, None,
                                      settings=settings, prefix="counter_proposal.")
        counter = {"earliest_start": cp.earliest_start.isoformat(), "latest_end": cp.latest_end.isoformat()}

    def widen_window() -> None:
        """Dates the owner asks for beyond the window become part of it (they are the owner's own dates): else
        the coordinator could never grant them, and the owner cannot edit a proposed request."""
        cp = body.counter_proposal
        if cp is not None:
            req.earliest_start = min(req.earliest_start, cp.earliest_start)
            req.latest_end = max(req.latest_end, cp.latest_end)

    # the history row keeps the counter-proposal (``after``): the request shows it while it is contested
    return _transition(session, req, "contest", principal, settings, reason=body.reason.strip(),
                       payload={"counter_proposal": counter}, mutate=widen_window,
                       note={"counter_proposal": counter} if counter else None)


def counter_proposal_json(session: Session, req: SiteRequest) -> dict[str, Any] | None:
    """What the owner asked for instead of the proposed slot, while the request is contested: the window,
    the owner's reason and when (from the history row of the contest); ``None`` without a window."""
    if req.status != Status.contested:
        return None
    row = repository.last_of(session, req.id, "contest")
    counter = (row.after or {}).get("counter_proposal") if row is not None else None
    if not counter:
        return None
    return {**counter, "reason": row.reason, "at": rfc3339(row.at)}


def start(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody, settings: Settings,
          *, today: date | None = None, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "start", if_match=if_match)
    day = _today(settings, today)
    slot = repository.get_slot(session, req.id, for_update=True)
    if slot is None or slot.status != "approved" or slot.start is None or not (slot.start <= day <= slot.end):
        window = f"{slot.start} to {slot.end}" if slot is not None and slot.start else "none"
        raise Problem(409, "Conflict", f"The site may only be set up inside its approved slot ({window}); "
                      f"today is {day}.", type_="outside-approved-slot",
                      slot=slot_json(slot), today=day.isoformat())
    return _transition(session, req, "start", principal, settings, reason=body.reason)


def complete(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody, settings: Settings,
             *, today: date | None = None, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "complete", if_match=if_match)
    day = _today(settings, today)
    slot = repository.get_slot(session, req.id, for_update=True)

    def release_rest() -> None:  # finished early: the remaining days are free for others
        if slot is not None and slot.start is not None and slot.start <= day < slot.end:
            planned_end, slot.end = slot.end, day
            # the old summary named the planned dates; the slot no longer lasts duration_days
            slot.explanation = {**(slot.explanation or {}), "completed_early": day.isoformat(),
                                "planned_end": planned_end.isoformat(),
                                "summary": explanations.completed_early_summary(slot.start, day, planned_end)}

    return _transition(session, req, "complete", principal, settings, reason=body.reason, mutate=release_rest)


def _cancel_pending_changes(session: Session, req: SiteRequest, why: str) -> None:
    change = repository.pending_change(session, req.id)
    if change is not None:
        change.status = "cancelled"
        change.decision_reason = why
        session.flush()


def withdraw(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
             settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "withdraw", if_match=if_match)

    def free_slot() -> None:
        repository.delete_slot(session, req.id)
        _cancel_pending_changes(session, req, "request withdrawn")

    return _transition(session, req, "withdraw", principal, settings, reason=body.reason, mutate=free_slot)


def cancel(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
           settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    """An active emergency reported by mistake (wrong street, a duplicate) is cancelled by its owner or the
    coordination office, with a reason: it becomes ``withdrawn`` (event ``request.withdrawn``: the subscribers
    get the cancellation, the feeds list it as cancelled), its slot is freed and a pending change cancelled. The
    submitted sites it left unplaced are placed again (the slots domain's hook, ``place_unblocked``, as for any
    withdrawn request); those it moved to a new proposal get the dates it took proposed again
    (:func:`_restore_displaced`)."""
    req = load_for_action(session, principal, request_id, "cancel", if_match=if_match)
    if not body.reason or not body.reason.strip():
        raise InvalidField("reason", "say why the emergency is cancelled (e.g. reported for the wrong street, a "
                           "duplicate)")
    displaced = repository.displaced_by(session, req.id)

    def free_slot() -> None:
        repository.delete_slot(session, req.id)
        _cancel_pending_changes(session, req, "emergency cancelled")

    _transition(session, req, "cancel", principal, settings, reason=body.reason, mutate=free_slot,
                payload={"cancelled_emergency": True})
    for victim_id in displaced:
        _restore_displaced(session, victim_id, req, settings)
    return req


def _move_approved(session: Session, victim: SiteRequest, start_day: date, end_day: date, explanation: dict[str, Any],
                   payload: dict[str, Any], *, action: str, reason: str, reason_code: str,
                   history: str | None = None) -> Slot:
    """Approved works moved to ``[start_day, end_day]`` by an emergency (``displace``) or back after its cancellation
    (``restore``) with their approval kept: the approved slot, a history row (``history``, else ``action``; the
    summary as its reason) and event ``slot.displaced`` marked ``approval_kept``. No state changes."""
    summary = explanation["summary"]
    slot = slot_repository.put_slot(session, victim.id, start=start_day, end=end_day, status="approved",
                                    provisional=False, explanation=explanation, unplaced=None, plan_id=None)
    record(session, victim, history or action, None, reason=f"{summary['de']} / {summary['en']}",
           reason_code=reason_code, force=True)
    _notify(session, victim, "slot.displaced", None, {
        "from": victim.status, "action": action, "owner_id": str(victim.owner_id), "reason": reason,
        "reason_code": reason_code, "slot": slot_json(slot), "approval_kept": True, **payload})
    return slot


def _restore_displaced(session: Session, victim_id: uuid.UUID, emergency: SiteRequest, settings: Settings) -> None:
    """A cancelled emergency had moved ``victim_id`` to a new proposal: while that proposal still stands (nobody
    decided on it since), the dates the emergency took are proposed again, when they have not begun and clash
    with no locked or approved slot (``restore``, event ``slot.displaced``: the owner answers again, the
    subscribers hear of the dates). Else the proposal stays for the owner and the coordination office."""
    victim = repository.lock_request(session, victim_id)
    slot = repository.get_slot(session, victim_id, for_update=True)
    if victim is None or slot is None or (slot.explanation or {}).get("displaced_by") != str(emergency.id):
        return
    kept = victim.status == Status.approved and slot.status == "approved"  # moved with its approval kept
    if not kept and (slot.status != "proposed" or victim.status not in TRANSITIONS["restore"].sources):
        return
    previous = (slot.explanation or {}).get("previous") or {}
    if not previous.get("start") or not previous.get("end"):
        return
    start_day, end_day = date.fromisoformat(previous["start"]), date.fromisoformat(previous["end"])
    if (start_day < service_today(settings) or start_day < victim.earliest_start or end_day > victim.latest_end
            or (end_day - start_day).days + 1 != victim.duration_days
            or _conflicts_at(session, victim, start_day, end_day, settings)):
        return
    if kept and (rule_conflicts_at(session, victim, start_day, end_day)
                 or precedences_at(session, victim, start_day, end_day).fixed):
        return  # its old dates would need an override now: the approved new dates stay
    old_json = slot_json(slot)
    title = explanations.title_for(emergency, victim.owner_id)
    again_de, again_en = ("gilt wieder als genehmigt", "are approved again") if kept else (
        "wird wieder vorgeschlagen", "are proposed again")
    summary = {"de": (f"Die Notfall-Baustelle „{title}“ wurde storniert: der Termin "
                      f"{explanations.date_de(start_day)}–{explanations.date_de(end_day)} {again_de}."),
               "en": (f"The emergency works “{title}” were cancelled: the dates {explanations.date_en(start_day)} – "
                      f"{explanations.date_en(end_day)} {again_en}.")}
    explanation = {"restored_after": str(emergency.id), "previous": old_json, "method": "restored",
                   "summary": summary, **({"approval_kept": True} if kept else {})}
    payload = {"emergency_id": str(emergency.id), "previous_slot": old_json, "method": "restored"}
    if kept:  # approved works go back to their approved dates, approved (as the displacement kept them)
        _move_approved(session, victim, start_day, end_day, explanation, payload, action="restore",
                       reason="emergency cancelled", reason_code="emergency_cancelled")
        return

    def put_back() -> None:
        slot_repository.put_slot(session, victim.id, start=start_day, end=end_day, status="proposed",
                                 provisional=False, explanation=explanation, unplaced=None, plan_id=None)

    _transition(session, victim, "restore", None, settings, reason="emergency cancelled",
                reason_code="emergency_cancelled", mutate=put_back, payload=payload)


# --- coordinator steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Works:
    """The works as a change would make them, for the conflict checks and the placement. Each ``None`` keeps the
    request's own: footprint (WKB), impact, shift, diversion and replacement routes (a pair of WKB, ``None``
    in it for no routes), and modes (they tell works in the road from works on a track of their own)."""

    geom_wkb: bytes | None = None
    impact: str | None = None
    shift: str | None = None
    routes: tuple[bytes | None, bytes | None] | None = None
    modes: tuple[str, ...] | None = None


AS_STORED = Works()


def _conflicts_at(session: Session, req: SiteRequest, start_day: date, end_day: date, settings: Settings, *,
                  works: Works = AS_STORED,
                  statuses: tuple[str, ...] = ("locked", "approved")) -> list[dict[str, Any]]:
    """The slots (of ``statuses``) the works of ``req`` (as ``works`` changes them) on ``[start_day, end_day]``
    would clash with, by the slot system's hard rules: space, diversion, one-at-a-time corridors
    (:func:`repository.conflicting_slots`) and the zones and corridors whose capacity those slots already fill on
    some day of the period (each such member is named, with the rule)."""
    impact = works.impact or req.impact
    rows = repository.conflicting_slots(
        session, request_id=req.id, owner_id=req.owner_id, geom_wkb=works.geom_wkb, impact=impact,
        shift=works.shift or req.shift, start=start_day, end=end_day, distances=settings.conflict_distance_m,
        route_tolerance_m=settings.diversion_tolerance_m, impact_order=dict(IMPACT_ORDER), statuses=statuses,
        routes=works.routes, modes=works.modes,
    )
    out = [{"request_id": str(r.id), "title": r.title, "start": r.start.isoformat(), "end": r.end.isoformat(),
            "slot_status": r.slot_status, "request_status": r.request_status, "kind": r.kind} for r in rows]
    members = repository.capacity_members(session, request_id=req.id, geom_wkb=works.geom_wkb, impact=impact,
                                          start=start_day, end=end_day, impact_order=dict(IMPACT_ORDER),
                                          statuses=statuses, modes=works.modes)
    rules: dict[tuple[str, uuid.UUID], list[Any]] = {}
    for m in members:
        rules.setdefault((m.rule, m.rule_id), []).append(m)
    # day-only and night-only works never compete for a place; continuous works take one by day and one by night
    shift = str(works.shift or req.shift)
    parts = [part for part in geo_rules.SHIFT_HOURS if geo_rules.occupies(shift, part)]
    for (rule, rule_id), all_slots in rules.items():
        capacity = all_slots[0].capacity
        peak, slots = None, []
        for d in _days(start_day, end_day):
            full = [[m for m in all_slots if m.start <= d <= m.end and geo_rules.occupies(m.shift, part)]
                    for part in parts]
            slots = next((group for group in full if len(group) >= capacity), [])
            if slots:
                peak = d
                break
        if peak is None:
            continue
        for m in slots:
            out.append({"request_id": str(m.id), "title": m.title, "start": m.start.isoformat(),
                        "end": m.end.isoformat(), "slot_status": m.slot_status,
                        "request_status": m.request_status, "kind": rule, "rule_id": str(rule_id),
                        "rule_name": m.name, "capacity": capacity, "full_from": peak.isoformat()})
    return out


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _check_not_past(start_day: date, settings: Settings, field_name: str = "start") -> None:
    day = service_today(settings)
    if start_day < day:
        raise InvalidField(field_name, f"{start_day} has passed (today is {day}); no slot can be granted in the past")


def _check_in_window(req: SiteRequest, start_day: date, field_name: str) -> date:
    # compared with the last possible start, not by adding the duration: 9999-12-31 + days does not exist
    last_start = req.latest_end - timedelta(days=req.duration_days - 1)
    if not req.earliest_start <= start_day <= last_start:
        raise InvalidField(field_name, f"a slot of {req.duration_days} days starting {start_day} does not fit the "
                           f"window {req.earliest_start} to {req.latest_end} (it must start between "
                           f"{req.earliest_start} and {last_start})")
    return start_day + timedelta(days=req.duration_days - 1)


def propose_slot(
    session: Session, req: SiteRequest, start_day: date, end_day: date, explanation: dict[str, Any] | None,
    actor: Principal | None, *, settings: Settings, reason: str | None = None, plan_id: uuid.UUID | None = None,
    provisional: bool = False, at: datetime | None = None,
    then: Callable[[], dict[str, Any] | None] | None = None,
) -> SiteRequest:
    """Propose ``[start_day, end_day]`` (inclusive) for ``req``: the slot row becomes ``proposed``, the request
    ``slot_proposed``, the owner's answer deadline starts, event ``slot.proposed``. For the planner (actor
    ``None`` = system) and the coordinator's manual proposal. The caller holds the request row lock. ``then``
    runs once the slot is written (before the history and the event); an explanation it returns replaces
    ``explanation``."""
    if req.status not in TRANSITIONS["propose"].sources:
        raise _illegal(req, "propose", {"coordinator"})
    if (end_day - start_day).days + 1 != req.duration_days:
        raise InvalidField("start", f"the slot must last {req.duration_days} days")
    payload: dict[str, Any] = {"explanation": explanation or {}, "plan_id": str(plan_id) if plan_id else None}

    def place() -> None:  # plan_id None: no plan run chose this slot (a manual proposal); none stays on it
        slot = slot_repository.put_slot(session, req.id, start=start_day, end=end_day, status="proposed",
                                        provisional=provisional, explanation=explanation or {}, unplaced=None,
                                        plan_id=plan_id)
        revised = then() if then is not None else None
        if revised is not None:
            slot.explanation = payload["explanation"] = revised
            session.flush()

    return _transition(session, req, "propose", actor, settings, reason=reason, mutate=place, at=at,
                       payload=payload)


def unplace(session: Session, req: SiteRequest, settings: Settings, *, plan_id: uuid.UUID) -> SiteRequest:
    """A plan run left a proposed (or contested) request without a slot: the proposal is void, so the request
    goes back to the coordinator's queue (``submitted``) and the owner's answer deadline stops."""
    return _transition(session, req, "unplace", None, settings, reason="no slot in this plan run",
                       payload={"plan_id": str(plan_id)})


RULE_KINDS = ("blackout", "moratorium")


def rule_conflicts_at(session: Session, req: SiteRequest, start_day: date, end_day: date, *,
                      works: Works = AS_STORED) -> list[dict[str, Any]]:
    """The blackouts and moratoriums ``req`` (its works as ``works`` changes them) would break from ``start_day``
    to ``end_day``, each with a German and an English sentence: the forbidden periods a plan run never places a
    slot in (``slots.repository.forbidden_periods``, the planner's own query). A change of area or impact, which
    the stored request does not show, asks :func:`repository.rules_in_area` and ``service.geo.rules`` (a
    moratorium refuses excavating works, a blackout an impact above its ``max_impact``; neither an emergency)."""
    if works.geom_wkb is None and works.impact is None:
        rows = slot_repository.forbidden_periods(session, [req.id], dict(IMPACT_ORDER), sorted(EXCAVATING_KINDS),
                                                 start=start_day, end=end_day)
    else:
        impact = works.impact or req.impact
        rows = [r for r in repository.rules_in_area(session, request_id=req.id, geom_wkb=works.geom_wkb,
                                                    start=start_day, end=end_day)
                if (geo_rules.moratorium_applies(req.kind, req.urgency) if r.kind == "moratorium"
                    else geo_rules.blackout_applies(impact, r.max_impact or "none", req.urgency))]
    return [{"kind": r.kind, "id": str(r.rule_id), "name": r.name, "start": r.start.isoformat(),
             "end": r.end.isoformat(), **explanations.rule_conflict_text(r.kind, r.name, r.start, r.end)}
            for r in rows]


def _rule_key(rule: dict[str, Any]) -> tuple[str, str]:
    return rule["kind"], rule["id"]


def _rule_periods(session: Session, req: SiteRequest, first: date, last: date, *,
                  works: Works = AS_STORED) -> list[tuple[date, date]]:
    """The periods in ``[first, last]`` (inclusive) the works may not touch: the blackouts and moratoriums
    (:func:`rule_conflicts_at`) a placement avoids, as a plan run does."""
    if first > last:
        return []
    return [(max(first, date.fromisoformat(r["start"])), min(last, date.fromisoformat(r["end"])))
            for r in rule_conflicts_at(session, req, first, last, works=works)]


def _new_rules(session: Session, req: SiteRequest, start_day: date, end_day: date,
               previous: tuple[date, date] | None, *, works: Works = AS_STORED,
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rules (:func:`rule_conflicts_at`) a slot ``[start_day, end_day]`` of the works as ``works`` changes
    them breaks that the slot ``previous`` did not, and those it broke already, as :func:`_new_clashes` splits
    clashes: on the days outside the old slot every rule counts anew; on the days it held, only a rule the stored
    works did not break there (the changed works reach another area, or a higher impact) is new."""
    return _split_new(lambda first, last, w: rule_conflicts_at(session, req, first, last, works=w), _rule_key,
                      start_day, end_day, previous, works)


def precedences_at(session: Session, req: SiteRequest, start_day: date, end_day: date, *,
                   after: list[dict[str, Any]] | None = None) -> precedences.Broken:
    """The precedences (``after`` links, either way) a slot ``[start_day, end_day]`` of ``req`` would break
    against the other request's slot as it is now: against locked and approved slots (``fixed``) and against
    proposed ones (``proposed``). ``after``, when given, stands for the request's own ``after`` list (a change
    after approval that replaces it). See :mod:`service.workflow.precedences`."""
    rows = repository.precedence_partners(session, req.id, after=after)
    return precedences.broken(rows, req.id, start_day, end_day)


def _link_key(link: dict[str, Any]) -> tuple[Any, ...]:
    return link["request_id"], link["order"], link["min_gap_days"], link["max_gap_days"]


def _days_off(link: dict[str, Any], start_day: date) -> int:
    """How many days a slot starting ``start_day`` lies outside the starts ``link`` (as :func:`precedences.broken`
    names it) allows: for a link before another site, the days its end overshoots (or falls short)."""
    earliest, latest = link.get("earliest_start"), link.get("latest_start")
    return max(0, (date.fromisoformat(earliest) - start_day).days if earliest else 0,
               (start_day - date.fromisoformat(latest)).days if latest else 0)


def _new_breaks(now: list[dict[str, Any]], start_day: date, before: list[dict[str, Any]],
                old_start: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The links of ``now`` (broken by a slot starting ``start_day``) split into those the old slot (starting
    ``old_start``, breaking ``before``) did not break, or broke by fewer days, and those it broke as much
    already (its approval accepted them: a change that does not make them worse needs no override for them)."""
    had = {_link_key(b): _days_off(b, old_start) for b in before}
    new, kept = [], []
    for link in now:
        key = _link_key(link)
        (kept if key in had and _days_off(link, start_day) <= had[key] else new).append(link)
    return new, kept


def _clash_key(clash: dict[str, Any]) -> tuple[Any, ...]:
    return clash["request_id"], clash["kind"], clash.get("rule_id")


def _new_clashes(session: Session, req: SiteRequest, start_day: date, end_day: date,
                 previous: tuple[date, date] | None, settings: Settings, *, works: Works = AS_STORED,
                 statuses: tuple[str, ...] = ("locked", "approved"),
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The clashes (:func:`_conflicts_at`) of ``req``'s works as ``works`` changes them on ``[start_day,
    end_day]`` that its slot ``previous`` did not have, and those it had already. On the days outside the old
    slot every clash is new; on the days it held, the works as they are clashed there likewise (the approval of
    one of the two slots accepted it), unless the works change: then only a clash the stored works did not have
    there (another other slot, or another rule) is new. A pure shortening thus never clashes anew."""
    return _split_new(lambda first, last, w: _conflicts_at(session, req, first, last, settings, works=w,
                                                           statuses=statuses),
                      _clash_key, start_day, end_day, previous, works)


def _split_new(at: Any, key: Any, start_day: date, end_day: date, previous: tuple[date, date] | None,
               works: Works) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What ``at(first, last, works)`` finds on ``[start_day, end_day]`` split into what is new against the slot
    ``previous`` and what it had already (:func:`_new_clashes`, :func:`_new_rules`); ``key`` tells one finding
    from another."""
    if previous is None:
        return at(start_day, end_day, works), []
    new: list[dict[str, Any]] = []
    if start_day < previous[0]:
        new += at(start_day, min(end_day, previous[0] - timedelta(days=1)), works)
    if end_day > previous[1]:
        new += at(max(start_day, previous[1] + timedelta(days=1)), end_day, works)
    first, last = max(start_day, previous[0]), min(end_day, previous[1])
    kept: list[dict[str, Any]] = []
    if first <= last:
        inner = at(first, last, works)
        had = {key(c) for c in at(first, last, AS_STORED)} if works != AS_STORED else None
        for c in inner:
            (kept if had is None or key(c) in had else new).append(c)
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for c in new:  # a slot (or rule) met on both sides of the old one is one finding
        if key(c) not in seen:
            seen.add(key(c))
            unique.append(c)
    return unique, [c for c in kept if key(c) not in seen]


def _precedence_problem(broken: list[dict[str, Any]], *, overridable: bool, how: str | None = None) -> Problem:
    n = len(broken)
    how = how or ("send override=true to approve anyway" if overridable else "choose another start")
    return Problem(409, "Conflict", f"The slot breaks the order with {n} site{'s' if n > 1 else ''} whose slot is "
                   f"approved or locked (see precedences); {how}.", type_="precedence", precedences=broken)


def lock_checks(session: Session, req: SiteRequest, start_day: date, end_day: date,
                settings: Settings) -> list[dict[str, Any]]:
    """For the slots domain's lock (``POST .../slot/lock``): locking makes ``[start_day, end_day]`` fixed (plan
    runs keep it), so it passes what an approval without override passes. A slot that clashes with approved or
    locked slots by the hard rules (``slot-conflict``, as :func:`propose`), lies in a blackout or moratorium
    (``rule-conflict``: a plan run never places a slot there, and a locked one would stay) or breaks a precedence
    against the other request's locked or approved slot (``precedence``) is refused with 409 and no override
    (propose another start first, or approve with ``override``); the links it breaks against merely proposed
    slots are returned (the lock's warnings, kept in the slot's explanation as ``precedence_warnings``)."""
    how = "propose another start (POST .../propose) before locking the slot"
    clashes = _conflicts_at(session, req, start_day, end_day, settings)
    order = precedences_at(session, req, start_day, end_day)
    # a lock passes what an approval without override passes: a locked slot stays where it is in every plan run,
    # so one inside a blackout or moratorium would keep breaking it without anybody having overridden it
    _refuse_fixed(clashes, order, f"The slot conflicts with approved or locked slots; {how}, or approve it with "
                  "override=true.", overridable=False, how=how,
                  rules=rule_conflicts_at(session, req, start_day, end_day))
    return _json(order.proposed)


def _rule_problem(rules: list[dict[str, Any]], how: str, order: precedences.Broken) -> Problem:
    names = ", ".join(f"the {'no-dig moratorium' if r['kind'] == 'moratorium' else 'blackout'} “{r['name']}” "
                      f"({r['start']} to {r['end']})" for r in rules)
    return Problem(409, "Conflict", f"The slot lies in {names}; {how}.", type_="rule-conflict",
                   rule_conflicts=rules, **({"precedences": order.fixed} if order.fixed else {}))


def _refuse_fixed(clashes: list[dict[str, Any]], order: precedences.Broken, clash_detail: str, *,
                  overridable: bool, how: str | None = None, rules: list[dict[str, Any]] | None = None) -> None:
    """409 ``slot-conflict`` (``clash_detail``, naming the broken rules and precedences too) when the slot
    clashes with approved or locked slots, else 409 ``rule-conflict`` when it lies in a blackout or moratorium
    (``rules``: :func:`rule_conflicts_at`), else 409 ``precedence`` when it breaks a precedence against an
    approved or locked slot."""
    if clashes:
        raise Problem(409, "Conflict", clash_detail, type_="slot-conflict", conflicts=clashes,
                      **({"rule_conflicts": rules} if rules else {}),
                      **({"precedences": order.fixed} if order.fixed else {}))
    if rules:
        raise _rule_problem(rules, "send override=true to approve anyway" if overridable else
                            f"{how or 'choose another start'}, or approve it with override=true", order)
    if order.fixed:
        raise _precedence_problem(order.fixed, overridable=overridable, how=how)


def _refuse_unless_overridden(clashes: list[dict[str, Any]], order: precedences.Broken, override: bool,
                              what: str, rules: list[dict[str, Any]] | None = None) -> None:
    """:func:`_refuse_fixed` for an approval, unless ``override``: the blackouts and moratorium ``rules`` the slot
    breaks are hard rules as the clashes are (a plan run never places a slot there)."""
    if not override:
        _refuse_fixed(clashes, order, f"{what} conflicts with approved or locked slots; send override=true to "
                      "approve anyway.", overridable=True, rules=rules)


def _warning_precedences(explanation: dict[str, Any] | None, warned: list[dict[str, Any]]) -> dict[str, Any]:
    """``explanation`` whose ``precedence_warnings`` are ``warned`` (none: the key goes): the precedences a slot
    breaks, as the step that set or checked it found them; an earlier step's are replaced."""
    out = {k: v for k, v in (explanation or {}).items() if k != "precedence_warnings"}
    if warned:
        out["precedence_warnings"] = _json(warned)
    return out


def _annotated(explanation: dict[str, Any], principal: Principal, clashes: list[dict[str, Any]],
               order: precedences.Broken, rules: list[dict[str, Any]] | None = None,
               reason: str | None = None) -> dict[str, Any]:
    """``explanation`` with what an approval found: the precedences broken against proposed slots
    (``precedence_warnings``), and the hard rules, blackouts and moratoriums and precedences against fixed slots
    it overrode (``overridden_conflicts``, ``overridden_rules``, ``overridden_precedences``, who decided, one more
    sentence each in the summary: the clashes counted by the other sites, not by the ways each clashes). An
    override's ``reason`` (the approver's, when the summary does not hold it yet) ends the summary: the summary
    may quote another reason before it (the proposal's), which did not decide the override."""
    out = _warning_precedences(explanation, order.proposed)  # the proposal's, if any: the approval's replace them
    if not clashes and not order.fixed and not rules:
        return out
    given = out.get("summary")
    summary = dict(given) if isinstance(given, dict) else {"de": given or "", "en": given or ""}
    adds = []
    if clashes:
        n = len({c["request_id"] for c in clashes})  # one site may clash several ways (diversion and zone)
        adds.append({"de": f"Trotz {n} Konflikt{'en' if n > 1 else ''} mit genehmigten oder festgelegten Terminen "
                           "genehmigt.",
                     "en": f"Approved despite {n} conflict{'s' if n > 1 else ''} with approved or locked slots."})
        out["overridden_conflicts"] = _json(clashes)
    for rule in rules or []:
        adds.append(_rule_overridden_text(rule))
    if rules:
        out["overridden_rules"] = _json(rules)
    if order.fixed:
        adds.append(precedences.overridden_text(len(order.fixed)))
        out["overridden_precedences"] = _json(order.fixed)
    said = explanations.reason_sentence(reason, ("Begründung der Genehmigung", "Reason for the approval"))
    if said is not None:
        adds.append({"de": said[0], "en": said[1]})
    for lang in ("de", "en"):
        summary[lang] = " ".join([summary.get(lang, ""), *(a[lang] for a in adds)]).strip()
    return {**out, "summary": summary, "overridden_by": str(principal.org_id)}


def _rule_overridden_text(rule: dict[str, Any]) -> dict[str, str]:
    """One sentence for a blackout or moratorium an approval overrode."""
    if rule["kind"] == "moratorium":
        return {"de": f"Trotz des Aufbruchverbots „{rule['name']}“ genehmigt.",
                "en": f"Approved despite the no-dig moratorium “{rule['name']}”."}
    return {"de": f"Trotz der Sperrzeit „{rule['name']}“ genehmigt.",
            "en": f"Approved despite the blackout “{rule['name']}”."}


def _manual_explanation(req: SiteRequest, principal: Principal, start_day: date, end_day: date,
                        reason: str | None, rules: list[dict[str, Any]], action: str,
                        order: precedences.Broken | None = None) -> dict[str, Any]:
    preferred = req.preferred_start or req.earliest_start
    warned = order.proposed if order is not None else []
    out = {"manual": True, "method": "manual", "by": str(principal.org_id),
           "preferred_start": preferred.isoformat(), "preferred_stated": req.preferred_start is not None,
           "deviation_days": abs((start_day - preferred).days), "rule_conflicts": rules,
           # the summary warns of the precedences with proposed slots as of the rules it breaks
           "summary": explanations.manual_summary(start_day, end_day, preferred, req.preferred_start is not None,
                                                  reason, [*rules, *warned], action)}
    if warned:
        out["precedence_warnings"] = _json(warned)
    return out


def propose(session: Session, principal: Principal, request_id: uuid.UUID, start_day: date,
            explanation: dict[str, Any] | None, reason: str | None, settings: Settings, *,
            if_match: str | None = None) -> SiteRequest:
    """A coordinator's manual proposal. Refused (409) when it overlaps approved or locked slots of conflicting
    requests (``slot-conflict``), or breaks a precedence (``after``, either way) against the other request's
    approved or locked slot (``precedence``); a proposal cannot override either (the approval can). A blackout
    or moratorium the works would break, or a precedence against a merely proposed slot, does not refuse it
    (the owner answers first) but is named in the slot's explanation and in the answer's ``warnings``
    (:func:`proposal_warnings`); approving such a slot needs ``override`` (409 ``rule-conflict``), and it is
    never deemed approved."""
    req = load_for_action(session, principal, request_id, "propose", if_match=if_match)
    end_day = _check_in_window(req, start_day, "start")
    _check_not_past(start_day, settings)
    clashes = _conflicts_at(session, req, start_day, end_day, settings)
    order = precedences_at(session, req, start_day, end_day)
    _refuse_fixed(clashes, order, "The proposed slot conflicts with approved or locked slots.", overridable=False)
    rules = rule_conflicts_at(session, req, start_day, end_day)
    ours = _manual_explanation(req, principal, start_day, end_day, reason, rules, "propose", order)
    given = dict(explanation or {})
    if "summary" in given:  # the coordinator's own words stay, next to the generated de/en summary
        given["note"] = given.pop("summary")

    def place_neighbours_again() -> dict[str, Any] | None:
        """Submitted requests' provisional slots that clash with the proposed one, or break the order with it, are
        placed again around it; the proposal then warns only of what is still broken."""
        if not _place_provisional_again(session, req, start_day, end_day, settings, why="proposed"):
            return None
        now = precedences_at(session, req, start_day, end_day)
        return {**given, **_manual_explanation(req, principal, start_day, end_day, reason, rules, "propose", now)}

    return propose_slot(session, req, start_day, end_day, {**given, **ours}, principal, settings=settings,
                        reason=reason, then=place_neighbours_again)


def _place_provisional_again(session: Session, req: SiteRequest, start_day: date, end_day: date,
                             settings: Settings, *, why: str, skip: frozenset[uuid.UUID] = frozenset(),
                             ) -> list[uuid.UUID]:
    """``req``'s slot was set to ``[start_day, end_day]`` (the slot is written already): approved or proposed by a
    coordinator, locked (:func:`lock_placed`) or deemed approved (:func:`check_deadlines`); ``why`` says which
    (``approved``, ``proposed``, ``locked``, ``deemed_approved``: ``slots.service``'s constants). A fixed slot
    wins, whichever step fixed it: every ``submitted`` request whose provisional slot (placed at once, not yet
    proposed by a plan run or a coordinator) now clashes with it by the hard rules (space, diversion, corridor, a
    zone's or corridor's capacity) or breaks a precedence against it is placed again at once around it, as after
    an approved change (``slots.service.place_again``: explanation ``fixed_by`` and ``placed_again``, history
    ``slot.placed``, event ``slot.displaced``). Slots a plan run or a coordinator proposed stay: their approval
    checks them, and ``req``'s slot warns of the precedences they break. ``skip``: requests left alone (those an
    emergency displaces next anyway). Returns the re-placed ids."""
    from service.slots import service as slots_service  # slots calls the workflow lazily too: no import cycle

    clashes = _conflicts_at(session, req, start_day, end_day, settings,
                            statuses=("proposed", "locked", "approved"))
    order = precedences_at(session, req, start_day, end_day)
    ids = [uuid.UUID(c["request_id"]) for c in clashes
           if c["slot_status"] == "proposed" and c["request_status"] == Status.submitted]
    ids += [uuid.UUID(b["request_id"]) for b in order.proposed]
    ids = [i for i in ids if i not in skip]
    if not ids:
        return []
    return slots_service.place_again(session, req, list(dict.fromkeys(ids)), settings, why=why)


def lock_placed(session: Session, req: SiteRequest, settings: Settings) -> list[uuid.UUID]:
    """For the slots domain's lock, after the slot is locked (:func:`lock_checks` passed): a locked slot is fixed
    like an approved one, so the submitted neighbours' provisional slots that clash with it or break the order
    with it are placed again around it, as after an approval (:func:`_place_provisional_again`); the locked
    slot's ``precedence_warnings`` then name only what is still broken. Returns the re-placed ids."""
    slot = repository.get_slot(session, req.id, for_update=True)
    if slot is None or slot.start is None or slot.end is None or slot.status != "locked":
        return []
    placed = _place_provisional_again(session, req, slot.start, slot.end, settings, why="locked")
    if placed:
        explanation = _warning_precedences(slot.explanation,
                                           precedences_at(session, req, slot.start, slot.end).proposed)
        if explanation != (slot.explanation or {}):
            slot.explanation = explanation
            session.flush()
    return placed


def proposal_warnings(session: Session, req: SiteRequest) -> list[str]:
    """What the answer to a manual proposal warns about: the rules its slot breaks and the precedences it
    breaks against proposed slots ("German / English")."""
    return _slot_warnings(session, req, "rule_conflicts")


def approval_warnings(session: Session, req: SiteRequest) -> list[str]:
    """What the answer to an approval warns about: the blackouts and moratoriums it overrode and the precedences
    its slot breaks against proposed slots ("German / English")."""
    return _slot_warnings(session, req, "overridden_rules")


def _slot_warnings(session: Session, req: SiteRequest, rules_key: str) -> list[str]:
    """The rules the slot's explanation lists under ``rules_key``, then its precedence warnings."""
    slot = session.get(Slot, req.id)
    explanation = slot.explanation if slot is not None else None
    rules = (explanation or {}).get(rules_key)
    return [f"{r['de']} / {r['en']}" for r in rules or []] + explanations.precedence_warnings(explanation)


def approve(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody, settings: Settings,
            *, if_match: str | None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "approve", if_match=if_match)
    slot = repository.get_slot(session, req.id, for_update=True)
    if body.start is not None:
        start_day, end_day = body.start, _check_in_window(req, body.start, "start")
        _check_not_past(start_day, settings)
    elif slot is not None and slot.start is not None and slot.status in ("proposed", "locked"):
        start_day, end_day = slot.start, slot.end
        if end_day < service_today(settings):
            raise Problem(409, "Conflict", f"The slot {start_day} to {end_day} has passed: the works could never "
                          "start in it. Propose a new slot (POST .../propose) or send `start`.",
                          type_="slot-passed", allowed=allowed_actions(req.status, _roles(principal, req), req.urgency))
    else:
        raise Problem(409, "Conflict", "There is no slot to approve: propose one first (POST .../propose) or "
                      "send `start`.", type_="no-slot",
                      allowed=allowed_actions(req.status, _roles(principal, req), req.urgency))
    clashes = _conflicts_at(session, req, start_day, end_day, settings)
    order = precedences_at(session, req, start_day, end_day)
    rules = rule_conflicts_at(session, req, start_day, end_day)
    _refuse_unless_overridden(clashes, order, body.override, "The slot", rules)
    # approved at other dates than proposed: the proposal's explanation (and plan) no longer describe the slot
    moved = slot is None or (slot.start, slot.end) != (start_day, end_day)
    proposal = dict((slot.explanation if slot is not None else None) or {})  # as proposed, before the approval

    def explained(order: precedences.Broken) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The approved slot's explanation (and the one it is built on when the dates are new): the slot itself
        says which hard rules and precedences its approval overrode (and who decided), and which precedences it
        breaks against proposed slots."""
        chosen = (_manual_explanation(req, principal, start_day, end_day, body.reason, rules, "approve", order)
                  if moved else None)
        base = dict(chosen if chosen is not None else proposal)
        # approved as proposed: the approver's reason is not in the proposal's summary (a new slot's has it)
        return chosen, _annotated(base, principal, clashes, order, rules, None if moved else body.reason)

    def fix_slot() -> None:
        chosen, explanation = explained(order)
        extra: dict[str, Any] = {"explanation": chosen, "plan_id": None} if chosen is not None else {}
        if explanation != (chosen if chosen is not None else proposal):
            extra["explanation"] = explanation
        fixed = slot_repository.put_slot(session, req.id, start=start_day, end=end_day, status="approved",
                                         provisional=False, unplaced=None, **extra)
        # submitted requests' provisional slots that clash with the approved one, or break the order with it, are
        # placed again around it (as after an approved change); the slot then warns only of what is still broken
        if _place_provisional_again(session, req, start_day, end_day, settings, why="approved"):
            now = precedences.Broken(order.fixed, precedences_at(session, req, start_day, end_day).proposed)
            _, explanation = explained(now)
            if explanation != (fixed.explanation or {}):
                fixed.explanation = explanation
                session.flush()

    overridden = {**({"overridden_conflicts": clashes} if clashes else {}),
                  **({"overridden_rules": rules} if rules else {}),
                  **({"overridden_precedences": order.fixed} if order.fixed else {})}
    return _transition(session, req, "approve", principal, settings, reason=body.reason,
                       reason_code=_coordinator_code(body.reason_code, required=False), mutate=fix_slot,
                       payload=overridden or None)


def _coordinator_code(code: str | None, *, required: bool) -> str | None:
    if code is None:
        if required:
            raise InvalidField("reason_code", f"give one of {', '.join(COORDINATOR_CODES)} (GET /v1/reason-codes)")
        return None
    if code not in COORDINATOR_CODES:
        raise InvalidField("reason_code", f"unknown code {code!r}; one of {', '.join(COORDINATOR_CODES)}")
    return code


def reject(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
           settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "reject", if_match=if_match)
    code = _coordinator_code(body.reason_code, required=True)
    if code == "other" and not (body.reason and body.reason.strip()):
        raise InvalidField("reason", "explain the reason when the code is 'other'")
    return _transition(session, req, "reject", principal, settings, reason=body.reason, reason_code=code,
                       mutate=lambda: repository.delete_slot(session, req.id),
                       payload={"reason_text": {"de": BY_CODE[code].de, "en": BY_CODE[code].en}})


def revoke(session: Session, principal: Principal, request_id: uuid.UUID, body: ActionBody,
           settings: Settings, *, if_match: str | None = None) -> SiteRequest:
    req = load_for_action(session, principal, request_id, "revoke", if_match=if_match)
    if not body.reason or not body.reason.strip():
        raise InvalidField("reason", "say why the approval is revoked")
    code = _coordinator_code(body.reason_code, required=False)

    def unfix() -> None:
        slot = repository.get_slot(session, req.id, for_update=True)
        if slot is not None:
            slot.status = "proposed"
        _cancel_pending_changes(session, req, "approval revoked")

    return _transition(session, req, "revoke", principal, settings, reason=body.reason, reason_code=code,
                       mutate=unfix)


ACTIONS = {"submit": submit, "accept": accept, "contest": contest, "reject": reject, "start": start,
           "complete": complete, "withdraw": withdraw, "revoke": revoke, "cancel": cancel}


# --- placement (emergencies, changes) -------------------------------------------------------------


@dataclass
class Placement:
    start: date | None
    method: str
    blockers: list[str] = field(default_factory=list)


def place_around(
    session: Session, req: SiteRequest, settings: Settings, *, window_start: date, window_end: date, duration: int,
    preferred: date, ignore: set[uuid.UUID], works: Works = AS_STORED, avoid: Sequence[tuple[date, date]] = (),
    statuses: tuple[str, ...] = repository.BLOCKING_SLOT_STATUSES,
) -> Placement:
    """The start for ``duration`` days inside ``[window_start, window_end]`` that avoids every blocking slot (of
    ``statuses``: only the fixed ones for approved works an emergency displaces, see :func:`_displace`) of
    a request conflicting with the works (as ``works`` changes them; except ``ignore``) and every period of
    ``avoid`` (inclusive days: the blackouts and moratoriums, :func:`_rule_periods`), closest to ``preferred``.
    Uses the pure scheduler's incremental insertion (greedy step, all neighbours fixed) when it is present, else
    the same rule here."""
    last_start = window_end - timedelta(days=duration - 1)
    if last_start < window_start:
        return Placement(None, "none")
    avoid = [(max(a, window_start), min(b, window_end)) for a, b in avoid if a <= window_end and b >= window_start]
    obstacles = [r for r in repository.neighbour_slots(
        session, request_id=req.id, owner_id=req.owner_id, geom_wkb=works.geom_wkb, impact=works.impact or req.impact,
        shift=works.shift or req.shift, distances=settings.conflict_distance_m,
        route_tolerance_m=settings.diversion_tolerance_m, impact_order=dict(IMPACT_ORDER), start=window_start,
        end=window_end, routes=works.routes, modes=works.modes, statuses=statuses,
    ) if r.id not in ignore]
    blockers = sorted({str(r.id) for r in obstacles})
    if InsertionIndex is not None:
        base = min([window_start, *(r.start for r in obstacles)])
        horizon = (max([window_end, *(r.end for r in obstacles)]) - base).days + 1
        fixed = [Task(id=str(r.id), duration=(r.end - r.start).days + 1, earliest_start=(r.start - base).days,
                      latest_end=(r.end - base).days + 1, fixed_start=(r.start - base).days) for r in obstacles]
        index = InsertionIndex(PlanProblem(fixed, horizon=horizon), SimpleNamespace(starts={
            t.id: t.fixed_start for t in fixed}), num_workers=max(2, settings.solver_workers))
        task = Task(id=str(req.id), duration=duration, earliest_start=(window_start - base).days,
                    latest_end=(window_end - base).days + 1,
                    preferred_start=min(max((preferred - base).days, (window_start - base).days),
                                        (last_start - base).days),
                    forbidden=tuple(Forbidden((a - base).days, (b - base).days + 1) for a, b in avoid))
        result = index.insert(task, conflicts=[t.id for t in fixed], repair=False)
        found = None if result.start is None else base + timedelta(days=result.start)
        return Placement(found, "scheduler.incremental", blockers)
    busy = [(r.start, r.end) for r in obstacles] + list(avoid)
    best: date | None = None
    day = window_start
    while day <= last_start:
        end = day + timedelta(days=duration - 1)
        if not any(s <= end and day <= e for s, e in busy):
            if best is None or abs((day - preferred).days) < abs((best - preferred).days):
                best = day
        day += timedelta(days=1)
    return Placement(best, "workflow.greedy", blockers)


# --- emergencies ----------------------------------------------------------------------------------


def activate_emergency(session: Session, req: SiteRequest, settings: Settings, *,
                       today: date | None = None) -> list[dict[str, Any]]:
    """An emergency (``urgency=emergency``) is active at once with an approved slot from today; every request
    whose slot now conflicts is re-planned around it and its owner told (``slot.displaced``).

    Precedences (``after``) are not checked here, neither for the emergency nor for the requests it displaces:
    an emergency averts an immediate danger (a burst main, a collapsed road), which cannot wait for another
    site's works to end, nor for a gap after them. The coordinator sorts out the order afterwards."""
    day = _today(settings, today)
    start_day, end_day = day, day + timedelta(days=req.duration_days - 1)
    # never a slot outside the window: creation, PATCH and submit refuse an emergency that no longer fits
    # (``requests_service.prepare``), so this guards the other paths; nothing is written before it
    if not req.earliest_start <= start_day or end_day > req.latest_end:
        raise InvalidField("latest_end" if end_day > req.latest_end else "earliest_start", (
            f"an emergency starts today ({day}) and needs {req.duration_days} days, to {end_day}; its window "
            f"{req.earliest_start} to {req.latest_end} does not hold them: no slot can be granted outside it"))
    movable, running = _in_the_way(session, req, start_day, end_day, settings)

    def fix_slot() -> None:
        slot_repository.put_slot(session, req.id, start=start_day, end=end_day, status="approved", provisional=False,
                                 explanation={"emergency": True, "reported": day.isoformat(),
                                              "summary": explanations.emergency_summary(start_day, end_day)},
                                 unplaced=None, plan_id=None)

    _transition(session, req, "emergency", None, settings, reason="emergency", mutate=fix_slot, payload={
        "displaced": [str(i) for i in movable], "conflicts_with_active": running})
    moved = _displace_all(session, req, movable, settings, day)
    _answer_emergency(session, req, moved, settings, day, end_day, reported=None if today else service_now(settings))
    return moved


def _in_the_way(session: Session, req: SiteRequest, start_day: date, end_day: date,
                settings: Settings) -> tuple[list[uuid.UUID], list[str]]:
    """The other sites whose slots (proposed, locked or approved) the emergency ``req`` clashes with on ``[start_day,
    end_day]``: those to move, approved works first (they rank above the proposals, which are then placed around
    their new dates), and the ids of the active ones, which stay."""
    rows = repository.conflicting_slots(
        session, request_id=req.id, owner_id=req.owner_id, geom_wkb=None, impact=req.impact, shift=req.shift,
        start=start_day, end=end_day, distances=settings.conflict_distance_m,
        route_tolerance_m=settings.diversion_tolerance_m, impact_order=dict(IMPACT_ORDER))
    victims = list({r.id: r for r in rows}.values())
    movable = [r.id for r in sorted((r for r in victims if r.request_status != Status.active),
                                    key=lambda r: r.request_status != Status.approved)]
    return movable, [str(r.id) for r in victims if r.request_status == Status.active]


def _displace_all(session: Session, emergency: SiteRequest, ids: list[uuid.UUID], settings: Settings,
                  day: date) -> list[dict[str, Any]]:
    """:func:`_displace` each of ``ids`` in turn around ``emergency``, ignoring the slots of those still to move."""
    pending, moved = set(ids), []
    for victim_id in ids:
        pending.discard(victim_id)
        moved.append(_displace(session, victim_id, emergency, settings, day, ignore=pending))
    return moved


# An emergency reported from this hour on (local time) whose slot ends the same day gets a warning: ``duration_days``
# counts the day it is reported as a whole day, so one day reported in the evening ends at the coming midnight.
EMERGENCY_LATE_HOUR = 18
# How the state of a displaced slot before the emergency reads in its answer.
SLOT_STATE_WORDS = {"approved": ("genehmigt", "approved"), "locked": ("festgelegt", "locked"),
                    "proposed": ("vorgeschlagen", "proposed")}


def _span(slot: dict[str, Any] | None) -> tuple[str, str] | None:
    if not slot or not slot.get("start") or not slot.get("end"):
        return None
    start, end = date.fromisoformat(slot["start"]), date.fromisoformat(slot["end"])
    de, en = SLOT_STATE_WORDS.get(slot.get("status") or "", (slot.get("status"), slot.get("status")))
    return (f"{explanations.date_de(start)}–{explanations.date_de(end)} ({de})",
            f"{explanations.date_en(start)} – {explanations.date_en(end)} ({en})")


def _answer_emergency(session: Session, req: SiteRequest, moved: list[dict[str, Any]], settings: Settings,
                      day: date, end_day: date, *, reported: datetime | None) -> None:
    """What the answer to an emergency (the request as read after its activation: its slot's ``explanation``) says
    beyond its slot: ``displaced``, every site it moved (also those moved to make room for them; ``request_id``,
    ``title`` as the emergency's owner may read it, ``previous`` and ``slot`` dates, ``slot`` null when none was left
    in its window) and ``warnings``, one
    ``{"de", "en"}`` sentence per displaced site and one when the emergency was reported late in the day
    (:data:`EMERGENCY_LATE_HOUR`) and ends that very day. ``emergency_warnings`` gives them as "German / English"
    lines, like every answer's ``warnings``."""
    displaced, warnings = [], []

    def flat(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:  # also the proposals moved to make room
        for entry in entries:
            yield entry
            yield from flat(entry.get("made_room") or [])

    for entry in flat(moved):
        victim = session.get(SiteRequest, uuid.UUID(entry["request_id"]))
        title = explanations.title_for(victim, req.owner_id) if victim is not None else ""
        slot = entry["slot"] if entry["slot"] and entry["slot"].get("start") else None
        displaced.append({"request_id": entry["request_id"], "title": title, "previous": entry["previous"],
                          "slot": slot})
        was = _span(entry["previous"]) or ("ohne Termin", "no dates")
        now = _span(slot)
        if now is not None:
            warnings.append({"de": f"„{title}“ verschoben: bisher {was[0]}, jetzt {now[0]}.",
                             "en": f"“{title}” moved: previously {was[1]}, now {now[1]}."})
        else:
            warnings.append({"de": f"„{title}“ ohne Termin: bisher {was[0]}; in seinem Zeitfenster ist kein Beginn "
                                   "mehr frei, ein neuer Termin folgt.",
                             "en": f"“{title}” left without a slot: previously {was[1]}; no start is free in its "
                                   "window, new dates to follow."})
    if reported is not None and reported.date() == day == end_day and reported.hour >= EMERGENCY_LATE_HOUR:
        warnings.append({
            "de": (f"Die Notfallbaustelle endet heute um 24:00 Uhr: duration_days zählt den Tag der Meldung "
                   f"({reported:%H:%M} Uhr) als ganzen Tag. Dauern die Arbeiten bis morgen, bitte eine Änderung mit "
                   "mehr Tagen beantragen (POST …/changes)."),
            "en": (f"The emergency works end at midnight tonight: duration_days counts the day of the report "
                   f"({reported:%H:%M}) as a whole day. If the works go on tomorrow, ask for a change with more days "
                   "(POST …/changes)."),
        })
    if not displaced and not warnings:
        return
    slot = repository.get_slot(session, req.id, for_update=True)
    if slot is not None:
        slot.explanation = {**(slot.explanation or {}), "displaced": displaced, "warnings": warnings}
        session.flush()


def emergency_warnings(explanation: dict[str, Any] | None) -> list[str]:
    """The warnings of an emergency's activation (:func:`_answer_emergency`), one "German / English" line each."""
    return [f"{w['de']} / {w['en']}" for w in (explanation or {}).get("warnings") or []]


FIXED_SLOT_STATUSES = ("locked", "approved")

# Approved works an emergency moved keep their approval at the new dates (see :func:`_displace`).
APPROVAL_KEPT = {"de": "Die Genehmigung gilt für die neuen Termine.", "en": "The approval holds for the new dates."}


def _made_room_summary(title: str, emergency: str, start: date | None, previous: date | None) -> dict[str, str]:
    """Why a proposal moved (to ``start``; ``None``: no start left) for approved works “title” that the emergency
    works “emergency” displaced (both titles as the proposal's owner may read them)."""
    de = f"Platz gemacht für „{title}“, deren genehmigter Termin der Notfall-Baustelle „{emergency}“ weichen musste"
    en = f"Made room for “{title}”, whose approved dates had to give way to the emergency works “{emergency}”"
    if start is None:
        return {"de": f"{de}; im Zeitfenster ist kein anderer Beginn frei. Der Antrag wartet auf eine neue "
                      "Entscheidung.",
                "en": f"{en}; no other start is free in the window. The request waits for a new decision."}
    was_de = f" statt {explanations.date_de(previous)}" if previous else ""
    was_en = f" instead of {explanations.date_en(previous)}" if previous else ""
    return {"de": f"{de}: Beginn {explanations.date_de(start)}{was_de}.",
            "en": f"{en}: starts {explanations.date_en(start)}{was_en}."}


def _displace(session: Session, victim_id: uuid.UUID, emergency: SiteRequest, settings: Settings, day: date, *,
              ignore: set[uuid.UUID], room_for: SiteRequest | None = None) -> dict[str, Any]:
    """Re-plan ``victim_id`` around ``emergency`` (and ``ignore``: the requests displaced next, whose slots will
    move). Approved works rank above proposals: only fixed slots (locked, approved, the emergency's) stand in their
    way, and where the new dates need no override (no clash with a fixed slot, no blackout or moratorium, no
    precedence broken against a fixed slot) they stay approved at them (:func:`_keep_approval`); the proposals in
    the way of the new dates are moved out of it (:func:`_make_room`). Any other site gets a new proposal around
    every slot (``displace``, the owner answers again), or none (``displace_unplaced``: back to the coordinator's
    queue, with the coordinator's deadline). ``room_for``: approved works this proposal made room for."""
    victim = repository.lock_request(session, victim_id)
    assert victim is not None
    old = repository.get_slot(session, victim.id, for_update=True)
    old_json = slot_json(old)
    ranked = victim.status == Status.approved and old is not None and old.status == "approved"
    statuses = FIXED_SLOT_STATUSES if ranked else repository.BLOCKING_SLOT_STATUSES
    window_start, preferred = max(victim.earliest_start, day), old.start if old and old.start else victim.earliest_start
    # as a plan run, outside the blackouts and moratoriums when it can be; else the nearest free start (its
    # approval then needs override: the rules are named then)
    placement = place_around(
        session, victim, settings, window_start=window_start, window_end=victim.latest_end,
        duration=victim.duration_days, preferred=preferred, ignore=ignore,
        avoid=_rule_periods(session, victim, window_start, victim.latest_end), statuses=statuses,
    )
    if placement.start is None:
        placement = place_around(session, victim, settings, window_start=window_start, window_end=victim.latest_end,
                                 duration=victim.duration_days, preferred=preferred, ignore=ignore, statuses=statuses)
    explanation = {"displaced_by": str(emergency.id), "previous": old_json, "method": placement.method,
                   # the emergency's title as the victim's owner may read it (another owner: its public title)
                   "summary": explanations.displaced_summary(explanations.title_for(emergency, victim.owner_id),
                                                             placement.start, old.start if old else None)}
    if room_for is not None:
        explanation["room_for"] = str(room_for.id)
        explanation["summary"] = _made_room_summary(
            explanations.title_for(room_for, victim.owner_id), explanations.title_for(emergency, victim.owner_id),
            placement.start, old.start if old else None)
    payload = {"emergency_id": str(emergency.id), "previous_slot": old_json, "method": placement.method,
               **({"room_for": str(room_for.id)} if room_for is not None else {})}
    made_room: list[dict[str, Any]] = []
    if placement.start is not None:
        new_start = placement.start
        new_end = new_start + timedelta(days=victim.duration_days - 1)
        if ranked and _approval_holds(session, victim, new_start, new_end, settings, ignore):
            return _keep_approval(session, victim, emergency, explanation, payload, new_start, new_end, settings, day,
                                  ignore)

        def move() -> None:
            slot_repository.put_slot(session, victim.id, start=new_start, end=new_end, status="proposed",
                                     provisional=False, explanation=explanation, unplaced=None, plan_id=None)
        action = "displace"
    else:
        def move() -> None:
            slot_repository.put_slot(session, victim.id, start=None, end=None, status="unplaced", provisional=False,
                                     explanation=explanation, plan_id=None, unplaced={
                                         "reason": explanation["summary"], "blocking": placement.blockers})
        action = "displace_unplaced"
    _transition(session, victim, action, None, settings, reason="emergency_displacement",
                reason_code="emergency_displacement", mutate=move, payload=payload)
    if ranked and placement.start is not None:  # approved works, now only proposed (the dates need an override)
        made_room = _make_room(session, victim, emergency, new_start, new_end, settings, day, ignore, why="proposed")
    new = repository.get_slot(session, victim.id)
    return {"request_id": str(victim.id), "previous": old_json, "slot": slot_json(new), "status": victim.status,
            **({"made_room": made_room} if made_room else {})}


def _approval_holds(session: Session, victim: SiteRequest, start_day: date, end_day: date, settings: Settings,
                    ignore: set[uuid.UUID]) -> bool:
    """Approved works an emergency moves to ``[start_day, end_day]`` stay approved there when an approval without
    ``override`` would pass: no clash with a fixed slot (the requests displaced next do not count: theirs move), no
    blackout or moratorium, no precedence broken against a fixed slot."""
    clashes = [c for c in _conflicts_at(session, victim, start_day, end_day, settings)
               if uuid.UUID(c["request_id"]) not in ignore]
    broken = [b for b in precedences_at(session, victim, start_day, end_day).fixed
              if uuid.UUID(b["request_id"]) not in ignore]
    return not clashes and not broken and not rule_conflicts_at(session, victim, start_day, end_day)


def _keep_approval(session: Session, victim: SiteRequest, emergency: SiteRequest, explanation: dict[str, Any],
                   payload: dict[str, Any], start_day: date, end_day: date, settings: Settings, day: date,
                   ignore: set[uuid.UUID]) -> dict[str, Any]:
    """Approved works moved by an emergency to dates an approval without ``override`` would grant: they stay
    ``approved`` there (the owner may start on the new first day; no new answer, no deadline), the slot says so
    (``approval_kept``), the history has a ``slot.displaced`` row naming the emergency, and the owner and the
    subscribers are told by the event ``slot.displaced`` (``approval_kept``: true). The proposals in the way of the
    new dates are moved out of it (:func:`_make_room`)."""
    old_json = payload["previous_slot"]
    summary = {lang: f"{explanation['summary'][lang]} {APPROVAL_KEPT[lang]}" for lang in ("de", "en")}
    explanation = {**explanation, "approval_kept": True, "summary": summary}
    repository.clear_deadline(session, victim.id)
    slot = _move_approved(session, victim, start_day, end_day, explanation, payload, action="displace",
                          reason="emergency_displacement", reason_code="emergency_displacement",
                          history="slot.displaced")
    made_room = _make_room(session, victim, emergency, start_day, end_day, settings, day, ignore, why="approved")
    # as an approval: the slot warns of the precedences it breaks against proposed slots still in place
    warned = precedences_at(session, victim, start_day, end_day).proposed
    kept = _warning_precedences(slot.explanation, warned)
    if kept != (slot.explanation or {}):
        slot.explanation = kept
        session.flush()
    return {"request_id": str(victim.id), "previous": old_json, "slot": slot_json(slot), "status": victim.status,
            "approval_kept": True, **({"made_room": made_room} if made_room else {})}


def _make_room(session: Session, victim: SiteRequest, emergency: SiteRequest, start_day: date, end_day: date,
               settings: Settings, day: date, ignore: set[uuid.UUID], *, why: str) -> list[dict[str, Any]]:
    """Approved works an emergency moved to ``[start_day, end_day]`` (their slot is written) rank above the
    proposals in their way there: submitted requests' provisional slots are placed again around them
    (:func:`_place_provisional_again`, as after an approval), and every other proposed slot still clashing with
    them by the hard rules (a plan run's or a coordinator's proposal) is displaced like the emergency's own
    victims (a new proposal around every slot, or none; ``room_for`` names ``victim``). The requests the emergency
    displaces next (``ignore``) are left to it. Returns what was displaced."""
    skip = frozenset(ignore | {emergency.id})
    _place_provisional_again(session, victim, start_day, end_day, settings, why=why, skip=skip)
    rows = repository.conflicting_slots(
        session, request_id=victim.id, owner_id=victim.owner_id, geom_wkb=None, impact=victim.impact,
        shift=victim.shift, start=start_day, end=end_day, distances=settings.conflict_distance_m,
        route_tolerance_m=settings.diversion_tolerance_m, impact_order=dict(IMPACT_ORDER), statuses=("proposed",))
    return [_displace(session, r.id, emergency, settings, day, ignore=ignore, room_for=victim)
            for r in rows if r.id not in skip and r.request_status in TRANSITIONS["displace"].sources]


# --- deadlines (worker) ---------------------------------------------------------------------------


@dataclass
class DeadlineReport:
    deemed_approved: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)


DEEMED_APPROVAL_WITHHELD = "deemed_approval.withheld"


def check_deadlines(session: Session, settings: Settings, *, now: datetime) -> DeadlineReport:
    """Act on every deadline due at ``now``: the coordinator's passed → the proposal is deemed approved (actor
    system, reason code ``deemed_approved``); the owner's passed → the proposal lapses back to the
    coordinator's queue (``proposal.lapsed``). A request whose state moved on meanwhile is left alone.

    A deemed approval passes the checks a coordinator's approval without ``override`` passes: a proposal whose
    slot now clashes with approved or locked slots (hard rules, as :func:`approve`), lies in a blackout or
    moratorium (one set up after the proposal, or a manual proposal's) or breaks a precedence against the other
    request's approved or locked slot is **not** deemed approved (silence must not grant what
    the coordinator could only grant by overriding). The request stays as it is (``submitted`` or ``accepted``,
    slot untouched) in the coordinator's queue, its deadline is cleared (nothing is deemed later either, as after
    a lapse: the coordinator decides), and a history row and the event ``deemed_approval.withheld`` (actor
    system, reason code ``deemed_approval_withheld``) say why in German and English, naming the clashes and
    the broken links and rules (:func:`_withhold_deemed_approval`). Precedences broken against merely proposed slots do
    not stop it: as after an approval, the submitted requests' provisional slots that clash with the now approved
    slot or break the order with it are placed again around it (:func:`_place_provisional_again`; their owners are
    told by ``slot.displaced``), and the approved slot keeps what is still broken as ``precedence_warnings``."""
    report = DeadlineReport()
    for deadline in repository.due_deadlines(session, now):
        seen = (deadline.party, deadline.status, deadline.due_at)  # the re-read below refreshes this very object
        req = repository.lock_request(session, deadline.request_id)
        # Another worker may have acted on this deadline (withheld, deemed approved, lapsed) or an action may have
        # replaced it since it was read: act only on the deadline as it still stands under the request's lock.
        current = repository.lock_deadline(session, deadline.request_id)
        if current is None or (current.party, current.status, current.due_at) != seen:
            report.skipped.append(str(deadline.request_id))
            continue
        if req is None or req.status != deadline.status:
            repository.clear_deadline(session, deadline.request_id)
            report.skipped.append(str(deadline.request_id))
            continue
        if deadline.party == "coordinator":
            slot = repository.get_slot(session, req.id, for_update=True)
            if slot is None or slot.start is None or slot.status not in ("proposed", "locked"):
                report.skipped.append(str(req.id))  # nothing proposed: nothing can be deemed approved
                continue
            clashes = _conflicts_at(session, req, slot.start, slot.end, settings)
            order = precedences_at(session, req, slot.start, slot.end)
            rules = rule_conflicts_at(session, req, slot.start, slot.end)
            if clashes or order.fixed or rules:
                _withhold_deemed_approval(session, req, slot, clashes, order.fixed, due_at=deadline.due_at,
                                          rules=rules)
                report.withheld.append(str(req.id))
                continue

            payload: dict[str, Any] = {"due_at": deadline.due_at.isoformat()}

            def fix(req: SiteRequest = req, slot: Slot = slot, warned: list[dict[str, Any]] = order.proposed,
                    payload: dict[str, Any] = payload) -> None:
                slot.status, slot.provisional = "approved", False
                session.flush()
                # as an approval: submitted requests' provisional slots that clash with the now fixed slot, or
                # break the order with it, are placed again around it; the slot (and the event) then keep the
                # precedences still broken against proposed slots
                assert slot.start is not None and slot.end is not None
                if _place_provisional_again(session, req, slot.start, slot.end, settings, why="deemed_approved"):
                    warned = precedences_at(session, req, slot.start, slot.end).proposed
                explanation = _warning_precedences(slot.explanation, warned)
                if explanation != (slot.explanation or {}):
                    slot.explanation = explanation
                if warned:
                    payload["precedence_warnings"] = _json(warned)

            _transition(session, req, "deem_approve", None, settings, reason="deemed_approved",
                        reason_code="deemed_approved", mutate=fix, at=now, payload=payload)
            report.deemed_approved.append(str(req.id))
        else:
            _transition(session, req, "lapse", None, settings, reason="proposal_lapsed",
                        reason_code="proposal_lapsed", at=now, payload={"due_at": deadline.due_at.isoformat()})
            report.lapsed.append(str(req.id))
    return report


def withheld_text(clashes: list[dict[str, Any]], broken: list[dict[str, Any]],
                  rules: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """Why a proposal was not deemed approved: how many clashes and broken precedences, and which blackouts and
    moratoriums its slot lies in, in German and English."""
    why_de, why_en = [], []
    for rule in rules or []:
        if rule["kind"] == "moratorium":
            why_de.append(f"liegt im Aufbruchverbot „{rule['name']}“")
            why_en.append(f"lies in the no-dig moratorium “{rule['name']}”")
        else:
            why_de.append(f"liegt in der Sperrzeit „{rule['name']}“")
            why_en.append(f"lies in the blackout “{rule['name']}”")
    if clashes:
        n = len({c["request_id"] for c in clashes})
        why_de.append("kollidiert mit " + ("einem genehmigten oder festgelegten Termin" if n == 1
                                           else f"{n} genehmigten oder festgelegten Terminen"))
        why_en.append("clashes with " + ("an approved or locked slot" if n == 1 else f"{n} approved or locked slots"))
    if broken:
        n = len(broken)
        why_de.append("verletzt " + ("eine Reihenfolge" if n == 1 else f"{n} Reihenfolgen")
                      + " gegenüber genehmigten oder festgelegten Terminen")
        why_en.append("breaks " + ("a precedence" if n == 1 else f"{n} precedences") + " with approved or locked slots")
    return {"de": "Die Frist der Koordinierungsstelle ist verstrichen, der Vorschlag gilt aber nicht als genehmigt: "
                  f"er {' und '.join(why_de)}. Die Koordinierungsstelle entscheidet.",
            "en": "The coordination office's deadline passed, but the proposal is not deemed approved: it "
                  f"{' and '.join(why_en)}. The coordination office decides."}


def _withhold_deemed_approval(session: Session, req: SiteRequest, slot: Slot, clashes: list[dict[str, Any]],
                              broken: list[dict[str, Any]], *, due_at: datetime,
                              rules: list[dict[str, Any]] | None = None) -> None:
    """The coordinator's deadline passed, but the proposal cannot be deemed approved (see
    :func:`check_deadlines`): clear the deadline, write the history row and the event, change nothing else."""
    from service.events import service as events

    texts = withheld_text(clashes, broken, rules)
    detail = _json({"due_at": due_at.isoformat(), "slot": slot_json(slot), "conflicts": clashes,
                    "precedences": broken, "rule_conflicts": rules or [], **texts})
    repository.clear_deadline(session, req.id)
    record(session, req, DEEMED_APPROVAL_WITHHELD, None, reason=f"{texts['de']} / {texts['en']}",
           reason_code="deemed_approval_withheld", force=True, note={"withheld": detail})
    events.emit(session, DEEMED_APPROVAL_WITHHELD, request_id=req.id, organisation_id=None, payload={
        "status": req.status, "title": req.title, "owner_id": str(req.owner_id),
        "reason_code": "deemed_approval_withheld", **detail})


# --- hooks from the foundation --------------------------------------------------------------------


def on_request_change(session: Session, req: SiteRequest, kind: str, principal: Principal | None,
                      settings: Settings | None = None) -> None:
    """The foundation changed a request (create, PATCH, DELETE) or another domain reported a change: write
    history; start the coordinator's clock on a new submitted request; an emergency becomes active at once;
    a withdrawal (DELETE) frees the slot exactly like POST .../withdraw."""
    settings = settings or session.info.get("settings") or default_settings()
    if kind == "request.created":
        if not repository.history_rows(session, req.id):
            record(session, req, "create", principal)
        if req.status == Status.submitted:
            _set_clock(session, req, "create", settings, None)
    elif kind == "request.withdrawn":
        repository.delete_slot(session, req.id)
        _cancel_pending_changes(session, req, "request withdrawn")
        repository.clear_deadline(session, req.id)
        record(session, req, "withdraw", principal, force=True)
    elif kind == "request.updated":
        record(session, req, "update", principal)
        if req.status in requests_service.ORDER_ONLY_STATES:
            _recheck_order(session, req)
    else:
        record(session, req, kind, principal)
    if req.urgency == "emergency" and req.status in TRANSITIONS["emergency"].sources:
        activate_emergency(session, req, settings)


def _recheck_order(session: Session, req: SiteRequest) -> None:
    """The precedences of a request whose slot is being agreed on changed (PATCH ``after``): its slot's
    ``precedence_warnings`` name what the slot breaks now, against any other slot (the approval refuses what
    breaks a fixed one unless overridden, and warns of the rest), and nothing else of the slot changes."""
    slot = repository.get_slot(session, req.id, for_update=True)
    if slot is None or slot.start is None or slot.end is None:
        return
    order = precedences_at(session, req, slot.start, slot.end)
    explanation = _warning_precedences(slot.explanation, [*order.fixed, *order.proposed])
    if explanation != (slot.explanation or {}):
        slot.explanation = explanation
        session.flush()


def edit_warnings(session: Session, req: SiteRequest) -> list[str]:
    """What the answer to a create or PATCH warns of: for a request whose slot is being agreed on, the precedences
    its slot breaks (:func:`_recheck_order`); for an emergency the call activated (only drafts and submitted
    requests are created or edited, so an active one was activated by it), what the activation did
    (:func:`emergency_warnings`: sites displaced, a late report of one day)."""
    activated = req.urgency == "emergency" and req.status == Status.active
    if not activated and req.status not in requests_service.ORDER_ONLY_STATES:
        return []
    slot = session.get(Slot, req.id)
    explanation = slot.explanation if slot is not None else None
    return emergency_warnings(explanation) if activated else explanations.precedence_warnings(explanation)


@cache
def default_settings() -> Settings:
    """Hooks get no settings from the foundation; the environment's are used there."""
    return Settings()


# --- changes after approval -----------------------------------------------------------------------


# The fields of a change after approval: its dates and area, the works' effect on traffic, and the precedences.
EFFECT_FIELDS = ("impact", "modes", "shift", "diversions", "replacement_routes")
CHANGE_FIELDS = ("latest_end", "duration_days", "geometry", *EFFECT_FIELDS, "after")
# Where a change keeps the ``after`` list it gives (in its ``placement``, as the precedences its slot breaks): the
# table has no column of its own for it.
CHANGE_AFTER_KEY = "after"
# What a change's JSON shows of its ``placement`` apart: the broken precedences and the ``after`` list.
PLACEMENT_APART = ("precedences", CHANGE_AFTER_KEY)
def _change_routes(value: Any) -> list[dict[str, Any]] | None:
    """Routes a change stores, as GeoJSON lines: ``None`` keeps the request's, ``[]`` removes them."""
    return None if value is None else requests_service._lines(value)


def change_precedences(change: RequestChange) -> list[dict[str, Any]]:
    """The precedences the change's slot broke when it was asked for (kept in its ``placement``), each with
    ``blocks_approval``: true against the other request's locked or approved slot (the approval then needs
    ``override``), false against a proposed one."""
    return list((change.placement or {}).get("precedences") or [])


def change_warnings(change: RequestChange) -> list[str]:
    """What the answer to a change warns about, one "German / English" sentence per blackout or moratorium its
    slot adds (its ``conflicts`` of those kinds with ``blocks_approval``) and per broken precedence."""
    rules = [c for c in change.conflicts or [] if c.get("kind") in RULE_KINDS and c.get("blocks_approval")]
    out = []
    for b in [*rules, *change_precedences(change)]:
        if b.get("blocks_approval"):
            out.append(f"{b['de']} Die Koordinierungsstelle kann die Änderung so nur ausnahmsweise (mit "
                       f"Übersteuerung) genehmigen. / {b['en']} The coordination office can approve the change "
                       "only by overriding this.")
        else:
            out.append(f"{b['de']} / {b['en']}")
    return out


def change_after(change: RequestChange) -> list[dict[str, Any]] | None:
    """The precedences (``after`` list) a change gives the request, ``None`` when it keeps the request's."""
    given = (change.placement or {}).get(CHANGE_AFTER_KEY)
    return None if given is None else requests_service._after_entries(given)


def change_json(session: Session, change: RequestChange) -> dict[str, Any]:
    placement = {k: v for k, v in (change.placement or {}).items() if k not in PLACEMENT_APART}
    return {
        "id": change.id, "request_id": change.request_id, "status": change.status, "latest_end": change.latest_end,
        "duration_days": change.duration_days,
        "geometry": mapping(to_shape(change.geom)) if change.geom is not None else None,
        "impact": change.impact, "modes": list(change.modes) if change.modes is not None else None,
        "shift": change.shift, "diversions": _change_routes(change.diversions_geom),
        "replacement_routes": _change_routes(change.replacement_geom),
        "after": _json(change_after(change)),
        "reason": change.reason, "start": change.start, "end": change.end, "conflicts": change.conflicts or [],
        "placement": placement, "precedences": change_precedences(change), "warnings": change_warnings(change),
        "decision_reason": change.decision_reason,
        "decision_reason_code": change.decision_reason_code,
        "decided_at": rfc3339(change.decided_at) if change.decided_at else None,
        "created_at": change.created_at,
    }


CHANGEABLE = (Status.approved, Status.active)


def _valid_routes(given: list[Any] | None, settings: Settings, field_name: str) -> MultiLineString | None:
    """The routes a change gives, validated as on creation: ``None`` when it keeps the request's, an empty
    MultiLineString when it removes them (``[]``)."""
    if given is None:
        return None
    lines, _ = requests_service._routes(given, settings, field_name=field_name)
    return lines if lines is not None else MultiLineString()


def _routes_wkb(changed: MultiLineString | None, stored: Any) -> bytes | None:
    """The routes the changed works have (the change's, else the request's), as WKB; ``None`` for none."""
    shape = changed if changed is not None else (to_shape(stored) if stored is not None else None)
    return None if shape is None or shape.is_empty else shape.wkb


def _same_works(req: SiteRequest, body: ChangeBody) -> bool:
    """Whether the works as ``body`` changes them are the request's own: no new area, no new routes, and the
    impact, shift and modes either left out or as they are."""
    return (body.geometry is None and body.diversions is None and body.replacement_routes is None
            and (body.impact is None or str(body.impact) == req.impact)
            and (body.shift is None or str(body.shift) == req.shift)
            and (body.modes is None or {str(m) for m in body.modes} == set(req.modes or [])))


def _precedence_bounds(session: Session, req: SiteRequest, duration: int, window_start: date,
                       window_end: date, *, after: list[dict[str, Any]] | None = None) -> tuple[date, date] | None:
    """The first and last start in ``[window_start, window_end]`` at which ``duration`` days of ``req`` keep
    every precedence with another request's locked or approved slot (``after``: the request's own list as a
    change gives it); ``None`` when there is no such link (the window is the bound) or no such start."""
    first, last = window_start, window_end - timedelta(days=duration - 1)
    rows = [r for r in repository.precedence_partners(session, req.id, after=after)
            if r.slot_status in precedences.FIXED]
    if not rows:
        return None
    for row in rows:
        earliest, latest = precedences.start_bounds(row.direction, row.start, row.end, row.min_gap_days,
                                                    row.max_gap_days, duration)
        first = max(first, earliest) if earliest is not None else first
        last = min(last, latest) if latest is not None else last
    return (first, last) if first <= last else None


def _check_change_after(session: Session, principal: Principal, req: SiteRequest, entries: list[dict[str, Any]],
                        latest_end: date, duration: int, settings: Settings) -> None:
    """``entries`` as the ``after`` list of ``req`` with the window a change gives it, checked as a PATCH checks
    it (:func:`requests_service.check_after`): requests that exist for ``principal``, not this one, not withdrawn
    or rejected, of the owner's organisation unless a coordinator asks, no circle, windows that can keep the
    order (every link again when the window changes), the links the coordination office set kept."""
    day = service_today(settings)
    window = requests_service.Starts.of(req.earliest_start, latest_end, duration, req.status, day)
    existing = {e["request"]: (e["min_gap_days"], e["max_gap_days"]) for e in requests_service.after_of(req)}
    requests_service.check_after(session, principal, entries, owner_id=req.owner_id, self_id=req.id, window=window,
                                 existing=existing, window_changed=(latest_end, duration) != (req.latest_end,
                                                                                             req.duration_days),
                                 day=day)


def _change_after(session: Session, principal: Principal, req: SiteRequest, body: ChangeBody, latest_end: date,
                  duration: int, settings: Settings) -> list[dict[str, Any]] | None:
    """The ``after`` list a change gives (validated: :func:`_check_change_after`), ``None`` when it keeps the
    request's: left out, or the list the request has already (a change that gives nothing else is refused)."""
    if body.after is None:
        return None
    entries = requests_service._after_entries([e.model_dump() for e in body.after])
    _check_change_after(session, principal, req, entries, latest_end, duration, settings)
    current = requests_service.after_of(req)
    if sorted(map(_json, entries), key=str) != sorted(map(_json, current), key=str):
        return _json(entries)
    if all(getattr(body, n) is None for n in CHANGE_FIELDS if n != "after"):
        raise InvalidField("after", "the request has these precedences already; nothing would change")
    return None


def _placed_for_order(session: Session, req: SiteRequest, settings: Settings, slot: Slot, duration: int,
                      latest_end: date, after: list[dict[str, Any]] | None, works: Works,
                      ) -> tuple[date, dict[str, Any]] | None:
    """For a change that gives new precedences (``after``): when its slot in place breaks one of them against a
    locked or approved slot (one the old slot did not break as much), the start nearest the old one that keeps
    every precedence with a fixed slot and meets no conflicting slot, with its placement; ``None`` when in place
    is fine or no such start exists (the broken links are then named)."""
    keep_end = slot.start + timedelta(days=duration - 1)
    here = precedences_at(session, req, slot.start, keep_end, after=after).fixed
    new, _ = _new_breaks(here, slot.start, precedences_at(session, req, slot.start, slot.end).fixed, slot.start)
    if not new:
        return None
    window_start = max(req.earliest_start, service_today(settings))
    bounds = _precedence_bounds(session, req, duration, window_start, latest_end, after=after)
    if bounds is None:
        return None
    window_end = bounds[1] + timedelta(days=duration - 1)
    found = Placement(None, "none")
    for avoid in _with_and_without(_rule_periods(session, req, bounds[0], window_end, works=works)):
        found = place_around(session, req, settings, window_start=bounds[0], window_end=window_end,
                             duration=duration, preferred=slot.start, ignore=set(), works=works, avoid=avoid)
        if found.start is not None:
            break
    if found.start is None:
        return None
    return found.start, {"method": found.method, "blocking": found.blockers, "moved_for_order": True,
                         "precedence_window": {"first_start": bounds[0], "last_start": bounds[1]}}


def _with_and_without(periods: list[tuple[date, date]]) -> list[list[tuple[date, date]]]:
    """The rule periods a placement avoids first, then (when there are any) none: a start inside a blackout or
    moratorium is taken only when no other is free (its approval then needs ``override``)."""
    return [periods, []] if periods else [[]]


def _same_shape(given: Any, stored: Any) -> bool:
    """Whether a geometry a change gives (shapely, or a stored value) is the stored one: the same shape,
    whatever the order of its vertices, lines or parts (an empty one and none alike)."""
    a = given if given is None or hasattr(given, "is_empty") else to_shape(given)
    b = None if stored is None else to_shape(stored)
    if a is None or a.is_empty or b is None or b.is_empty:
        return (a is None or a.is_empty) and (b is None or b.is_empty)
    return bool(a.equals(b))


def _refuse_unchanged(req: SiteRequest, body: ChangeBody, geom: Any, diversions: MultiLineString | None,
                      replacements: MultiLineString | None, after: list[dict[str, Any]] | None) -> None:
    """422 on ``body`` when every field the change gives has the request's value already (compared as the
    values mean: the shape of a geometry or of the routes, the set of modes, the ``after`` list in any order,
    :func:`_change_after`): such a change would only block the next real one (one pending change at a time)."""
    given = [n for n in CHANGE_FIELDS if getattr(body, n) is not None]
    same = {
        "latest_end": body.latest_end == req.latest_end,
        "duration_days": body.duration_days == req.duration_days,
        "geometry": geom is not None and _same_shape(geom, req.geom),
        "impact": body.impact is not None and str(body.impact) == req.impact,
        "modes": body.modes is not None and {str(m) for m in body.modes} == set(req.modes or []),
        "shift": body.shift is not None and str(body.shift) == req.shift,
        "diversions": diversions is not None and _same_shape(diversions, req.diversions_geom),
        "replacement_routes": replacements is not None and _same_shape(replacements, req.replacement_geom),
        "after": after is None,  # given, and the list the request has (``_change_after``)
    }
    if given and all(same[n] for n in given):
        verb = "have these values" if len(given) > 1 else "has this value"
        raise InvalidField("body", f"changes nothing: {', '.join(given)} {verb} already")


def request_change(session: Session, principal: Principal, request_id: uuid.UUID, body: ChangeBody,
                   settings: Settings) -> RequestChange:
    """An owner asks for an extension, a new area, another effect on traffic (impact, modes, shift, diversions,
    replacement routes) and/or other precedences (``after``, replacing the request's list: :func:`_change_after`)
    of an approved or active site; the coordination office may ask for a change that gives only ``after`` (it
    orders two organisations' works). The changed works are checked for conflicts and placed incrementally; the
    change stays pending (the old slot valid) until a coordinator decides. The precedences the placed slot breaks
    (with the ``after`` the change gives) are named at once (``precedences``, ``warnings``:
    :func:`change_warnings`); one against a locked or approved slot is not refused here, but its approval will
    need ``override``. A change whose new precedences the slot would break in place against a fixed slot is
    moved to the nearest start that keeps them, when one is free (an active site stays). Blackouts and
    moratoriums are hard rules as for a plan run: a slot in place that breaks one anew (one the old slot did not
    break on those days) moves, and a change that moves avoids them, when a start outside them is free; those
    it cannot avoid (or an active site's) are named in ``conflicts`` (``blocks_approval``) and ``warnings``, and
    its approval needs ``override``."""
    req = load_visible(session, principal, request_id, lock=True)
    only_after = body.after is not None and all(getattr(body, n) is None for n in CHANGE_FIELDS if n != "after")
    if req.owner_id != principal.org_id and not (principal.is_coordinator and only_after):
        raise forbidden("Only the owner of the request may ask for a change" + (
            "; the coordination office may ask for one that gives only `after`" if principal.is_coordinator
            else "") + ".")
    if req.status not in CHANGEABLE:
        raise Problem(409, "Conflict", f"Changes after approval need an approved or active request; this one is "
                      f"{req.status}: {requests_service.what_instead(req)}.",
                      type_="illegal-transition", status_now=req.status,
                      allowed=allowed_actions(req.status, _roles(principal, req), req.urgency))
    if all(getattr(body, name) is None for name in CHANGE_FIELDS):
        raise InvalidField("body", f"give at least one of {', '.join(CHANGE_FIELDS)}")
    latest_end = body.latest_end if body.latest_end is not None else req.latest_end
    duration = body.duration_days if body.duration_days is not None else req.duration_days
    # the works' start is set (an active site began before today): the window need not fit from today on
    try:
        requests_service.check_window(req.earliest_start, latest_end, duration, None, settings=settings,
                                      from_today=False)
    except InvalidField as e:
        if e.field == "duration_days" and body.duration_days is None:  # name what the owner sent
            window = (latest_end - req.earliest_start).days + 1
            raise InvalidField("latest_end", f"{latest_end} leaves a window of {window} days from earliest_start "
                               f"{req.earliest_start}; the works need {duration}") from None
        raise
    geom_wkb = None
    geom_value = None
    if body.geometry is not None:
        valid = requests_service._footprint(body.geometry, settings, field_name="geometry", repair=False)
        geom_value = from_shape(valid.geometry, srid=4326)
        geom_wkb = valid.geometry.wkb
    diversions = _valid_routes(body.diversions, settings, "diversions")
    replacements = _valid_routes(body.replacement_routes, settings, "replacement_routes")
    after = _change_after(session, principal, req, body, latest_end, duration, settings)
    _refuse_unchanged(req, body, geom_value, diversions, replacements, after)
    # a bad body is named first; a valid one waits for the pending decision
    pending = repository.pending_change(session, req.id)
    if pending is not None:
        url = f"/v1/requests/{req.id}/changes/{pending.id}"
        raise Problem(409, "Conflict", f"A change of this request is pending already ({url}): wait for the "
                      f"coordination office's decision, or take it back with POST {url}/withdraw (its owner, or "
                      "the organisation that asked for it) and ask again.", type_="change-pending",
                      change_id=str(pending.id), change_url=url, withdraw_url=f"{url}/withdraw")
    if _active_emergency(req) and all(getattr(body, n) is None for n in CHANGE_FIELDS
                                      if n not in ("latest_end", "duration_days")):
        return _change_emergency_dates(session, principal, req, body, latest_end, duration, settings)
    # the works as changed, for the conflict checks: a bigger impact reaches further, a new route may pass
    # another site, continuous work clashes with night work where day work did not
    works = Works(geom_wkb=geom_wkb, impact=str(body.impact) if body.impact is not None else None,
                  shift=str(body.shift) if body.shift is not None else None,
                  modes=tuple(str(m) for m in body.modes) if body.modes is not None else None,
                  routes=(_routes_wkb(diversions, req.diversions_geom), _routes_wkb(replacements, req.replacement_geom))
                  if diversions is not None or replacements is not None else None)
    slot = repository.get_slot(session, req.id)
    assert slot is not None and slot.start is not None
    # An active site cannot move: it is extended in place. An approved one keeps its start if it can.
    keep_start = slot.start
    keep_end = keep_start + timedelta(days=duration - 1)
    placement: dict[str, Any]
    # Shorter (or as long) works on the same area with the same effect occupy a part of the days the slot
    # holds already: they cannot add a conflict, so they keep the start whatever lies around them.
    within = keep_end <= latest_end and keep_end <= slot.end and _same_works(req, body)
    if keep_end > latest_end:
        clashes: list[dict[str, Any]] = [{"reason": "the extended works end after latest_end"}]
    elif within:
        clashes = []
    elif req.status == Status.active:  # it stays where it is: only what its days there add counts
        # (an active emergency moves the merely proposed slots in its way, as its activation did: only the
        # fixed ones block it, see :func:`_displace_for_emergency`)
        clashes, _ = _new_clashes(session, req, keep_start, keep_end, (slot.start, slot.end), settings,
                                  works=works, statuses=(("locked", "approved") if _active_emergency(req)
                                                         else ("proposed", "locked", "approved")))
    else:
        clashes = _conflicts_at(session, req, keep_start, keep_end, settings, works=works,
                                statuses=("proposed", "locked", "approved"))
    # the blackouts and moratoriums the slot in place would break anew (those the old slot broke on its days
    # were accepted when it was approved): a plan run never places a slot there, so the change moves if it can
    # (an active site stays: its approval then needs override)
    breaks_rules = keep_end <= latest_end and not within and bool(
        _new_rules(session, req, keep_start, keep_end, (slot.start, slot.end), works=works)[0])
    moved = (_placed_for_order(session, req, settings, slot, duration, latest_end, after, works)
             if not clashes and not breaks_rules and after is not None and req.status != Status.active else None)
    if moved is not None:  # the slot in place breaks the new order against a fixed slot; this start keeps it
        new_start, placement = moved
    elif not clashes and (not breaks_rules or req.status == Status.active):
        # in place (the precedences and rules it breaks are named below: the owner asked for these days)
        new_start, placement = keep_start, {"method": "in_place", **({"within_previous_slot": True}
                                                                       if within else {})}
    elif req.status == Status.active:
        new_start, placement = None, {"method": "none", "reason": "an active site cannot move"}
    else:
        window_start = max(req.earliest_start, service_today(settings))
        bounds = _precedence_bounds(session, req, duration, window_start, latest_end, after=after)
        periods = _rule_periods(session, req, window_start, latest_end, works=works)
        # moved: first the starts outside the blackouts and moratoriums, among them first those that keep every
        # precedence with a locked or approved slot; none does: the nearest free start (the links and rules it
        # breaks are named below)
        windows: list[tuple[date, date, dict[str, Any]]] = [(window_start, latest_end, {})]
        if bounds is not None:
            windows.insert(0, (bounds[0], bounds[1] + timedelta(days=duration - 1),
                               {"precedence_window": {"first_start": bounds[0], "last_start": bounds[1]}}))
        found, kept = Placement(None, "none"), {}
        for avoid, (first, last, info) in ((a, w) for a in _with_and_without(periods) for w in windows):
            found = place_around(session, req, settings, window_start=first, window_end=last, duration=duration,
                                 preferred=slot.start, ignore=set(), works=works, avoid=avoid)
            if found.start is not None:
                kept = info
                break
        new_start = found.start
        placement = {"method": found.method, "blocking": found.blockers, **kept}
    if new_start is None:  # a pending change no coordinator could approve helps nobody: say why now
        why = placement.get("reason") or ("no start in the window avoids the approved and proposed slots of the "
                                          "conflicting sites")
        advice = (_active_advice(req, body, slot, keep_end, latest_end, clashes) if req.status == Status.active
                  else "Ask for a later latest_end or a shorter duration, or talk to the coordination office.")
        raise Problem(409, "Conflict", f"No slot fits the changed works: {why}. {advice}", type_="no-slot",
                      conflicts=_json(clashes), blocking=placement.get("blocking", []))
    new_end = new_start + timedelta(days=duration - 1)
    if _active_emergency(req):  # the merely proposed slots in the way move when the change is approved
        displaces = [str(r.id) for r in _emergency_victims(session, req, new_start, new_end, settings, works)]
        if displaces:
            placement = {**placement, "displaces": displaces}
    remaining = _conflicts_at(session, req, new_start, new_end, settings, works=works,
                              statuses=("proposed", "locked", "approved"))
    # and the blackouts and moratoriums it lies in: those it adds block the approval (override), as at propose
    # they are warned of; those the old slot had already on its days were accepted with it
    added_rules, kept_rules = _new_rules(session, req, new_start, new_end, (slot.start, slot.end), works=works)
    remaining += [{**r, "blocks_approval": True} for r in added_rules] + [
        {**r, "blocks_approval": False} for r in kept_rules]
    # the owner learns now which precedences the placed change breaks: against a locked or approved slot the
    # coordinator refuses its approval without override, against a proposed one it is a warning
    order = precedences_at(session, req, new_start, new_end, after=after)
    broken = [{**b, "blocks_approval": True} for b in order.fixed] + [
        {**b, "blocks_approval": False} for b in order.proposed]
    if broken:
        placement = {**placement, "precedences": broken}
    if after is not None:
        placement = {**placement, CHANGE_AFTER_KEY: after}
    change = repository.add_change(session, RequestChange(
        request_id=req.id, status="pending", organisation_id=principal.org_id, key_id=principal.key_id,
        latest_end=body.latest_end, duration_days=body.duration_days, geom=geom_value,
        impact=works.impact, modes=sorted({str(m) for m in body.modes}) if body.modes is not None else None,
        shift=works.shift, diversions_geom=from_shape(diversions, srid=4326) if diversions is not None else None,
        replacement_geom=from_shape(replacements, srid=4326) if replacements is not None else None,
        reason=body.reason, start=new_start, end=new_end, conflicts=_json(remaining), placement=_json(placement),
    ))
    _record_requested(session, req, principal, change, new_start, new_end)
    _notify(session, req, "change.requested", principal, {
        "change_id": str(change.id), "owner_id": str(req.owner_id), "start": new_start, "end": new_end,
        "conflicts": remaining, **({"precedences": broken} if broken else {}),
        **({"after": after} if after is not None else {})})
    return change


def _record_requested(session: Session, req: SiteRequest, principal: Principal, change: RequestChange,
                      start_day: date | None, end_day: date | None) -> None:
    """The history row ``change.requested`` of a change the owner filed (what it asks for and where it would
    go), after the request's own ``create`` row if it has none yet."""
    _ensure_created(session, req, principal)
    asked = change_json(session, change)
    repository.add_history(session, RequestHistory(
        request_id=req.id, seq=repository.next_seq(session, req.id), actor=_actor(principal, req),
        organisation_id=principal.org_id, key_id=principal.key_id, action="change.requested",
        before=None, after=_json({"change_id": change.id, **{k: asked[k] for k in CHANGE_FIELDS},
                                  "placement": {"start": start_day, "end": end_day}}),
        reason=change.reason,
    ))


def _active_emergency(req: SiteRequest) -> bool:
    return req.urgency == "emergency" and req.status == Status.active


def _change_emergency_dates(session: Session, principal: Principal, req: SiteRequest, body: ChangeBody,
                            latest_end: date, duration: int, settings: Settings) -> RequestChange:
    """An active emergency's change of dates only (``duration_days``, ``latest_end``) is in effect at once, as its
    activation was: the works cannot wait for the coordination office, nor stop at night when the planned end
    passes. The slot keeps its start and ends after ``duration`` days; every slot (proposed, locked or approved)
    of another site that is not active and clashes with the days it adds is re-planned around it as at the
    activation (:func:`_displace`: a new proposal, or unplaced; ``slot.displaced``); active sites in the way stay
    (``conflicts_with_active``). The change is recorded as asked for by the owner and approved by the system
    (reason code ``emergency_extension``; history ``change.requested`` then ``change.approved``, both events), so
    the coordination office reviews it afterwards. Only an end after ``latest_end`` is refused (409 ``no-slot``)."""
    slot = repository.get_slot(session, req.id, for_update=True)
    assert slot is not None and slot.start is not None and slot.end is not None
    previous, new = (slot.start, slot.end), (slot.start, slot.start + timedelta(days=duration - 1))
    if new[1] > latest_end:
        raise Problem(409, "Conflict", "No slot fits the changed works: the extended works end after latest_end. "
                      + _active_advice(req, body, slot, new[1], latest_end, []), type_="no-slot",
                      conflicts=[], blocking=[])
    added = (max(new[0], previous[1] + timedelta(days=1)), new[1])  # what the slot held is the emergency's already
    # as at the activation (:func:`activate_emergency`): approved works first, they rank above the proposals
    movable, running = ([], []) if added[0] > added[1] else _in_the_way(session, req, added[0], added[1], settings)
    now = service_now(settings)
    change = repository.add_change(session, RequestChange(
        request_id=req.id, status="approved", organisation_id=principal.org_id, key_id=principal.key_id,
        latest_end=body.latest_end, duration_days=body.duration_days, reason=body.reason, start=new[0], end=new[1],
        conflicts=[], placement=_json({"method": "in_place", "emergency": True,
                                       **({"displaces": movable} if movable else {}),
                                       **({"conflicts_with_active": running} if running else {})}),
        decided_at=now, decision_reason="emergency", decision_reason_code="emergency_extension",
    ))
    _record_requested(session, req, principal, change, new[0], new[1])
    _notify(session, req, "change.requested", principal, {
        "change_id": str(change.id), "owner_id": str(req.owner_id), "start": new[0], "end": new[1],
        "conflicts": [], "emergency": True})
    _apply_change(session, req, change)
    what = explanations.change_kind(previous, new, area_changed=False)
    said = explanations.change_summary(previous, new, area_changed=False, reason=body.reason)
    old = slot.explanation or {}
    slot_repository.put_slot(session, req.id, start=new[0], end=new[1], status="approved", provisional=False,
                             unplaced=None, plan_id=None, explanation={
                                 "emergency": True, **({"reported": old["reported"]} if "reported" in old else {}),
                                 "method": "change", "change_id": str(change.id), "reason": body.reason,
                                 "change": what, "effect": [], "approved_by": "system",
                                 "previous": {"start": previous[0].isoformat(), "end": previous[1].isoformat()},
                                 "summary": {"de": f"Notfall: {said['de']} Sofort wirksam; die Koordinierungsstelle "
                                                   "prüft nachträglich.",
                                             "en": f"Emergency: {said['en']} In effect at once; the coordination "
                                                   "office reviews it afterwards."}})
    displaced = _displace_all(session, req, movable, settings, service_today(settings))
    change.conflicts = _json(_conflicts_at(session, req, new[0], new[1], settings,
                                           statuses=("proposed", "locked", "approved")))
    session.flush()
    record(session, req, "change.approved", None, reason="emergency", reason_code="emergency_extension", force=True)
    _notify(session, req, "change.approved", None, {
        "change_id": str(change.id), "owner_id": str(req.owner_id), "slot": slot_json(session.get(Slot, req.id)),
        "reason": "emergency", "reason_code": "emergency_extension", "change": what, "effect": [],
        "emergency": True, **({"displaced": [m["request_id"] for m in displaced]} if displaced else {}),
        **({"conflicts_with_active": running} if running else {})})
    return change


def _emergency_victims(session: Session, req: SiteRequest, start_day: date, end_day: date, settings: Settings,
                       works: Works = AS_STORED) -> list[Any]:
    """The merely proposed slots of other owners' requests that the works of an active emergency (as ``works``
    changes them) clash with on ``[start_day, end_day]``, by the rules its activation displaced slots by
    (:func:`activate_emergency`): what an extension of the emergency moves."""
    return list(repository.conflicting_slots(
        session, request_id=req.id, owner_id=req.owner_id, geom_wkb=works.geom_wkb,
        impact=works.impact or req.impact, shift=works.shift or req.shift, start=start_day, end=end_day,
        distances=settings.conflict_distance_m, route_tolerance_m=settings.diversion_tolerance_m,
        impact_order=dict(IMPACT_ORDER), statuses=("proposed",), routes=works.routes, modes=works.modes))


def _displace_for_emergency(session: Session, req: SiteRequest, start_day: date, end_day: date,
                            settings: Settings) -> list[dict[str, Any]]:
    """An active emergency's approved change holds ``[start_day, end_day]`` now (its slot and works are written):
    the merely proposed slots in its way are re-planned around it as its activation re-planned them
    (:func:`_displace`: a new proposal, or unplaced, event ``slot.displaced``). Returns what moved."""
    victims = _emergency_victims(session, req, start_day, end_day, settings)
    return _displace_all(session, req, [r.id for r in victims], settings, service_today(settings))


def _active_advice(req: SiteRequest, body: ChangeBody, slot: Slot, keep_end: date, latest_end: date,
                   clashes: list[dict[str, Any]]) -> str:
    """What can help an active site whose changed works do not fit where it is (it cannot move): a later
    ``latest_end`` only when the works would end after it; fewer days when the clashes begin after its start."""
    if keep_end > latest_end:
        return (f"The works would end {keep_end}, after latest_end {latest_end}: ask for latest_end {keep_end} or "
                "later, or a shorter duration, or talk to the coordination office.")
    assert slot.start is not None and slot.end is not None
    same = _same_works(req, body)
    starts = [max(date.fromisoformat(c.get("full_from") or c["start"]), slot.start,
                  slot.end + timedelta(days=1) if same else slot.start)
              for c in clashes if c.get("start")]
    first = min(starts, default=None)
    if first is not None and same and first > slot.end:
        fits = (first - slot.start).days
        return (f"Its slot cannot be extended past {first - timedelta(days=1)} (from {first} on it clashes with "
                f"the sites named in conflicts): ask for at most {fits} days, or talk to the coordination office.")
    return ("Its changed works clash on days it holds" + (f" (from {first} on)" if first is not None else "")
            + ": ask for other works, or talk to the coordination office.")


def _apply_change(session: Session, req: SiteRequest, change: RequestChange) -> None:
    """The request takes the values an approved change gives (each one it carries), its precedences too."""
    after = change_after(change)
    if after is not None:
        # (the request's new version comes with its slot, which the approval always writes)
        requests_repository.replace_precedences(session, req.id, after)
    for name in ("latest_end", "duration_days", "geom", "impact", "modes", "shift"):
        value = getattr(change, name)
        if value is not None:
            setattr(req, name, list(value) if name == "modes" else value)
    for name in ("diversions_geom", "replacement_geom"):
        routes = getattr(change, name)
        if routes is not None:  # empty: the change removes them
            setattr(req, name, None if to_shape(routes).is_empty else routes)
    if req.preferred_start is not None and req.preferred_start > req.latest_end - timedelta(
            days=req.duration_days - 1):
        req.preferred_start = None


def decide_change(session: Session, principal: Principal, request_id: uuid.UUID, change_id: uuid.UUID,
                  decision: str, body: DecisionBody, settings: Settings, *,
                  if_match: str | None = None) -> RequestChange:
    """A coordinator approves or rejects a pending change. As every step: 404 if invisible, 403 if not a
    coordinator, 412 if ``if_match`` (the request's ETag) is stale, then 404/409 for the change itself."""
    req = load_visible(session, principal, request_id, lock=True)
    if not principal.is_coordinator:
        raise forbidden("Only the coordination office may decide on a change.")
    requests_service.check_if_match(req, if_match)
    change = repository.get_change(session, req.id, change_id)
    if change is None:
        raise not_found("Change", change_id)
    if change.status != "pending":
        raise Problem(409, "Conflict", f"This change is {change.status} already.", type_="change-decided")
    code = _coordinator_code(body.reason_code, required=decision == "reject")  # the owner learns why, as for requests
    effect: list[str] = []
    clashes: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    order = precedences.Broken([], [])
    ordered: list[dict[str, Any]] | None = None  # the request's new ``after`` list, when the change altered it
    displaced: list[dict[str, Any]] = []  # the proposed slots an emergency's approved change moved
    if decision == "approve":
        if change.start is None or change.end is None:
            raise Problem(409, "Conflict", "No slot fits the changed works; reject the change.", type_="no-slot")
        if req.status not in CHANGEABLE:
            raise Problem(409, "Conflict", f"The request is {req.status} now.", type_="illegal-transition")
        after = change_after(change)
        if after is not None:  # the requests it names may have been withdrawn, or ordered after this one, since
            try:
                _check_change_after(session, principal, req, after, change.latest_end or req.latest_end,
                                    change.duration_days or req.duration_days, settings)
            except InvalidField as e:
                raise Problem(409, "Conflict", f"The precedences the change gives no longer hold ({e.detail}); "
                              "reject the change.", type_="invalid-precedence", errors=e.errors) from None
        old = session.get(Slot, req.id)
        previous = (old.start, old.end) if old is not None and old.start is not None and old.end else None
        # checked again now: other slots may have been approved or locked, other precedences fixed, since the
        # change was asked for (its ``conflicts`` are those of that moment). Only what the new slot adds counts:
        # the clashes and broken precedences against fixed slots the old slot had already (as much) were
        # accepted when it was approved; a shortening adds none of them
        works = _change_works(session, req, change)
        clashes, kept_clashes = _new_clashes(session, req, change.start, change.end, previous, settings,
                                             works=works)
        # and so for the blackouts and moratoriums: those the new slot adds are hard rules as the clashes are
        rules, kept_rules = _new_rules(session, req, change.start, change.end, previous, works=works)
        order = precedences_at(session, req, change.start, change.end, after=after)
        kept_links: list[dict[str, Any]] = []
        if previous is not None:
            fixed, kept_links = _new_breaks(order.fixed, change.start,
                                            precedences_at(session, req, *previous).fixed, previous[0])
            order = precedences.Broken(fixed, order.proposed)
        _refuse_unless_overridden(clashes, order, body.override, "The changed works' slot", rules)
        was = snapshot(session, req)
        _apply_change(session, req, change)
        became = snapshot(session, req)
        effect = [k for k in EFFECT_FIELDS if was[k] != became[k]]  # what changed for the traffic beyond dates, area
        ordered = became["after"] if was["after"] != became["after"] else None
        new, area_changed = (change.start, change.end), change.geom is not None
        what = explanations.change_kind(previous, new, area_changed=area_changed)
        explanation = {  # the notices read "change" and "previous" to say what it means for the street
            "method": "change", "change_id": str(change.id), "reason": change.reason,
            # same dates and area, another effect: not a mere change of the window
            "change": "effect" if what == "window" and effect else what, "effect": effect,
            "previous": {"start": previous[0].isoformat(), "end": previous[1].isoformat()} if previous else None,
            "summary": _order_summary(explanations.change_summary(previous, new, area_changed=area_changed,
                                                                  effect=effect, reason=change.reason),
                                      ordered is not None),
            **({"order_changed": True} if ordered is not None else {}),
            # what the slot still has that an earlier approval accepted (not checked again)
            **({"accepted_before": _json({"conflicts": kept_clashes, "precedences": kept_links,
                                          **({"rule_conflicts": kept_rules} if kept_rules else {})})}
               if kept_clashes or kept_links or kept_rules else {}),
        }
        explanation = _annotated(explanation, principal, clashes, order, rules, reason=body.reason)
        slot_repository.put_slot(session, req.id, start=change.start, end=change.end, status="approved",
                                 provisional=False, explanation=explanation, unplaced=None, plan_id=None)
        if order.proposed:  # submitted requests' provisional slots out of the new order are placed again
            order = _replace_out_of_order(session, req, order, change.start, change.end, settings)
        if _active_emergency(req):  # the proposed slots in an emergency's way move, as at its activation
            displaced = _displace_for_emergency(session, req, change.start, change.end, settings)
    change.status = "approved" if decision == "approve" else "rejected"
    change.decided_by, change.decided_at = principal.org_id, service_now(settings)
    change.decision_reason, change.decision_reason_code = body.reason, code
    session.flush()
    kind = f"change.{change.status}"
    if decision == "approve":
        record(session, req, kind, principal, reason=body.reason, reason_code=code, force=True)
    else:
        _change_history(session, req, principal, kind, change, body.reason, code)
    slot = session.get(Slot, req.id)
    _notify(session, req, kind, principal, {"change_id": str(change.id), "owner_id": str(req.owner_id),
                                            "slot": slot_json(slot), "reason": body.reason, "reason_code": code,
                                            # what the approved change did (extended, moved, area, window,
                                            # effect, ...) and which effects on traffic it changed
                                            **({"change": (slot.explanation or {}).get("change"), "effect": effect}
                                               if decision == "approve" and slot is not None else {}),
                                            **({"after": ordered} if ordered is not None else {}),
                                            **({"displaced": [m["request_id"] for m in displaced]}
                                               if displaced else {}),
                                            **({"overridden_conflicts": clashes} if clashes else {}),
                                            **({"overridden_rules": rules} if rules else {}),
                                            **({"overridden_precedences": order.fixed} if order.fixed else {})})
    return change


def _replace_out_of_order(session: Session, req: SiteRequest, order: precedences.Broken, start: date, end: date,
                          settings: Settings) -> precedences.Broken:
    """``req``'s approved slot ``[start, end]`` breaks the precedences ``order.proposed`` against other requests'
    proposed slots: those that are provisional slots of submitted requests are placed again around it
    (``slots.service.replace_out_of_order``), and the slot's ``precedence_warnings`` keep only what is still
    broken. Returns the precedences broken now."""
    from service.slots import service as slots_service  # slots calls the workflow lazily too: no import cycle

    ids = [uuid.UUID(item["request_id"]) for item in order.proposed]
    if not slots_service.replace_out_of_order(session, req, ids, settings):
        return order
    now = precedences_at(session, req, start, end)
    slot = session.get(Slot, req.id)
    slot.explanation = _warning_precedences(slot.explanation, now.proposed)
    session.flush()
    return precedences.Broken(order.fixed, now.proposed)


def withdraw_change(session: Session, principal: Principal, request_id: uuid.UUID, change_id: uuid.UUID,
                    reason: str | None, settings: Settings, *, if_match: str | None = None) -> RequestChange:
    """The organisation that asked for a pending change takes it back (the owner may take back any of its
    request's): it becomes ``withdrawn``, the request and its slot stay as they are, the history and the event
    ``change.withdrawn`` say so, and a new change can be asked for at once. As every step: 404 if invisible, 403
    for others, 412 if ``if_match`` is stale, then 404/409 for the change itself."""
    req = load_visible(session, principal, request_id, lock=True)
    change = repository.get_change(session, req.id, change_id)
    if req.owner_id != principal.org_id and (change is None or change.organisation_id != principal.org_id):
        raise forbidden("Only the owner of the request, or the organisation that asked for the change, may take "
                        "it back.")
    requests_service.check_if_match(req, if_match)
    if change is None:
        raise not_found("Change", change_id)
    if change.status != "pending":
        raise Problem(409, "Conflict", f"This change is {change.status} already; only a pending change can be "
                      "taken back.", type_="change-decided")
    change.status = "withdrawn"
    change.decided_by, change.decided_at = principal.org_id, service_now(settings)
    change.decision_reason = reason
    session.flush()
    _change_history(session, req, principal, "change.withdrawn", change, reason)
    _notify(session, req, "change.withdrawn", principal, {"change_id": str(change.id),
                                                          "owner_id": str(req.owner_id), "reason": reason})
    return change


def _change_history(session: Session, req: SiteRequest, principal: Principal, action: str, change: RequestChange,
                    reason: str | None, reason_code: str | None = None) -> None:
    """The history row of a step on a change that leaves the request as it is (rejected, withdrawn)."""
    repository.add_history(session, RequestHistory(
        request_id=req.id, seq=repository.next_seq(session, req.id), actor=_actor(principal, req),
        organisation_id=principal.org_id, key_id=principal.key_id, action=action, before=None,
        after={"change_id": str(change.id)}, reason=reason, reason_code=reason_code,
    ))


def _order_summary(summary: dict[str, str], ordered: bool) -> dict[str, str]:
    """A change's summary, saying so when the change gave the works another order (``after``)."""
    if not ordered:
        return summary
    return {"de": f"{summary['de']} Reihenfolge mit anderen Baustellen geändert.",
            "en": f"{summary['en']} Order with other sites changed."}


def _change_works(session: Session, req: SiteRequest, change: RequestChange) -> Works:
    """The works as ``change`` makes them (as :func:`request_change` checked them), for the checks at approval."""
    routes = None
    if change.diversions_geom is not None or change.replacement_geom is not None:
        div, rep = (to_shape(g) if g is not None else None for g in (change.diversions_geom, change.replacement_geom))
        routes = (_routes_wkb(div, req.diversions_geom), _routes_wkb(rep, req.replacement_geom))
    return Works(geom_wkb=repository.change_geometry_wkb(session, change), impact=change.impact,
                 shift=change.shift, modes=tuple(change.modes) if change.modes is not None else None, routes=routes)


def list_changes(session: Session, principal: Principal, request_id: uuid.UUID) -> list[dict[str, Any]]:
    req = _load_private(session, principal, request_id)
    return [change_json(session, c) for c in repository.changes_of(session, req.id)]


def get_change(session: Session, principal: Principal, request_id: uuid.UUID,
               change_id: uuid.UUID) -> dict[str, Any]:
    req = _load_private(session, principal, request_id)
    change = repository.get_change(session, req.id, change_id, lock=False)
    if change is None:
        raise not_found("Change", change_id)
    return change_json(session, change)


# --- history and comments -------------------------------------------------------------------------


def _load_private(session: Session, principal: Principal, request_id: uuid.UUID, doing: str = "see this",
                  ) -> SiteRequest:
    """For what only the owner and the coordinators see: 404 if invisible, 403 for other organisations."""
    req = load_visible(session, principal, request_id, lock=False)
    if not requests_service.can_see_full(principal, req):
        raise forbidden(f"Only the owner of the request and the coordination office may {doing}.")
    return req


def history(session: Session, principal: Principal, request_id: uuid.UUID) -> list[RequestHistory]:
    req = _load_private(session, principal, request_id)
    return repository.history_rows(session, req.id)


def add_comment(session: Session, principal: Principal, request_id: uuid.UUID, text: str) -> RequestComment:
    req = _load_private(session, principal, request_id, "comment on it")
    comment = repository.add_comment(session, RequestComment(
        request_id=req.id, organisation_id=principal.org_id, key_id=principal.key_id, text=text.strip()))
    from service.events import service as events

    events.emit(session, "comment.added", request_id=req.id, organisation_id=principal.org_id,
                payload={"comment_id": str(comment.id), "owner_id": str(req.owner_id),
                         "by": principal.org_name})
    return comment


def comments(session: Session, principal: Principal, request_id: uuid.UUID) -> list[RequestComment]:
    req = _load_private(session, principal, request_id)
    return repository.comments_of(session, req.id)


def get_comment(session: Session, principal: Principal, request_id: uuid.UUID,
                comment_id: uuid.UUID) -> RequestComment:
    req = _load_private(session, principal, request_id)
    comment = repository.get_comment(session, req.id, comment_id)
    if comment is None:
        raise not_found("Comment", comment_id)
    return comment
