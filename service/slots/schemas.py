"""Bodies and responses of the slots domain."""

from __future__ import annotations

import uuid
from datetime import datetime
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
