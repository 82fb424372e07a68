"""Request bodies and responses. The write body is a plain JSON object; lists are GeoJSON."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, EmailStr, Field, PlainValidator, WithJsonSchema

from service.kit.types import BlankIsNone, Day, Name, NotBlank, OneLine, Trimmed, WholeNumber, one_line, trim
from service.requests.models import Impact, Mode, Shift, Urgency, WorkKind

GeoJSONGeometry = dict[str, Any]

# A title people read in lists and notices: something visible, not only spaces. Days are whole numbers, not
# true/false or "3". An external id is compared as the organisation wrote it without the spaces around it
# (" EB-1 " is "EB-1"), on one line; a blank one is no external id (stored as null: it identifies nothing).
MAX_EXTERNAL_ID = 100
Title = Annotated[str, Field(min_length=1, max_length=300), NotBlank, OneLine]
ExternalId = Annotated[Annotated[str, Field(max_length=MAX_EXTERNAL_ID), Trimmed, OneLine] | None, BlankIsNone]
Days = WholeNumber
# A request named in ``after`` or ``bundle_with``: its id, or the external id the writing organisation stored it
# under (trimmed as stored). A value in the form of a UUID is an id. Reads always give the id.


def _request_ref(value: Any) -> uuid.UUID | str:
    """A request's id (a UUID, also as a string), else an external id: a string, trimmed, on one line."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a request id or your organisation's external id of it (a string)")
    text = trim(value)
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    if not text:
        raise ValueError("must not be blank: give a request id or your organisation's external id of it")
    if len(text) > MAX_EXTERNAL_ID:
        raise ValueError(f"is neither a request id nor an external id (at most {MAX_EXTERNAL_ID} characters)")
    return one_line(text)


RequestRef = Annotated[uuid.UUID | str, PlainValidator(_request_ref), WithJsonSchema({"anyOf": [
    {"type": "string", "format": "uuid"}, {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_ID}]})]
REF = (
    "The request's id, or the `external_id` your organisation gave it (in `POST /v1/requests/import` also one "
    "of another feature of the same file, before or after this one); the answer names it by its id.")
MODES = (
    "The traffic the works affect (`impact` says how hard): `car`, `cycle`, `pedestrian`, `tram` (trams and "
    "Stadtbahn), `bus`, `rail` (trains: S-Bahn, Deutsche Bahn), and `transit`, which means buses and trams as it "
    "always did (on track works, kind `tram_track` or `rail`, it is read as the trams). Name `tram` and `bus` "
    "separately to say which of them the works affect: `[\"car\", \"cycle\", \"tram\", \"bus\"]` a closure that "
    "stops the trams and sends the buses on a detour, `[\"car\", \"cycle\", \"tram\"]` one the buses may pass "
    "(Linienbus frei), `[\"bus\"]` works in a bus lane beside the tram tracks. A request naming none of `tram`, "
    "`bus`, `transit` affects the buses where its works in the road close lanes. `car` or `cycle` put the works in "
    "the road (WZDx, DATEX II closures). Empty: not said."
)

# Gaps longer than the horizon a window may reach (service.settings.max_years_ahead: 10 years) mean nothing.
MAX_GAP_DAYS = 3660
AFTER = (
    "Requests this one comes after (its predecessors), e.g. a resurfacing after a utility's trench: "
    "`[{\"request\": \"<id>\", \"min_gap_days\": 0, \"max_gap_days\": 30}]`. This request starts only after the "
    "named one has ended: at least `min_gap_days` whole days lie between the other's last day and this one's first "
    "day (0, the default: the next day at the earliest), and, when `max_gap_days` is given, at most that many "
    "(null: no limit). Plans and the placement of new requests keep the order whenever both get a slot; a "
    "predecessor outside the plan counts with its slot, or, without one, with the earliest day it can end. Name "
    "requests of your own organisation; the order of two organisations' works is set by the coordination office "
    "(a coordinator's PATCH with only `after`). Sending the list replaces it; `[]` removes every precedence. "
    "`request` may also be the `external_id` your organisation gave the other request (in an import: also one "
    "of another feature of the same file); the answer names it by its id."
)
BUNDLE = ("Requests of your organisation this one is bundled with (one closure; their conflicts are lifted): their "
          "ids, or the `external_id`s your organisation gave them (in an import: also those of other features of "
          "the same file); the answer names them by their ids.")


class Predecessor(BaseModel):
    """One precedence: this request comes after ``request``."""

    model_config = ConfigDict(extra="forbid")

    request: uuid.UUID = Field(description="The request this one comes after (the predecessor).")
    min_gap_days: Annotated[WholeNumber, Field(ge=0, le=MAX_GAP_DAYS)] = Field(
        default=0, description="At least this many whole days between the predecessor's last day and this "
                               "request's first day (0: the next day at the earliest).")
    max_gap_days: Annotated[WholeNumber, Field(ge=0, le=MAX_GAP_DAYS)] | None = Field(
        default=None, description="At most this many whole days between them (null: no limit); not below "
                                  "`min_gap_days`.")


