"""Site request logic: validation, visibility, create / change / withdraw, bulk import.

Nothing here commits; the HTTP request or CLI command around it does.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from pydantic import ValidationError
from shapely.geometry import MultiLineString, mapping
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from service.auth.service import Principal
from service.domains import modules
from service.events import service as events
from service.geo import GeometryError, GeometryLimits, check_crs, validate_geojson
from service.kit import cursor as cursors
from service.kit.etags import if_match_allows, if_match_wellformed
from service.kit.problems import InvalidField, Problem, conflict, forbidden, not_found
from service.kit.time import today, years_after
from service.kit.types import is_blank, trim
from service.requests import repository
from service.requests.models import IdempotencyRecord, SiteRequest, Status, public_title_of
from service.requests.schemas import (
    PATCH_NOT_NULL,
    ImportReport,
    ImportResult,
    PredecessorRef,
    RequestPatch,
    RequestWrite,
)
from service.settings import Settings

FOOTPRINT_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
EDITABLE_STATES = {Status.draft, Status.submitted}
# While a slot is being agreed on, only the precedences (``after``) may still be changed with PATCH: a late order
# with another site is recorded before the approval, which checks it (the slot itself is negotiated, not edited).
ORDER_ONLY_STATES = {Status.slot_proposed, Status.accepted, Status.contested}


@dataclass
class Prepared:
    """Column values derived from a validated write body, plus what changed on the way in."""

    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


PUBLISHED_SOURCES = {"karlsruhe"}


def geometry_limits(settings: Settings, *, footprint: bool = False) -> GeometryLimits:
    """The input limits of the settings. Only the works' ``footprint`` has a length and an extent cap
    (``max_line_km``, ``max_extent_km``): routes (diversions, replacement routes) go where traffic can go and may be
    longer."""
    return GeometryLimits(
        service_area=tuple(settings.service_area),  # type: ignore[arg-type]
        max_vertices=settings.max_vertices,
        max_area_km2=settings.max_area_km2,
        max_line_km=settings.max_line_km if footprint else None,
        max_extent_km=settings.max_extent_km if footprint else None,
    )


ROUTE_TYPES = ("LineString", "MultiLineString")


def _footprint(obj: Any, settings: Settings, *, field_name: str, repair: bool, simple_lines: bool = True,
               allowed: tuple[str, ...] = FOOTPRINT_TYPES, route: bool = False) -> Any:
    try:
        return validate_geojson(obj, limits=geometry_limits(settings, footprint=not route), allowed=allowed,
                                repair=repair, simple_lines=simple_lines)
    except GeometryError as exc:
        extra = {"location": list(exc.location)} if exc.location else {}
        raise InvalidField(exc.field(field_name), exc.detail, **extra) from exc


def _routes(objs: list[Any], settings: Settings, *, field_name: str) -> tuple[MultiLineString | None, list[str]]:
    lines, warnings = [], []
    for i, obj in enumerate(objs):
        valid = _footprint(obj, settings, field_name=f"{field_name}[{i}]", repair=False, simple_lines=False,
                           allowed=ROUTE_TYPES, route=True)
        # a route in pieces (MultiLineString) is its lines; the stored routes are one line each
        lines += list(getattr(valid.geometry, "geoms", [valid.geometry]))
        warnings += [f"{field_name}[{i}]: {w}" for w in valid.warnings]
    return (MultiLineString(lines) if lines else None), warnings


def check_window(
    earliest: date,
    latest: date,
    duration: int,
    preferred: date | None,
    *,
    settings: Settings,
    prefix: str = "",
    allow_past: bool = False,
    from_today: bool = True,
    sent: Collection[str] | None = None,
) -> None:
    """The time window rules shared by create, change and import. A window that has ended is refused (works
    cannot be set up in the past) unless ``allow_past``: imports of published records keep their dates. With
    ``from_today`` (not for a change of works whose start is set) the part of the window left from today must
    hold the works too. ``sent``: the fields a change sent (None: all of them, a full body); a window that does not
    hold the works names one of them, not a stored value the change left alone."""
    sent_window = [f for f in WINDOW_FIELDS if sent is None or f in sent]
    if duration < 1:
        raise InvalidField(prefix + "duration_days", "must be at least 1 day")
    if latest < earliest:
        if "latest_end" not in sent_window and "earliest_start" in sent_window:
            raise InvalidField(prefix + "earliest_start", f"{earliest} is after latest_end {latest}")
        raise InvalidField(prefix + "latest_end", f"{latest} is before earliest_start {earliest}")
    if not allow_past and latest < today(settings):
        raise InvalidField(prefix + "latest_end", f"{latest} has passed (today is {today(settings)}); no slot can "
                           "be granted in the past")
    window = (latest - earliest).days + 1
    if window < duration:
        if "duration_days" in sent_window or not sent_window:
            raise InvalidField(
                prefix + "duration_days", f"{duration} days do not fit into the window of {window} days"
            )
        # only the dates changed: the one sent is at fault
        raise InvalidField(prefix + sent_window[0], f"the window would be {window} days ({earliest} to {latest}), "
                           f"shorter than the duration of {duration} days")
    day = today(settings)
    if from_today and not allow_past and earliest < day and (latest - day).days + 1 < duration:
        at_fault = next((f for f in ("latest_end", "duration_days") if f in sent_window), "latest_end")
        raise InvalidField(prefix + at_fault, f"only {(latest - day).days + 1} days of the window are left from "
                           f"today ({day}); the works need {duration}: no slot can be granted in the past")
    horizon = years_after(today(settings), settings.max_years_ahead)
    if latest > horizon:
        raise InvalidField(
            prefix + "latest_end", f"{latest} is more than {settings.max_years_ahead} years ahead (limit {horizon})"
        )
    if preferred is not None:
        last_start = date.fromordinal(latest.toordinal() - duration + 1)
        if not (earliest <= preferred <= last_start):
            raise InvalidField(
                prefix + "preferred_start",
                f"{preferred} must lie between {earliest} and {last_start} so the works fit into the window",
            )


def prepare(body: RequestWrite | dict[str, Any], settings: Settings, *, repair: bool = False,
            allow_past: bool = False, sent: Collection[str] | None = None) -> Prepared:
    """Validate a full write body (geometry and window) and turn it into column values. ``sent``: the fields a
    change sent, for the field a refusal names (None: a full body)."""
    data = body if isinstance(body, dict) else body.model_dump(mode="python")
    check_window(
        data["earliest_start"], data["latest_end"], data["duration_days"], data.get("preferred_start"),
        settings=settings, allow_past=allow_past, sent=sent,
    )
    if str(data.get("urgency") or "planned") == "emergency":
        day = today(settings)
        if not data["earliest_start"] <= day or data["latest_end"] < day + timedelta(days=data["duration_days"] - 1):
            raise InvalidField("earliest_start", f"an emergency starts today ({day}): the window must begin on or "
                               f"before today and last at least duration_days from today")
    geom = _footprint(data["geometry"], settings, field_name="geometry", repair=repair)
    diversions, w1 = _routes(data.get("diversions") or [], settings, field_name="diversions")
    replacements, w2 = _routes(data.get("replacement_routes") or [], settings, field_name="replacement_routes")
    contact = data.get("contact")
    values = {
        "title": data["title"],
        "description": data.get("description") or "",
        "kind": str(data["kind"]),
        "impact": str(data["impact"]),
        "modes": sorted({str(m) for m in data.get("modes") or []}),
        "shift": str(data.get("shift") or "continuous"),
        "urgency": str(data.get("urgency") or "planned"),
        "geom": from_shape(geom.geometry, srid=4326),
        "diversions_geom": from_shape(diversions, srid=4326) if diversions else None,
        "replacement_geom": from_shape(replacements, srid=4326) if replacements else None,
        "earliest_start": data["earliest_start"],
        "latest_end": data["latest_end"],
        "duration_days": data["duration_days"],
        "preferred_start": data.get("preferred_start"),
        "external_id": None if is_blank(data.get("external_id") or "") else data["external_id"],
        "contact": dict(contact) if contact else {},
        "bundle_with": [str(b) for b in data.get("bundle_with") or []],
    }
    notes = [f"geometry repaired: {geom.repaired}"] if geom.repaired else []
    return Prepared(values=values, warnings=geom.warnings + w1 + w2, notes=notes)


# --- visibility ---------------------------------------------------------------------------------


def can_see_full(principal: Principal, req: SiteRequest) -> bool:
    return principal.is_coordinator or req.owner_id == principal.org_id


def get_visible(session: Session, principal: Principal, request_id: uuid.UUID) -> tuple[SiteRequest, bool]:
    """The request and whether the caller may see it in full. Drafts of others do not exist for them."""
    req = repository.get(session, request_id)
    if req is None or (req.status == Status.draft and not can_see_full(principal, req)):
        raise not_found("Request", request_id)
    return req, can_see_full(principal, req)


def get_owned(session: Session, principal: Principal, request_id: uuid.UUID) -> SiteRequest:
    """The request for a change by its owner: 404 if invisible, 403 if visible but someone else's."""
    req = repository.get(session, request_id, for_update=True)
    if req is None or (req.status == Status.draft and not can_see_full(principal, req)):
        raise not_found("Request", request_id)
    if req.owner_id != principal.org_id:
        raise forbidden("This request belongs to another organisation; only its owner may change it.")
    return req


