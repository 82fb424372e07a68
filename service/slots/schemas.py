"""Bodies and responses of the slots domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.kit.types import Day, Number


class PlanCreate(BaseModel):
    """What to plan: every plannable request in a bbox (or a zone) whose window overlaps [from, to]."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True,
        json_schema_extra={"example": {"bbox": [6.9, 51.4, 7.1, 51.5], "from": "2027-01-01", "to": "2028-12-31"}},
    )

    bbox: tuple[Number, Number, Number, Number] | None = Field(
        default=None, description="minlon, minlat, maxlon, maxlat (WGS84)")
    zone: str | None = Field(default=None, max_length=100, description="id of a zone instead of a bbox")
    from_: Day = Field(alias="from")
    to: Day
    dry_run: bool = Field(default=False, description=(
        "compute the plan and its statistics (and `GET /v1/plans/{id}/requests`) without writing any slot"))


class PlanRead(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    params: dict[str, Any]
    statistics: dict[str, Any] | None = None
    fcfs: dict[str, Any] | None = Field(default=None, description="the first-come-first-served baseline")
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class PlanList(BaseModel):
    """Plan runs, newest first; each run's statistics without the per-request lists."""

    items: list[PlanRead]
    next_cursor: str | None = None
    links: list[dict[str, Any]] = Field(default_factory=list, description="a `next` link while there are more")


class PlanOutcome(BaseModel):
    """A request a plan run moved (from its preferred start, or from the proposed slot it held: `previous_start`)
    or left unplaced (`reason`)."""

    outcome: Literal["moved", "unplaced"]
    request_id: uuid.UUID
    title: str | None = None
    status: str | None = Field(default=None, description="the request's status now")
    preferred_start: date | None = None
    previous_start: date | None = None
    start: date | None = None
    end: date | None = None
    deviation_days: int | None = None
    reason: dict[str, str] | None = Field(default=None, description="why it stays unplaced (de, en)")


class PlanRequests(BaseModel):
    plan_id: uuid.UUID
    plan_status: str
    counts: dict[str, int] = Field(description="`moved` and `unplaced` in the whole run")
    items: list[PlanOutcome]
    next_cursor: str | None = None
    links: list[dict[str, Any]] = Field(default_factory=list)
