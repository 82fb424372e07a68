"""Bodies and answers of the workflow endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.kit.types import BlankIsNone, Day, NotBlank, WholeNumber
from service.requests.models import Impact, Mode, Shift
from service.requests.schemas import MODES, GeoJSONGeometry

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


class ChangeBody(BaseModel):
    """A change after approval: a later ``latest_end`` and/or longer ``duration_days`` (extension), a new
    ``geometry`` (change of area), and/or another effect on traffic: ``impact``, ``modes``, ``shift``,
    ``diversions``, ``replacement_routes`` (validated as on creation). A field left out keeps the request's
    value; ``diversions: []`` or ``replacement_routes: []`` removes them."""

    model_config = ConfigDict(extra="forbid")

    latest_end: Day | None = None
    duration_days: WholeNumber | None = None
    geometry: GeoJSONGeometry | None = None
    impact: Impact | None = None
    modes: list[Mode] | None = Field(default=None, description=MODES)
    shift: Shift | None = None
    diversions: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    replacement_routes: list[GeoJSONGeometry] | None = Field(default=None, max_length=50)
    reason: Reason = Field(default=None, max_length=5000)


class DecisionBody(BaseModel):
    """A coordinator's decision on a change after approval: ``reason``, ``reason_code`` (reject: required) and
    ``override`` (approve: approve although the changed works now conflict with approved or locked slots or
    break a precedence against them; the slot's explanation records what was overridden)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(default=None, max_length=5000)
    reason_code: str | None = Field(default=None, max_length=64)
    override: bool = Field(default=False, strict=True)


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
    reason: str | None
    start: date | None
    end: date | None
    conflicts: list[Any]
    placement: dict[str, Any]
    precedences: list[Any] = Field(default_factory=list, description=(
        "the precedences (`after` links, either way) the change's slot broke when it was asked for, as in the "
        "409 `precedence` problem; `blocks_approval`: against a locked or approved slot, so the coordinator "
        "approves the change only with `override`"))
    warnings: list[str] = Field(default_factory=list, description=(
        "one sentence per broken precedence, \"German / English\""))
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