# --- representation -----------------------------------------------------------------------------


def _lines(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [mapping(line) for line in to_shape(value).geoms]


def etag(req: SiteRequest) -> str:
    return f'"v{req.version}"'


def check_if_match(req: SiteRequest, if_match: str | None) -> None:
    """412 when an ``If-Match`` was sent and does not name the request's current ETag (its version counts
    changes of its slot too); nothing when none was sent. A value that is no list of entity tags (``v2`` without
    its quotes, ``garbage``) is 400 naming the header: it is a mistake of the client, not a change of the request,
    and reading the request again would not help."""
    if if_match is None:
        return
    tag = etag(req)
    if not if_match_wellformed(if_match):
        raise Problem(400, "Malformed If-Match", (
            f"If-Match must be * or entity tags in double quotes, as the ETag header gives them: {tag} "
            f"(not {if_match.strip()[:40]!r})."), type_="malformed-if-match",
            errors=[{"field": "If-Match", "detail": f"not an entity tag: send the ETag with its quotes, e.g. {tag}"}],
            headers={"ETag": tag})
    if not if_match_allows(if_match, tag):
        if if_match_allows(if_match.replace("W/", ""), tag):
            detail = f"If-Match compares strongly, so a weak tag never matches: send {tag} without W/."
        else:
            detail = f"The request changed since you read it (now {tag}); GET it again."
        raise Problem(412, "Precondition failed", detail, type_="stale-etag", headers={"ETag": tag})


def public_text(text: str) -> str:
    """Free text (a title, a description) as other organisations read it: without e-mail addresses, phone
    numbers and names of persons, as the open data feeds publish it. Only the owner organisation and the
    coordination office read it as written."""
    from service.feeds.common import scrub  # pure (no ORM); imported here so the foundation loads no domain

    return scrub(text)


def to_read(req: SiteRequest, *, full: bool, warnings: list[str] | None = None) -> dict[str, Any]:
    """The request as ``full`` (owner, coordinators) or the public view shows it: the public view has no contact
    and its title (the stored ``public_title``) and description are scrubbed of personal data
    (:func:`public_text`)."""
    data: dict[str, Any] = {
        "id": req.id,
        "owner": {"id": req.owner.id, "name": req.owner.name, "kind": req.owner.kind},
        "status": req.status,
        "title": req.title if full else req.public_title,
        "description": req.description if full else public_text(req.description),
        "kind": req.kind,
        "impact": req.impact,
        "modes": list(req.modes or []),
        "shift": req.shift,
        "geometry": mapping(to_shape(req.geom)),
        "diversions": _lines(req.diversions_geom),
        "replacement_routes": _lines(req.replacement_geom),
        "earliest_start": req.earliest_start,
        "latest_end": req.latest_end,
        "duration_days": req.duration_days,
        "preferred_start": req.preferred_start,
        "urgency": req.urgency,
        "external_id": req.external_id if full else None,  # the owner's internal reference, as the contact
        "contact": (req.contact or None) if full else None,
        "bundle_with": list(req.bundle_with or []),
        "after": after_of(req),
        "geometry_notes": list(req.geometry_notes or []),
        "version": req.version,
        "created_at": req.created_at,
        "updated_at": req.updated_at,
        "warnings": warnings or [],
    }
    # each domain's additions, as ``full`` readers (the owner, the coordinators) or everyone else may read them
    for module in modules("hooks"):
        extras = getattr(module, "read_extras", None)
        if extras is not None:
            data.update(extras(req, full=full))
    return data


# --- create / change / withdraw -----------------------------------------------------------------


def _check_references(session: Session, principal: Principal, values: dict[str, Any], *, owner_id: uuid.UUID,
                      self_id: uuid.UUID | None = None, existing: Collection[str] = (),
                      twice_ok: bool = False) -> None:
    """``bundle_with`` names other requests of the same organisation. A bundle lifts the conflicts between
    its requests, so one organisation may not declare it over another's site: works of two organisations
    are bundled by the coordination office (dig-once opportunities). Only entries added now are checked: those
    in ``existing`` (the stored list) were checked when they were added, and a partner withdrawn or rejected since
    stays listed, holding nothing (as a precedence does), instead of blocking every later change. A request named
    twice is refused (as in ``after``), unless ``twice_ok``: a change that leaves a list stored before this rule
    as it is."""
    seen: set[str] = set()
    for i, other in enumerate(values.get("bundle_with") or []):
        field_name = f"bundle_with[{i}]"
        if str(other) in seen and not twice_ok:
            raise InvalidField(field_name, f"request {other} is named twice")
        seen.add(str(other))
        if str(other) in existing:
            continue
        ref = repository.get(session, uuid.UUID(other))
        if ref is None or (ref.status == Status.draft and not can_see_full(principal, ref)):
            raise InvalidField(field_name, f"request {other} does not exist")
        if ref.id == self_id:
            raise InvalidField(field_name, "a request cannot be bundled with itself")
        if ref.status in (Status.withdrawn, Status.rejected):
            raise InvalidField(field_name, f"request {other} is {ref.status}; it cannot be bundled any more")
        if ref.owner_id != owner_id:
            raise InvalidField(field_name, f"request {other} belongs to another organisation; works of two "
                               "organisations are bundled by the coordination office (GET /v1/opportunities)")


# --- references by external id ------------------------------------------------------------------

# ``lookup(external_id, field)``: the id of the request an external id in ``after`` or ``bundle_with`` names; None
# to link it later (a feature of an import not stored yet); InvalidField naming ``field`` when it names none.
RefLookup = Callable[[str, str], "uuid.UUID | None"]


def _stored_lookup(session: Session, owner_id: uuid.UUID) -> RefLookup:
    def lookup(external_id: str, field_name: str) -> uuid.UUID | None:
        found = repository.get_by_external_id(session, owner_id, external_id)
        if found is None:
            raise InvalidField(field_name, f"no request of your organisation has external_id {external_id!r}")
        return found.id
    return lookup


@dataclass
class Deferred:
    """The references :func:`resolve_refs` left out to link later, by their position in the list sent, and the
    positions of those it kept (for the field a refusal names)."""

    after: dict[int, dict[str, Any]] = field(default_factory=dict)
    bundle_with: dict[int, str] = field(default_factory=dict)
    kept: dict[str, list[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.after or self.bundle_with)

    def sent_field(self, name: str) -> str:
        """``name`` (``after[k]…``, ``bundle_with[k]``, as the checks name the kept entries) with the position sent."""
        for key, positions in self.kept.items():
            if name.startswith(f"{key}[") and "]" in name:
                k, rest = name[len(key) + 1:].split("]", 1)
                if k.isdigit() and int(k) < len(positions):
                    return f"{key}[{positions[int(k)]}]{rest}"
        return name


def resolve_refs(session: Session, owner_id: uuid.UUID, data: dict[str, Any],
                 lookup: RefLookup | None = None) -> tuple[dict[str, Any], Deferred]:
    """``data`` (a write body or a PATCH's changes, dumped) with each ``after[i].request`` and ``bundle_with[i]``
    given as an external id replaced by the id of the request ``owner_id`` stored under it: a link is to the
    request (reads name it by its id), the external id may change. An unknown one is refused naming the field,
    as an unknown id is (by ``lookup``, default: the stored requests). Those ``lookup`` defers are left out and
    returned."""
    lookup = lookup or _stored_lookup(session, owner_id)
    out, deferred = dict(data), Deferred()
    if data.get("after"):
        entries, kept = [], []
        for i, entry in enumerate(data["after"]):
            ref = entry["request"]
            if isinstance(ref, str) and not _is_uuid(ref):
                found = lookup(ref, f"after[{i}].request")
                if found is None:
                    deferred.after[i] = entry
                    continue
                entry = {**entry, "request": found}
            entries.append(entry)
            kept.append(i)
        out["after"], deferred.kept["after"] = entries, kept
    if data.get("bundle_with"):
        values, kept = [], []
        for i, ref in enumerate(data["bundle_with"]):
            if isinstance(ref, str) and not _is_uuid(ref):
                found = lookup(ref, f"bundle_with[{i}]")
                if found is None:
                    deferred.bundle_with[i] = ref
                    continue
                ref = found
            values.append(ref)
            kept.append(i)
        out["bundle_with"], deferred.kept["bundle_with"] = values, kept
    return out, deferred


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- precedences (``after``) ---------------------------------------------------------------------

# A precedence naming a request in one of these states holds nothing (its works are off): it cannot be added,
# and one stored before is kept but not checked.
INERT_STATES = (Status.withdrawn, Status.rejected)
# Works not yet granted cannot start before today: their windows count from today.
UNGRANTED_STATES = (Status.draft, Status.submitted, Status.slot_proposed, Status.contested)
WINDOW_FIELDS = ("earliest_start", "latest_end", "duration_days")


@dataclass(frozen=True)
class Starts:
    """The first and last start day a request's window allows, and its duration (days are inclusive)."""

    first: date
    last: date
    duration: int

    @classmethod
    def of(cls, earliest: date, latest: date, duration: int, status: str, day: date) -> Starts:
        first = max(earliest, day) if status in UNGRANTED_STATES else earliest
        return cls(first, latest - timedelta(days=duration - 1), duration)

    @property
    def earliest_end(self) -> date:
        return self.first + timedelta(days=self.duration - 1)

    @property
    def latest_end(self) -> date:
        return self.last + timedelta(days=self.duration - 1)


def order_impossible(pred: Starts, succ: Starts, min_gap: int, max_gap: int | None) -> str | None:
    """``"min"`` when ``succ`` cannot start ``min_gap`` whole days after ``pred`` ends (the gap is the number of
    days between ``pred``'s last and ``succ``'s first day), ``"max"`` when it cannot start within ``max_gap``,
    None when some starts of both windows keep the order."""
    if (succ.last - pred.earliest_end).days - 1 < min_gap:
        return "min"
    if max_gap is not None and (succ.first - pred.latest_end).days - 1 > max_gap:
        return "max"
    return None


def _day(d: date, days: int) -> date:
    return d + timedelta(days=days)


def after_of(req: SiteRequest) -> list[dict[str, Any]]:
    """The request's ``after`` list as the API shows it."""
    session = object_session(req)
    if session is None or req.id is None:
        return []
    return [{"request": p.predecessor_id, "min_gap_days": p.min_gap_days, "max_gap_days": p.max_gap_days}
            for p in repository.precedences_of(session, req.id)]


def _after_entries(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """An ``after`` list (as dumped from the schema, or as :func:`after_of` reads it) for the checks and the table."""
    return [{"request": uuid.UUID(str(e["request"])), "min_gap_days": e.get("min_gap_days") or 0,
             "max_gap_days": e.get("max_gap_days")} for e in items or []]


def check_after(
    session: Session, principal: Principal, entries: list[dict[str, Any]], *, owner_id: uuid.UUID,
    self_id: uuid.UUID | None, window: Starts, existing: dict[uuid.UUID, tuple[int, int | None]],
    window_changed: bool, day: date,
) -> None:
    """The ``after`` list of a request (``self_id``, None while it is created) owned by ``owner_id``, whose window
    allows the starts ``window``. Entries added or changed (not in ``existing`` with the same gaps) must name a
    request that exists for the caller, is not this one, not withdrawn or rejected, of the same organisation
    (two organisations' works are ordered by the coordination office), and does not already come after this
    one (no cycle). The gaps and both windows must leave a start that keeps the order (checked again for every
    entry when the window changed). The precedences the coordination office set between two organisations
    stay until it removes them."""
    seen: set[uuid.UUID] = set()
    for i, entry in enumerate(entries):
        field_name, other = f"after[{i}].request", entry["request"]
        gaps = (entry["min_gap_days"], entry["max_gap_days"])
        if other in seen:
            raise InvalidField(field_name, f"request {other} is named twice")
        seen.add(other)
        ref = repository.get(session, other)
        if ref is None or (ref.status == Status.draft and not can_see_full(principal, ref)):
            raise InvalidField(field_name, f"request {other} does not exist")
        if ref.id == self_id:
            raise InvalidField(field_name, "a request cannot come after itself")
        if gaps[1] is not None and gaps[1] < gaps[0]:
            raise InvalidField(f"after[{i}].max_gap_days", f"{gaps[1]} is less than min_gap_days ({gaps[0]})")
        new = existing.get(other) != gaps
        if ref.status in INERT_STATES:
            if new:
                raise InvalidField(field_name, f"request {other} is {ref.status}; nothing can come after it any more")
            continue  # kept as it was: it holds nothing
        if new and ref.owner_id != owner_id and not principal.is_coordinator:
            raise InvalidField(field_name, f"request {other} belongs to another organisation; the order of two "
                               "organisations' works is set by the coordination office")
        if new and self_id is not None:
            path = repository.precedence_path(session, other, self_id)
            if path is not None:
                via = f" (through {', '.join(str(x) for x in path[1:-1])})" if len(path) > 2 else ""
                raise InvalidField(field_name, f"request {other} already comes after this request{via}: "
                                   "the order would go round in a circle")
        if new or window_changed:
            pred = Starts.of(ref.earliest_start, ref.latest_end, ref.duration_days, ref.status, day)
            why = order_impossible(pred, window, *gaps)
            if why == "min":
                raise InvalidField(field_name, (
                    f"request {other} ends on {pred.earliest_end} at the earliest; with min_gap_days {gaps[0]} this "
                    f"request could start on {_day(pred.earliest_end, gaps[0] + 1)} at the earliest, but it must "
                    f"start by {window.last} to fit its window"))
            if why == "max":
                raise InvalidField(field_name, (
                    f"request {other} ends on {pred.latest_end} at the latest; with max_gap_days {gaps[1]} this "
                    f"request must start by {_day(pred.latest_end, (gaps[1] or 0) + 1)}, but its window lets it "
                    f"start on {window.first} at the earliest"))
    if principal.is_coordinator:
        return
    for other in existing:
        ref = repository.get(session, other) if other not in seen else None
        if ref is not None and ref.owner_id != owner_id and ref.status not in INERT_STATES:
            raise InvalidField("after", f"the precedence after request {other} of another organisation was set by "
                               "the coordination office: keep it in the list; only the coordination office can "
                               "change or remove it")


def check_successors(session: Session, req: SiteRequest, window: Starts, changes: dict[str, Any],
                     day: date) -> None:
    """A changed window of ``req`` must still let every request that comes after it keep the order."""
    for link in repository.successors_of(session, req.id):
        succ = repository.get(session, link.request_id)
        if succ is None or succ.status in INERT_STATES:
            continue
        after = Starts.of(succ.earliest_start, succ.latest_end, succ.duration_days, succ.status, day)
        why = order_impossible(window, after, link.min_gap_days, link.max_gap_days)
        if why == "min":
            field_name = next((f for f in ("earliest_start", "duration_days") if f in changes), "earliest_start")
            raise InvalidField(field_name, (
                f"request {succ.id} comes after this one with at least {link.min_gap_days} days between and must "
                f"start by {after.last}: this request would have to end by "
                f"{_day(after.last, -link.min_gap_days - 1)}, but it cannot end before {window.earliest_end}"))
        if why == "max":
            raise InvalidField("latest_end", (
                f"request {succ.id} comes after this one with at most {link.max_gap_days} days between and cannot "
                f"start before {after.first}: this request would have to end on "
                f"{_day(after.first, -(link.max_gap_days or 0) - 1)} or later, but it ends by {window.latest_end}"))


EXTERNAL_ID_CONSTRAINT = "uq_site_requests_owner_external_id"


def _duplicate_external_id(external_id: str, existing_id: uuid.UUID | None, field_name: str) -> Problem:
    which = f"request {existing_id}" if existing_id else "another request"
    return Problem(
        409, "Conflict", f"{field_name}: your organisation already has {which} with external_id {external_id!r}",
        type_="duplicate-external-id",
        errors=[{"field": field_name, "detail": "already used by another request of your organisation"}],
        **({"existing_id": str(existing_id)} if existing_id else {}),
    )


def _check_external_id(
    session: Session, owner_id: uuid.UUID, external_id: str | None, *, exclude: uuid.UUID | None, field_name: str
) -> None:
    """An organisation's external ids are unique. None (the schemas turn a blank id into None) is no id."""
    if external_id is not None:
        existing = repository.get_by_external_id(session, owner_id, external_id)
        if existing is not None and existing.id != exclude:
            raise _duplicate_external_id(external_id, existing.id, field_name)


def _store(session: Session, external_id: str | None, write: Callable[[], None]) -> None:
    """Run ``write`` (which flushes a request with ``external_id``) in a savepoint: when a concurrent call took
    the same external id first, the answer is the 409 of the check before it, never an IntegrityError."""
    try:
        with session.begin_nested():
            write()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint != EXTERNAL_ID_CONSTRAINT:
            raise
        raise _duplicate_external_id(external_id or "", None, "external_id") from exc


def create(
    session: Session, principal: Principal, body: RequestWrite, settings: Settings, *, repair: bool = False,
    source: str = "api", owner_id: uuid.UUID | None = None,
) -> tuple[SiteRequest, list[str]]:
    # published records (a city's open data) keep their dates, even when their works have ended
    data = body.model_dump(mode="python")
    prepared = prepare(data, settings, repair=repair, allow_past=source in PUBLISHED_SOURCES)
    owner = owner_id or principal.org_id
    data, _ = resolve_refs(session, owner, data)  # the requests it names by external id, by their ids
    prepared.values["bundle_with"] = [str(b) for b in data["bundle_with"]]
    _check_references(session, principal, prepared.values, owner_id=owner)
    status = Status.draft if body.status == "draft" else Status.submitted
    after = _after_entries(data["after"])
    values, day = prepared.values, today(settings)
    window = Starts.of(values["earliest_start"], values["latest_end"], values["duration_days"], status, day)
    check_after(session, principal, after, owner_id=owner, self_id=None, window=window, existing={},
                window_changed=True, day=day)
    _check_external_id(session, owner, prepared.values["external_id"], exclude=None, field_name="external_id")
    req = SiteRequest(
        owner_id=owner, status=status.value, geometry_notes=prepared.notes, source=source, **prepared.values
    )

    def write() -> None:
        repository.add(session, req)
        if after:
            repository.replace_precedences(session, req.id, after)

    _store(session, req.external_id, write)
    _after_change(session, req, events.REQUEST_CREATED, principal)
    # the domains' warnings too: an emergency, active at once, warns of the sites it displaced
    return req, [*prepared.warnings, *_hook_warnings(session, req)]


def body_hash(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def create_idempotent(
    session: Session, principal: Principal, body: RequestWrite, settings: Settings, *, key: str, raw: Any
) -> tuple[int, dict[str, Any]]:
    """Create once per ``Idempotency-Key``: a retry with the same key and body within
    ``settings.idempotency_keep_hours`` gets the stored answer; after that the key is free again (a new call), also
    before the worker's purge (:func:`purge_idempotency_keys`) has deleted the old answer."""
    from service.kit.encode import to_json

    digest = body_hash(raw)
    repository.lock_idempotency_key(session, principal.org_id, key)
    repository.purge_idempotency(session, settings.idempotency_keep_hours, org_id=principal.org_id, key=key)
    record = repository.get_idempotency(session, principal.org_id, key)
    if record is not None:
        if record.body_hash != digest:
            raise Problem(
                422, "Idempotency-Key reused", "This Idempotency-Key was used before with a different body.",
                type_="idempotency-key-reused",
                errors=[{"field": "Idempotency-Key", "detail": "used with another body"}],
            )
        return record.status_code, record.response
    req, warnings = create(session, principal, body, settings)
    response = to_json(to_read(req, full=True, warnings=warnings))
    repository.add_idempotency(
        session, IdempotencyRecord(organisation_id=principal.org_id, key=key, body_hash=digest,
                                   status_code=201, response=response)
    )
    return 201, response


IDEMPOTENCY_PURGE_BATCH = 10_000


def purge_idempotency_keys(session: Session, settings: Settings, limit: int = IDEMPOTENCY_PURGE_BATCH) -> int:
    """Delete up to ``limit`` stored ``Idempotency-Key`` answers older than ``settings.idempotency_keep_hours``, the
    oldest first; how many."""
    return repository.purge_idempotency(session, settings.idempotency_keep_hours, limit=limit)


# What the owner can do in each state instead of what was refused: editing (PATCH) or a change after approval
# (POST .../changes, in workflow). ``{id}`` is the request's id.
WHAT_INSTEAD = {
    Status.draft: "edit it with PATCH instead",
    Status.submitted: "edit it with PATCH instead",
    Status.slot_proposed: "accept the proposed slot, or contest it (POST /v1/requests/{id}/contest with a reason "
                          "and, for other dates, a counter_proposal), or withdraw it and submit a new request; "
                          "only the precedences (`after`, alone) can still be changed with PATCH",
    Status.accepted: "the coordination office decides first: wait for the coordination office's approval, then ask "
                     "for a change (POST /v1/requests/{id}/changes), or withdraw it and submit a new request; "
                     "only the precedences (`after`, alone) can still be changed with PATCH",
    Status.contested: "wait for the coordination office's answer to your objection, or withdraw it and submit a new "
                      "request; only the precedences (`after`, alone) can still be changed with PATCH",
    Status.approved: "ask for a change (POST /v1/requests/{id}/changes)",
    Status.active: "ask for a change (POST /v1/requests/{id}/changes)",
}


def what_instead(req: SiteRequest) -> str:
    """What the owner of ``req`` can do in its state instead of editing it or asking for a change."""
    return WHAT_INSTEAD.get(req.status, "it is closed; submit a new request").replace("{id}", str(req.id))


# The fields the write body does not allow to be null may not be null in a PATCH either (422, as on create): null
# would otherwise reset them silently (no modes, no routes, shift and urgency back to their defaults). `after` is the
# exception: its null has always meant no precedences, as `[]`. `preferred_start`, `external_id` and `contact` are
# nullable: null removes them. The PATCH schema in /openapi.json says the same (schemas.PATCH_NOT_NULL).
NOT_NULL = PATCH_NOT_NULL
NULL_HINTS = {
    "modes": "; send [] to say no modes", "diversions": "; send [] to remove the diversions",
    "replacement_routes": "; send [] to remove the replacement routes", "bundle_with": "; send [] to remove the bundle",
    "description": "; send \"\" for no description",
}


def update(
    session: Session, principal: Principal, request_id: uuid.UUID, patch: RequestPatch, settings: Settings,
    *, if_match: str | None,
) -> tuple[SiteRequest, list[str]]:
    req = _get_for_update(session, principal, request_id, patch)
    if if_match is None:
        raise Problem(428, "Precondition required", "Send If-Match with the ETag from GET to change a request.",
                      type_="precondition-required")
    check_if_match(req, if_match)
    if req.status not in EDITABLE_STATES and not (req.status in ORDER_ONLY_STATES
                                                  and patch.model_fields_set == {"after"}):
        raise conflict(f"A request in state {req.status} cannot be edited: {what_instead(req)}.")
    changes = patch.model_dump(exclude_unset=True, mode="python")
    if "after" in changes and changes["after"] is None:
        changes["after"] = []  # null: no precedences
    for key in NOT_NULL:
        if key in changes and changes[key] is None:
            raise InvalidField(key, "may not be null" + NULL_HINTS.get(key, ""))
    # the requests named by external id (the request's owner's), by their ids: as they are stored and read
    changes, _ = resolve_refs(session, req.owner_id, changes)
    current = _current_body(req)
    # fields sent with the value they already have, as the request would store it, change nothing
    kept_warnings: list[str] = []
    changes = {k: v for k, v in changes.items()
               if k not in current or not _unchanged(k, v, current[k], settings, kept_warnings)}
    if not changes:  # nothing to change: no event, no history entry, no re-placement
        return req, kept_warnings
    merged = {**current, **changes}
    prepared = prepare(merged, settings, sent=changes.keys())
    _check_references(session, principal, prepared.values, owner_id=req.owner_id, self_id=req.id,
                      existing={str(b) for b in current["bundle_with"]}, twice_ok="bundle_with" not in changes)
    after, values, day = _after_entries(merged.get("after")), prepared.values, today(settings)
    window = Starts.of(values["earliest_start"], values["latest_end"], values["duration_days"], req.status, day)
    window_changed = any(k in changes for k in WINDOW_FIELDS)
    check_after(session, principal, after, owner_id=req.owner_id, self_id=req.id, window=window,
                existing={e["request"]: (e["min_gap_days"], e["max_gap_days"]) for e in current["after"]},
                window_changed=window_changed, day=day)
    if window_changed:
        check_successors(session, req, window, changes, day)
    _check_external_id(session, req.owner_id, prepared.values["external_id"], exclude=req.id, field_name="external_id")
    changed = {k: v for k, v in prepared.values.items() if k in _column_keys(changes)}

    def write() -> None:
        for key, value in changed.items():
            setattr(req, key, value)
        if "after" in changes:
            repository.replace_precedences(session, req.id, after)
            req.updated_at = func.clock_timestamp()  # the request reads differently: a new version (ETag)
        session.flush()

    _store(session, prepared.values["external_id"], write)
    _after_change(session, req, events.REQUEST_UPDATED, principal, {"fields": sorted(changes)})
    return req, [*kept_warnings, *prepared.warnings, *_hook_warnings(session, req)]


def _hook_warnings(session: Session, req: SiteRequest) -> list[str]:
    """What the domains warn of after a request was created or edited (``hooks.edit_warnings``): e.g. precedences
    its proposed slot now breaks, or what an emergency's activation did (sites displaced)."""
    out: list[str] = []
    for module in modules("hooks"):
        hook = getattr(module, "edit_warnings", None)
        if hook is not None:
            out += hook(session, req)
    return out


def _get_for_update(session: Session, principal: Principal, request_id: uuid.UUID, patch: RequestPatch) -> SiteRequest:
    """The request for a PATCH: its owner changes any field; the coordination office may change the precedences
    (``after``, alone) of any organisation's request, to order the works of two organisations."""
    if principal.is_coordinator and patch.model_fields_set == {"after"}:
        req = repository.get(session, request_id, for_update=True)
        if req is None:
            raise not_found("Request", request_id)
        return req
    return get_owned(session, principal, request_id)


def _same(value: Any) -> str:
    """A comparable form of a field's value (dates, enums, ids and GeoJSON alike)."""
    return json.dumps(value, sort_keys=True, default=str)


GEOMETRY_FIELDS = ("geometry", "diversions", "replacement_routes")


def _as_stored(key: str, value: Any, settings: Settings) -> tuple[Any, list[str]]:
    """A write-body field's ``value`` as the request stores it and reads it back (as :func:`prepare` and
    :func:`to_read` turn it): geometry validated, without Z, its numbers floats (``7`` is ``7.0``); routes one
    line each (a MultiLineString is its lines); modes a sorted set; a blank external id none. With the warnings
    of the way in; InvalidField for a value that cannot be stored."""
    if key == "geometry":
        valid = _footprint(value, settings, field_name=key, repair=False)
        return mapping(valid.geometry), valid.warnings
    if key in ("diversions", "replacement_routes"):
        lines, warnings = _routes(value or [], settings, field_name=key)
        return ([mapping(line) for line in lines.geoms] if lines is not None else []), warnings
    if key == "modes":
        return sorted({str(m) for m in value or []}), []
    if key == "description":
        return value or "", []
    if key == "external_id":
        return (None if is_blank(value or "") else value), []
    if key == "contact":
        return (dict(value) if value else None), []
    if key == "after":
        return _after_entries(value), []
    if key == "bundle_with":
        return [str(b) for b in value or []], []
    return value, []


def _unchanged(key: str, value: Any, current: Any, settings: Settings, warnings: list[str]) -> bool:
    """Whether a PATCH sending ``value`` for ``key`` leaves the stored ``current`` value (as :func:`to_read` shows
    it) as it is. The warnings of the way in (e.g. Z dropped) are added to ``warnings`` when it does."""
    if _same(value) == _same(current):
        return True
    try:
        sent, sent_warnings = _as_stored(key, value, settings)
    except InvalidField:
        return False  # not storable: the full validation refuses it with its field
    stored = current if key in GEOMETRY_FIELDS else _as_stored(key, current, settings)[0]
    if _same(sent) != _same(stored):
        return False
    warnings += sent_warnings
    return True


def _column_keys(changes: dict[str, Any]) -> set[str]:
    rename = {"geometry": "geom", "diversions": "diversions_geom", "replacement_routes": "replacement_geom"}
    return {rename.get(k, k) for k in changes}


def _current_body(req: SiteRequest) -> dict[str, Any]:
    data = to_read(req, full=True)
    return {k: data[k] for k in RequestWrite.model_fields if k in data}


def withdraw(session: Session, principal: Principal, request_id: uuid.UUID, *,
             if_match: str | None = None) -> SiteRequest:
    """``DELETE``: the owner withdraws the request, with the preconditions of ``POST .../withdraw`` (404 if
    invisible, 403 for others, then 412 when ``if_match`` is stale; without it nothing is compared, 409 for works
    that are active or completed). The effects (slot freed, pending change cancelled, deadline cleared, history)
    follow in the hooks. A request already withdrawn answers as it is: a repeated DELETE changes nothing."""
    req = get_owned(session, principal, request_id)
    check_if_match(req, if_match)
    if req.status in (Status.active, Status.completed):
        from service.workflow.states import allowed_actions, roles_of  # the workflow's table (imports this module)

        allowed = allowed_actions(req.status, roles_of(is_owner=True, is_coordinator=principal.is_coordinator),
                                  req.urgency)
        detail = f"A request in state {req.status} cannot be withdrawn"
        if "cancel" in allowed:
            detail += (f"; an active emergency reported by mistake is cancelled with POST /v1/requests/{req.id}/cancel"
                       " and a reason")
        raise conflict(f"{detail}; allowed now: {', '.join(allowed) or 'nothing'}.", allowed=allowed,
                       status_now=req.status)
    if req.status != Status.withdrawn:
        previous = req.status
        req.status = Status.withdrawn.value
        session.flush()
        _after_change(session, req, events.REQUEST_WITHDRAWN, principal, {"from": previous})
    return req


def _after_change(
    session: Session, req: SiteRequest, kind: str, principal: Principal | None, extra: dict[str, Any] | None = None
) -> None:
    """Everything that follows a change of a request, in the same transaction: the outbox event, then
    each domain's ``hooks.after_request_change`` (conflicts, slots, ...)."""
    events.emit(
        session, kind, request_id=req.id, organisation_id=principal.org_id if principal else None,
        payload={"status": req.status, "title": req.title, **(extra or {})},
    )
    for module in modules("hooks"):
        hook = getattr(module, "after_request_change", None)
        if hook is not None:
            hook(session, req, kind, principal)


# --- public titles -------------------------------------------------------------------------------

PUBLIC_TITLE_BATCH = 500  # requests scrubbed again per transaction


@dataclass
class TitleRefresh:
    """One batch of :func:`refresh_public_titles`."""

    refreshed: int = 0  # rows now on the current scrubbing rules
    changed: int = 0  # of them, those whose public title reads differently now
    last_id: uuid.UUID | None = None  # where the next batch goes on
    done: bool = True  # no stale row left after this batch (as far as the order of ids goes)


def refresh_public_titles(session: Session, *, limit: int = PUBLIC_TITLE_BATCH,
                          after: uuid.UUID | None = None) -> TitleRefresh:
    """Scrub again, with this code's rules (``SCRUB_REVISION``), up to ``limit`` stored public titles made with
    older ones, the next after the id ``after``. Not a change of the requests: no event, no new version or
    ``updated_at``. The caller commits, then calls again with ``after=result.last_id`` until ``result.done``."""
    from service.feeds.common import SCRUB_REVISION  # pure; imported here so the foundation loads no domain

    rows = repository.stale_public_titles(session, SCRUB_REVISION, limit, after)
    titles = [(rid, public_title_of(title)) for rid, title, _ in rows]
    refreshed = repository.set_public_titles(session, SCRUB_REVISION, titles)
    changed = sum(1 for (_, _, old), (_, new) in zip(rows, titles, strict=True) if old != new)
    return TitleRefresh(refreshed=refreshed, changed=changed, last_id=rows[-1][0] if rows else after,
                        done=len(rows) < limit)


# --- lists --------------------------------------------------------------------------------------


def encode_cursor(created_at: datetime, request_id: uuid.UUID) -> str:
    return cursors.encode([created_at.isoformat(), str(request_id)])


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created, rid = cursors.decode(cursor, 2)
    try:
        return datetime.fromisoformat(created), uuid.UUID(rid)
    except (ValueError, TypeError, AttributeError) as exc:
        raise cursors.refused() from exc


def parse_bbox(bbox: str | None, service_area: tuple[float, float, float, float] = GeometryLimits.service_area,
               ) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat``; 422 ``bbox`` for anything else, also for one that misses the service area
    (default: Germany) but would lie in it read as ``minlat,minlon,maxlat,maxlon``, as geometries are told."""
    if bbox is None:
        return None
    try:
        parts = tuple(float(p) for p in bbox.split(","))
    except ValueError as exc:
        raise InvalidField("bbox", "must be four numbers: minlon,minlat,maxlon,maxlat") from exc
    if len(parts) != 4:
        raise InvalidField("bbox", "must be four numbers: minlon,minlat,maxlon,maxlat")
    x0, y0, x1, y1 = parts
    if not all(map(_finite, parts)) or not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InvalidField("bbox", "must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90")
    ax0, ay0, ax1, ay1 = service_area
    if (x1 < ax0 or x0 > ax1 or y1 < ay0 or y0 > ay1) and ax0 <= y0 and y1 <= ax1 and ay0 <= x0 and x1 <= ay1:
        a, b, c, d = (p.strip() for p in bbox.split(","))
        raise InvalidField("bbox", f"{bbox} lies outside the service area {ax0:g},{ay0:g},{ax1:g},{ay1:g}; it looks "
                           f"like lat/lon: the order is minlon,minlat,maxlon,maxlat ({b},{a},{d},{c})")
    return parts  # type: ignore[return-value]


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))


def list_page(
    session: Session, principal: Principal, *, bbox: str | None, start: date | None, end: date | None,
    statuses: list[str], kinds: list[str], owners: list[uuid.UUID], cursor: str | None, limit: int,
    external_id: str | None = None, pending_change: bool | None = None,
) -> tuple[list[str], str | None]:
    """One page of public summaries, each a GeoJSON Feature already serialised by PostgreSQL. ``external_id``
    matches the caller's own requests only (a coordinator's: any): external ids are internal to their owner.
    ``pending_change`` (true: with a change after approval waiting for a decision, false: without) likewise."""
    if start and end and end < start:
        raise InvalidField("end", "is before start")
    if external_id is not None:
        external_id = _external_id_of(external_id)
        if external_id is None:
            raise InvalidField("external_id", "is blank: give the external id to find, or leave the parameter out")
    rows = repository.list_summaries(
        session, viewer_org=None if principal.is_coordinator else principal.org_id, bbox=parse_bbox(bbox),
        start=start, end=end, statuses=statuses, kinds=kinds, owners=owners, external_id=external_id,
        after=decode_cursor(cursor) if cursor else None, limit=limit + 1, pending_change=pending_change,
    )
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return [r.feature for r in rows[:limit]], next_cursor


# --- import -------------------------------------------------------------------------------------


def _validation_errors(exc: ValidationError, prefix: str) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        path = prefix
        for p in err["loc"]:
            path += f"[{p}]" if isinstance(p, int) else f".{p}"
        msg = err["msg"].removeprefix("Value error, ")
        out.append({"field": path, "detail": msg})
    return out


@dataclass
class _Feature:
    """One feature of an import: its report line and, once read, its body and the features of the file it names
    (``refs``, by index)."""

    index: int
    result: ImportResult
    from_id: bool = False
    body: RequestWrite | None = None  # None: refused as it was read
    refs: set[int] = field(default_factory=set)

    @property
    def prefix(self) -> str:
        return f"features[{self.index}]"

    def errors(self, exc: Problem, deferred: Deferred | None = None) -> list[dict[str, Any]]:
        """The errors of ``exc`` naming this feature's fields (positions in ``after`` / ``bundle_with`` as sent)."""
        def name(f: str) -> str:
            return _id_field(_feature_field(self.prefix, deferred.sent_field(f) if deferred else f), self.prefix,
                             self.from_id)
        return [{**e, "field": name(e.get("field", ""))} for e in (exc.errors or [])] or [
            {"field": self.prefix, "detail": exc.detail or exc.title}]


class _Relink(Exception):
    """A pass of an import whose links (phase two) refused features: it is rolled back and run again without them."""

    def __init__(self, failed: dict[int, list[dict[str, Any]]]) -> None:
        super().__init__(f"{len(failed)} features")
        self.failed = failed


def import_features(
    session: Session, principal: Principal, collection: Any, settings: Settings, *, atomic: bool
) -> ImportReport:
    """Store the features of a FeatureCollection, each answered ``stored``, ``existing`` (stored before under its
    external id with the same content) or ``refused``. A feature may name others of the same file by external id
    in ``after`` and ``bundle_with``: the features are stored in an order that stores the ones named first where
    it can (file order otherwise); a name that still points ahead (a circle) is linked once all are stored, in the
    same transaction, checked as a PATCH would. When that refuses a feature, the pass is rolled back and run again
    without it (a feature naming it is then refused too), so what is reported stored is stored as reported."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidField("type", "the body must be a GeoJSON FeatureCollection")
    _check_crs(collection, "")
    features = collection.get("features")
    if not isinstance(features, list):
        raise InvalidField("features", "must be an array of GeoJSON Features")
    items = [_read_feature(i, feature) for i, feature in enumerate(features)]
    in_file: dict[str, int] = {}  # external id -> the first feature of the file with it
    for item in items:
        if item.body is not None and item.body.external_id:
            in_file.setdefault(item.body.external_id, item.index)
    for item in items:
        if item.body is not None:
            named = [e.request for e in item.body.after] + list(item.body.bundle_with)
            item.refs = {in_file[r] for r in named if isinstance(r, str) and r in in_file} - {item.index}
    order = _creation_order(items)
    excluded: dict[int, list[dict[str, Any]]] = {}
    while True:
        try:
            with session.begin_nested():
                failed = _import_pass(session, principal, items, order, in_file, excluded, settings)
                if failed and not atomic:
                    raise _Relink(failed)
        except _Relink as exc:
            excluded.update(exc.failed)
            continue
        break
    results = [item.result for item in items]
    stored = sum(r.status == "stored" for r in results)
    existing = sum(r.status == "existing" for r in results)
    report = ImportReport(atomic=atomic, stored=stored, existing=existing, refused=len(results) - stored - existing,
                          results=results)
    if atomic and report.refused:
        invalid = [e for r in report.results for e in r.errors]  # before the stored ones are marked "not stored"
        rolled_back = {r.id for r in report.results if r.status == "stored"}
        for r in report.results:
            if r.existing_id in rolled_back:  # a duplicate of an earlier feature of this import: not stored either
                r.existing_id = None
            if r.status == "stored":
                r.status, r.id = "refused", None
                r.errors = [{"field": f"features[{r.index}]", "detail": "not stored: the atomic import failed"}]
        report.stored, report.refused = 0, len(results) - existing
        raise Problem(422, "Import refused", "At least one feature is invalid; with atomic=true nothing was stored.",
                      type_="import-refused", errors=invalid, report=report.model_dump(mode="json"))
    return report


def _read_feature(i: int, feature: Any) -> _Feature:
    """A feature of an import read into its write body, or its report line refused with the reasons."""
    item = _Feature(index=i, result=ImportResult(index=i, status="refused"))
    prefix, result = item.prefix, item.result
    try:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InvalidField(prefix, "is not a GeoJSON Feature")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise InvalidField(f"{prefix}.properties", "must be a JSON object")
        props, item.from_id = _feature_external_id(feature, props, prefix)
        result.external_id = _external_id_of(props.get("external_id"))
        _check_crs(feature, f"{prefix}.")  # after the external id: the report names the refused feature by it
        item.body = RequestWrite.model_validate({**props, "geometry": feature.get("geometry")})
    except ValidationError as exc:
        result.errors = [{**e, "field": _id_field(
            e["field"].replace(f"{prefix}.properties.geometry", f"{prefix}.geometry"), prefix, item.from_id)}
            for e in _validation_errors(exc, f"{prefix}.properties")]
    except Problem as exc:
        result.errors = item.errors(exc)
    return item


def _creation_order(items: list[_Feature]) -> list[int]:
    """The indices of the features read, each after the features of the file it names (``refs``) where it can,
    else in file order; where names go round in a circle, the first feature of it comes first."""
    waiting = {it.index: set(it.refs) for it in items if it.body is not None}
    named_by: dict[int, list[int]] = {}
    for i, refs in waiting.items():
        for j in refs:
            named_by.setdefault(j, []).append(i)
    ready = [i for i, refs in waiting.items() if not (refs & waiting.keys())]
    heapq.heapify(ready)
    order: list[int] = []
    left = set(waiting)
    while left:
        i = heapq.heappop(ready) if ready else min(left)  # none ready: a circle, broken at its first feature
        if i not in left:
            continue
        left.discard(i)
        order.append(i)
        for k in named_by.get(i, []):
            if k in left and not (waiting[k] & left):
                heapq.heappush(ready, k)
    return order


def _import_pass(session: Session, principal: Principal, items: list[_Feature], order: list[int],
                 in_file: dict[str, int], excluded: dict[int, list[dict[str, Any]]],
                 settings: Settings) -> dict[int, list[dict[str, Any]]]:
    """One pass of an import: each feature read is stored, found ``existing`` or refused (those ``excluded`` by
    an earlier pass are refused with their errors); then the names that pointed ahead are linked. Returns the
    features that linking refused (index: errors)."""
    done: set[int] = set()  # features this pass has dealt with
    created: set[uuid.UUID] = set()
    later: list[tuple[_Feature, SiteRequest]] = []

    def lookup(external_id: str, field_name: str) -> uuid.UUID | None:
        found = repository.get_by_external_id(session, principal.org_id, external_id)
        if found is not None:
            return found.id
        j = in_file.get(external_id)
        if j is not None and j not in done:
            return None  # a feature of this file not stored yet: linked once it is
        if j is not None:
            raise InvalidField(field_name, f"external_id {external_id!r} names features[{j}] of this file, "
                               "which was not stored")
        raise InvalidField(field_name, f"no request of your organisation has external_id {external_id!r} (stored "
                           "or in this file)")

    for i in order:
        item = items[i]
        assert item.body is not None
        item.result = result = ImportResult(index=i, status="refused", external_id=item.result.external_id)
        if i in excluded:
            result.errors = excluded[i]
            done.add(i)
            continue
        deferred = None
        try:
            stored = (repository.get_by_external_id(session, principal.org_id, item.body.external_id)
                      if item.body.external_id else None)
            if stored is not None and stored.id not in created:  # stored before this import
                result.existing_id = stored.id
                _check_same_content(session, principal, item, stored, lookup, settings)
                result.status = "existing"
            else:
                data, deferred = resolve_refs(session, principal.org_id, item.body.model_dump(mode="python"), lookup)
                body = item.body.model_copy(update={"after": [PredecessorRef(**e) for e in data["after"]],
                                                    "bundle_with": data["bundle_with"]})
                with session.begin_nested():
                    req, warnings = create(session, principal, body, settings, source="import")
                created.add(req.id)
                result.status, result.id, result.warnings = "stored", req.id, warnings
                if deferred:
                    later.append((item, req))
        except Problem as exc:
            result.errors = item.errors(exc, deferred)
            if exc.extra.get("existing_id"):  # a retry after a lost answer: the id stored the first time
                result.existing_id = uuid.UUID(exc.extra["existing_id"])
        done.add(i)

    failed: dict[int, list[dict[str, Any]]] = {}
    for item, req in sorted(later, key=lambda x: x[0].index):
        try:
            _link_later(session, principal, req, item.body, lookup, settings)  # type: ignore[arg-type]
        except Problem as exc:
            failed[item.index] = item.errors(exc)
            item.result.status, item.result.id, item.result.errors = "refused", None, failed[item.index]
    return failed


def _check_same_content(session: Session, principal: Principal, item: _Feature, stored: SiteRequest,
                        lookup: RefLookup, settings: Settings) -> None:
    """A feature whose external id names a request stored before: nothing to do when it has the same content (the
    fields as that request stores them: geometry validated and normalised, the requests it names by their ids; not
    its state), else refused naming the fields that differ and the request to change."""
    assert item.body is not None
    data, deferred = resolve_refs(session, principal.org_id, item.body.model_dump(mode="python"), lookup)
    current = _current_body(stored)
    differ = [k for k in RequestWrite.model_fields if k not in ("status", "external_id")
              and ((k == "after" and deferred.after) or (k == "bundle_with" and deferred.bundle_with)
                   or not _unchanged(k, data.get(k), current.get(k), settings, []))]
    if differ:
        raise Problem(409, "Conflict", f"external_id {stored.external_id!r} is stored with other content",
                      type_="duplicate-external-id", errors=[{"field": "external_id", "detail": (
                          f"your organisation stored request {stored.id} under this external id with other content "
                          f"({', '.join(differ)} differ): change it with PATCH /v1/requests/{stored.id}")}])


def _link_later(session: Session, principal: Principal, req: SiteRequest, body: RequestWrite, lookup: RefLookup,
                settings: Settings) -> None:
    """Give ``req`` (stored by this import) the ``after`` and ``bundle_with`` of its feature in full, now that the
    features they name ahead of it are stored: checked as a PATCH of them is (the entries given at creation were
    checked then), stored, and followed by the hooks of a change (the request is placed again with them)."""
    data, _ = resolve_refs(session, req.owner_id, body.model_dump(mode="python"), lookup)
    current = after_of(req)
    after, bundle = _after_entries(data["after"]), [str(b) for b in data["bundle_with"]]
    day = today(settings)
    window = Starts.of(req.earliest_start, req.latest_end, req.duration_days, req.status, day)
    check_after(session, principal, after, owner_id=req.owner_id, self_id=req.id, window=window,
                existing={e["request"]: (e["min_gap_days"], e["max_gap_days"]) for e in current},
                window_changed=False, day=day)
    _check_references(session, principal, {"bundle_with": bundle}, owner_id=req.owner_id, self_id=req.id,
                      existing=set(req.bundle_with or []))
    fields = [name for name, new, old in (("after", after, current), ("bundle_with", bundle, req.bundle_with or []))
              if _same(new) != _same(old)]
    with session.begin_nested():
        if "after" in fields:
            repository.replace_precedences(session, req.id, after)
        req.bundle_with = bundle
        req.updated_at = func.clock_timestamp()
        session.flush()
    _after_change(session, req, events.REQUEST_UPDATED, principal, {"fields": fields})


def _check_crs(obj: dict[str, Any], prefix: str) -> None:
    """A FeatureCollection or Feature naming a CRS other than WGS84 (GeoJSON 2008): its coordinates would be
    misread, so it is refused as a geometry naming one is."""
    try:
        check_crs(obj)
    except GeometryError as exc:
        raise InvalidField(f"{prefix}crs", exc.detail) from exc


def _feature_external_id(feature: dict[str, Any], props: dict[str, Any], prefix: str) -> tuple[dict[str, Any], bool]:
    """The properties with the request's external id: `properties.external_id`, else the Feature's `id` (RFC 7946:
    a string or a number), so a retried import finds what the first one stored. Both given and different: refused
    naming `features[i].id`. Returns the properties and whether the id came from the Feature's `id`."""
    if "id" not in feature or feature["id"] is None:
        return props, False
    fid = feature["id"]
    if isinstance(fid, bool) or not isinstance(fid, str | int | float):
        raise InvalidField(f"{prefix}.id", "must be a string or a number (RFC 7946)")
    fid, given = str(fid), props.get("external_id")
    if given is None or (isinstance(given, str) and _external_id_of(given) is None):  # absent, null or blank
        return {**props, "external_id": fid}, True
    if isinstance(given, str) and _external_id_of(given) != _external_id_of(fid):  # not a string: the schema says
        raise InvalidField(f"{prefix}.id", (
            f"differs from properties.external_id ({props['external_id']!r}): the Feature's id is the request's "
            "external_id; give one of them, or the same value in both"))
    return props, False


def _id_field(field_name: str, prefix: str, from_id: bool) -> str:
    """An error about an external id taken from the Feature's `id` names `features[i].id`."""
    if from_id and field_name == f"{prefix}.properties.external_id":
        return f"{prefix}.id"
    return field_name


def _external_id_of(value: Any) -> str | None:
    """The external id a feature's report echoes: a string, as it is stored (trimmed; blank is none). Anything
    else (a number, an object) is refused by the schema and echoed as none: the report is a JSON object of the
    types its schema names."""
    if not isinstance(value, str):
        return None
    value = trim(value)
    return value or None


def _feature_field(prefix: str, field_name: str) -> str:
    if field_name.startswith("features["):
        return field_name
    if field_name == "geometry" or field_name.startswith("geometry."):
        return f"{prefix}.{field_name}"
    return f"{prefix}.properties.{field_name}" if field_name else prefix


# --- bulk loads (CLI) ---------------------------------------------------------------------------


@dataclass
class LoadSummary:
    stored: int = 0
    repaired: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0


def load_body(
    session: Session, owner: Principal, body: dict[str, Any], settings: Settings, summary: LoadSummary, *,
    label: str, repair: bool = False, notes: list[str] | None = None, source: str,
) -> SiteRequest | None:
    """Store one request for a bulk load, counting it as stored, repaired, skipped or refused."""
    external_id = _external_id_of(body.get("external_id"))
    if external_id and repository.get_by_external_id(session, owner.org_id, external_id):
        summary.skipped += 1
        return None
    try:
        write = RequestWrite.model_validate(body)
        with session.begin_nested():
            req, _ = create(session, owner, write, settings, repair=repair, source=source)
            if notes:
                req.geometry_notes = list(req.geometry_notes or []) + notes
    except ValidationError as exc:
        summary.refused.append((label, "; ".join(f"{e['field']}: {e['detail']}" for e in _validation_errors(exc, ""))))
        return None
    except Problem as exc:
        summary.refused.append((label, exc.detail or exc.title))
        return None
    summary.stored += 1
    if req.geometry_notes:
        summary.repaired += 1
    return req
