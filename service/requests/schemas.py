"""Request bodies and responses. The write body is a plain JSON object; lists are GeoJSON."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from service.kit.types import BlankIsNone, Day, Name, NotBlank, OneLine, Trimmed, WholeNumber
from service.requests.models import Impact, Mode, Shift, Urgency, WorkKind

GeoJSONGeometry = dict[str, Any]

# A title people read in lists and notices: something visible, not only spaces. Days are whole numbers, not
# true/false or "3". An external id is compared as the organisation wrote it without the spaces around it
# (" EB-1 " is "EB-1"), on one line; a blank one is no external id (stored as null: it identifies nothing).
Title = Annotated[str, Field(min_length=1, max_length=300), NotBlank, OneLine]
ExternalId = Annotated[Annotated[str, Field(max_length=100), Trimmed, OneLine] | None, BlankIsNone]
Days = WholeNumber
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
    "(a coordinator's PATCH with only `after`). Sending the list replaces it; `[]` removes every precedence."
)


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
    bundle_with: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    after: list[Predecessor] = Field(default_factory=list, max_length=50, description=AFTER)
    status: Literal["draft", "submitted"] | None = None


class RequestPatch(BaseModel):
    """Any subset of the write body's fields. `null` is a value only where the write body allows it:
    `preferred_start`, `external_id` and `contact` (null removes them) and `after` (null: no precedences, as
    `[]`); for any other field null answers 422 "may not be null" (send `[]` to clear `modes` or the routes)."""

    model_config = ConfigDict(extra="forbid")

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
    bundle_with: list[uuid.UUID] | None = Field(default=None, max_length=50)
    after: list[Predecessor] | None = Field(default=None, max_length=50, description=AFTER)


class OwnerRef(BaseModel):
    id: uuid.UUID
    name: str
    kind: str


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
    slot: dict[str, Any] | None = None
    unplaced: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list, description="What was changed on the way in, e.g. Z dropped")


class ImportResult(BaseModel):
    index: int
    status: Literal["stored", "refused"]
    id: uuid.UUID | None = None
    external_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    atomic: bool
    stored: int
    refused: int
    results: list[ImportResult]