class PredecessorRef(Predecessor):
    """One precedence as written: ``request`` is the predecessor's id or your organisation's external id of it."""

    request: RequestRef = Field(description="The request this one comes after (the predecessor). " + REF)  # type: ignore[assignment]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: Annotated[str, Field(max_length=50), OneLine] | None = None
    email: EmailStr | None = None


class RequestWrite(BaseModel):
    """A site request as an authority submits it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "title": "Kanalerneuerung Rüttenscheider Straße",
                "description": "Erneuerung des Mischwasserkanals, abschnittsweise Vollsperrung.",
                "kind": "sewer",
                "impact": "full_closure",
                "modes": ["car", "cycle"],
                "shift": "continuous",
                "geometry": {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]},
                "diversions": [{"type": "LineString", "coordinates": [[7.0030, 51.4405], [7.0041, 51.4368]]}],
                "replacement_routes": [],
                "earliest_start": "2027-03-01",
                "latest_end": "2027-09-30",
                "duration_days": 60,
                "preferred_start": "2027-04-01",
                "urgency": "planned",
                "external_id": "EB-2027-0142",
                "contact": {"name": "Bauleitung", "phone": "+49 201 000000", "email": "bau@example.org"},
            }
        },
    )

    title: Title
    description: str = Field(default="", max_length=20_000)
    kind: WorkKind
    impact: Impact
    modes: list[Mode] = Field(default_factory=list, description=MODES)
    shift: Shift = Shift.continuous
    geometry: GeoJSONGeometry
    diversions: list[GeoJSONGeometry] = Field(default_factory=list, max_length=50)
    replacement_routes: list[GeoJSONGeometry] = Field(default_factory=list, max_length=50)
    earliest_start: Day
    latest_end: Day
    duration_days: Days
    preferred_start: Day | None = None
    urgency: Urgency = Urgency.planned
    external_id: ExternalId = None
    contact: Contact | None = None
    bundle_with: list[RequestRef] = Field(default_factory=list, max_length=50, description=BUNDLE)
    after: list[PredecessorRef] = Field(default_factory=list, max_length=50, description=AFTER)
    status: Literal["draft", "submitted"] | None = None


# The fields a PATCH may not set to null: those the write body cannot be without (service.requests.service
# refuses their null with 422 "may not be null"). `after` is the exception: its null has always meant `[]`.
PATCH_NOT_NULL = tuple(name for name, f in RequestWrite.model_fields.items()
                       if type(None) not in get_args(f.annotation) and name not in ("after", "status"))


def _not_nullable_in_schema(schema: dict[str, Any]) -> None:
    """The PATCH schema as the server answers: the fields of PATCH_NOT_NULL are optional but never null. (The
    model itself still reads an explicit null, so the service refuses it with its own 422 naming the field.)"""
    for name in PATCH_NOT_NULL:
        prop = schema.get("properties", {}).get(name)
        if prop is None:
            continue
        prop.pop("default", None)
        options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in prop and len(options) == 1:
            prop.pop("anyOf")
            prop.update({k: v for k, v in options[0].items() if k not in prop})


class RequestPatch(BaseModel):
    """Any subset of the write body's fields. `null` is a value only where the write body allows it:
    `preferred_start`, `external_id` and `contact` (null removes them) and `after` (null: no precedences, as
    `[]`); for any other field null answers 422 "may not be null" (send `[]` to clear `modes` or the routes)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_not_nullable_in_schema)

    title: Title | None = None
    description: str | None = Field(default=None, max_length=20_000)
    kind: WorkKind | None = None
    impact: Impact | None = None
    modes: list[Mode] | None = Field(default=None, description=MODES)
    shift: Shift | None = None
    geometry: GeoJSONGeometry | None = None
    diversions: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    replacement_routes: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    earliest_start: Day | None = None
    latest_end: Day | None = None
    duration_days: Days | None = None
    preferred_start: Day | None = None
    urgency: Urgency | None = None
    external_id: ExternalId = None
    contact: Contact | None = None
    bundle_with: list[RequestRef] | None = Field(default=None, max_length=50, description=BUNDLE)
    after: list[PredecessorRef] | None = Field(default=None, max_length=50, description=AFTER)


class OwnerRef(BaseModel):
    id: uuid.UUID
    name: str
    kind: str


# --- the slot, as a request shows it (built by service.slots.service.slot_extras, the workflow adds the counter-
# proposal): the OpenAPI document types it; every object allows further members, as explanations grow with the
# rules behind them (overrides, moves, locks).

SLOT_STATUS = Literal["proposed", "locked", "approved"]


class Texts(BaseModel):
    """One text in German and English."""

    model_config = ConfigDict(extra="allow")

    de: str
    en: str


