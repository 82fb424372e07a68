"""Bodies and answers of the workflow endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.kit.types import BlankIsNone, Day, NotBlank, WholeNumber
from service.requests.models import Impact, Mode, Shift
from service.requests.schemas import MODES, GeoJSONGeometry, Predecessor

# A reason of only spaces (or invisible characters) is no reason: steps that need one refuse it.
Reason = Annotated[str | None, BlankIsNone]


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    earliest_start: Day
    latest_end: Day


class ActionBody(BaseModel):
    """What a step takes: ``reason`` (contest, revoke, reject with code ``other``: required), ``reason_code``
    (reject: required; revoke: optional), ``counter_proposal`` (contest: optional window), ``start``
    (approve: approve another start than the proposed one), ``override`` (approve despite conflicts)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(default=None, max_length=5000)
    reason_code: str | None = Field(default=None, max_length=64)
    counter_proposal: Window | None = None
    start: Day | None = None
    override: bool = Field(default=False, strict=True)


class ProposeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Day
    explanation: dict[str, Any] | None = None
    reason: Reason = Field(default=None, max_length=5000)


CHANGE_AFTER = (
    "The request's precedences after the change (its predecessors, as `after` on creation): the list replaces the "
    "request's `after` when the change is approved; `[]` removes every precedence, null or left out keeps them. "
    "Validated as on creation (requests that exist for you, not this one, not withdrawn or rejected, of your own "
    "organisation, no circle, windows that can keep the order). The coordination office orders two "
    "organisations' works: a coordinator may ask for a change of any request that gives only `after` (and a "
    "`reason`). The changed works' slot is checked against the new list at once (`precedences`) and again when "
    "the change is decided: a link broken against a locked or approved slot needs `override`."
)


class ChangeBody(BaseModel):
    """A change after approval: a later ``latest_end`` and/or longer ``duration_days`` (extension), a new
    ``geometry`` (change of area), another effect on traffic: ``impact``, ``modes``, ``shift``,
    ``diversions``, ``replacement_routes`` (validated as on creation), and/or other precedences (``after``,
    replacing the request's list). A field left out keeps the request's value; ``diversions: []``,
    ``replacement_routes: []`` or ``after: []`` removes them."""

    model_config = ConfigDict(extra="forbid")

    latest_end: Day | None = None
    duration_days: WholeNumber | None = None
    geometry: GeoJSONGeometry | None = None
    impact: Impact | None = None
    modes: list[Mode] | None = Field(default=None, description=MODES)
    shift: Shift | None = None
    diversions: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    replacement_routes: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    after: list[Predecessor] | None = Field(default=None, max_length=50, description=CHANGE_AFTER)
    reason: Reason = Field(default=None, max_length=5000)


class DecisionBody(BaseModel):
    """A coordinator's decision on a change after approval: ``reason``, ``reason_code`` (reject: required) and
    ``override`` (approve: approve although the changed works now conflict with approved or locked slots or
    break a precedence against them; the slot's explanation records what was overridden)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(default=None, max_length=5000)
    reason_code: str | None = Field(default=None, max_length=64)
    override: bool = Field(default=False, strict=True)


class ReasonBody(BaseModel):
    """A step that takes only a ``reason`` (taking back a pending change)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(default=None, max_length=5000)


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=10_000), NotBlank]


class CommentRead(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    organisation: dict[str, Any]
    key_id: uuid.UUID | None
    text: str
    created_at: datetime


class HistoryEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    organisation_id: uuid.UUID | None
    key_id: uuid.UUID | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    reason_code: str | None


class ChangeRead(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    status: str
    latest_end: date | None
    duration_days: int | None
    geometry: GeoJSONGeometry | None
    impact: str | None
    modes: list[str] | None
    shift: str | None
    diversions: list[GeoJSONGeometry] | None
    replacement_routes: list[GeoJSONGeometry] | None
    after: list[Predecessor] | None = Field(default=None, description=(
        "the precedences the change gives the request (replacing its `after` when approved); null: kept"))
    reason: str | None
    start: date | None
    end: date | None
    conflicts: list[Any] = Field(description=(
        "what the change's slot meets: the other requests' slots it clashes with, and the blackouts and "
        "moratoriums it lies in (`kind` `blackout` or `moratorium`, `id`, `name`, `start`, `end`, `de`, `en`; "
        "`blocks_approval`: the old slot did not break it on these days, so the coordinator approves the change "
        "only with `override`)"))
    placement: dict[str, Any]
    precedences: list[Any] = Field(default_factory=list, description=(
        "the precedences (`after` links, either way) the change's slot broke when it was asked for, as in the "
        "409 `precedence` problem; `blocks_approval`: against a locked or approved slot, so the coordinator "
        "approves the change only with `override`"))
    warnings: list[str] = Field(default_factory=list, description=(
        "one sentence per blackout or moratorium that blocks the approval and per broken precedence, "
        "\"German / English\""))
    decision_reason: str | None
    decision_reason_code: str | None
    decided_at: datetime | None
    created_at: datetime


class ReasonCodeRead(BaseModel):
    code: str
    de: str
    en: str
    use: str


class ActionsRead(BaseModel):
    status: str
    allowed: list[str]
    deadline: dict[str, Any] | None