class SlotBlocker(BaseModel):
    """What kept a site from the days before its slot (or from any slot): its starts `starts_from`..`starts_to`."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="`conflict`, `corridor`, `zone`, `precedence`, `blackout`, `moratorium`, …")
    ref: str = Field(description="The request id, or the rule (`corridor:<id>`, `zone:<id>`, …)")
    starts_from: date
    starts_to: date
    request_id: uuid.UUID | None = Field(default=None, description="kind `conflict`, `precedence`: the other site")
    request_ids: list[uuid.UUID] | None = Field(default=None, description="the sites filling a zone or corridor")
    order: Literal["after", "before"] | None = Field(default=None, description="kind `precedence`: this site's side")
    min_gap_days: int | None = None
    max_gap_days: int | None = None


class CounterProposalPlanned(BaseModel):
    """The owner's counter-proposal a plan worked with: its window, and whether the slot lies in it (`met`)."""

    model_config = ConfigDict(extra="allow")

    earliest_start: date
    latest_end: date
    met: bool


class CounterProposal(BaseModel):
    """A contested request's counter-proposal (owner and coordinators only), until a new slot is proposed."""

    model_config = ConfigDict(extra="allow")

    earliest_start: date
    latest_end: date
    reason: str | None = None
    at: datetime | None = None


class SlotExplanation(BaseModel):
    """Why the slot lies where it does. `summary` says it in German and English; the other members depend on how
    the slot came about (a plan run, the placement of a new request, a coordinator's proposal or override)."""

    model_config = ConfigDict(extra="allow")

    method: str | None = Field(default=None, description=(
        "`plan`, `incremental/<how>` (placed at once as a new request), `incremental` (moved for another one), "
        "`manual` (a coordinator's proposal)"))
    plan_id: uuid.UUID | None = None
    summary: Texts | None = None
    preferred_start: date | None = Field(default=None, description="the start the owner prefers (else the window's)")
    preferred_stated: bool | None = Field(default=None, description="whether the owner gave `preferred_start`")
    deviation_days: int | None = Field(default=None, description="days between the slot's and the preferred start")
    blockers: list[SlotBlocker] | None = Field(default=None, description="what blocked the days in between")
    counter_proposal: CounterProposalPlanned | None = None


class SlotRead(BaseModel):
    """A request's slot: inclusive days, `end - start + 1 == duration_days`."""

    model_config = ConfigDict(extra="allow")

    start: date
    end: date
    status: SLOT_STATUS = Field(description=(
        "`proposed` (by a plan run or, `provisional`, placed at once), `locked` by a coordinator, `approved`"))
    provisional: bool = Field(description="placed at once as a new request, not yet by a plan run")
    plan_id: uuid.UUID | None = None
    explanation: SlotExplanation
    counter_proposal: CounterProposal | None = Field(default=None, description=(
        "while contested: what the owner asked for instead (owner and coordinators only)"))


class NearestFeasible(BaseModel):
    """The nearest window bounds that would let the request fit."""

    model_config = ConfigDict(extra="allow")

    earliest_start: date | None = None
    latest_end: date | None = None


class WindowPart(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class UnplacedRead(BaseModel):
    """Why a request has no slot (`slot` is null)."""

    model_config = ConfigDict(extra="allow")

    reason: Texts
    detail: str | None = Field(default=None, description="the scheduler's own English wording (for support)")
    detail_text: Texts | None = None
    blocking: list[uuid.UUID] = Field(description="requests that together keep it out")
    blockers: list[SlotBlocker] | None = None
    nearest_feasible: NearestFeasible | None = None
    window_part: WindowPart | None = Field(default=None, description="where a plan period cut the window")
    counter_proposal: CounterProposalPlanned | None = None


class RequestRead(BaseModel):
    """The full request, as its owner and the coordinators see it."""

    id: uuid.UUID
    owner: OwnerRef
    status: str
    title: str
    description: str
    kind: str
    impact: str
    modes: list[str] = Field(description=MODES)
    shift: str
    geometry: GeoJSONGeometry
    diversions: list[GeoJSONGeometry]
    replacement_routes: list[GeoJSONGeometry]
    earliest_start: date
    latest_end: date
    duration_days: int
    preferred_start: date | None
    urgency: str
    external_id: str | None
    contact: Contact | None
    bundle_with: list[uuid.UUID]
    after: list[Predecessor] = Field(default_factory=list, description=AFTER)
    geometry_notes: list[str] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime
    slot: SlotRead | None = None
    unplaced: UnplacedRead | None = None
    warnings: list[str] = Field(default_factory=list, description="What was changed on the way in, e.g. Z dropped")


class ImportResult(BaseModel):
    index: int
    status: Literal["stored", "existing", "refused"] = Field(description=(
        "`stored` now (`id`); `existing`: your organisation stored a request under this external id before, with "
        "the same content (`existing_id`; nothing stored, as for a retry after a lost answer); `refused` with "
        "`errors`, also for an external id stored with other content (change that request with PATCH)"))
    id: uuid.UUID | None = None
    external_id: str | None = None
    existing_id: uuid.UUID | None = Field(default=None, description=(
        "For a feature whose external id is already stored (`existing`, or refused as stored with other content or "
        "named twice in the file): the id of the request stored under it (as the 409 of `POST /v1/requests` names "
        "it), so a retry after a lost answer learns the ids."))
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    atomic: bool
    stored: int
    existing: int = Field(default=0, description="features stored before with the same content (`existing`)")
    refused: int
    results: list[ImportResult]
