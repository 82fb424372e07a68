"""Bodies of the conflicts domain: rule writes, the dry-run check, and conflict representations."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from service.conflicts.models import CorridorKind
from service.kit.types import Day, Name, Number, WholeNumber
from service.requests.models import Impact, Mode, Shift, Urgency, WorkKind
from service.requests.schemas import MODES

GeoJSONGeometry = dict[str, Any]


class Stop(BaseModel):
    """A GTFS stop served on the corridor. With ``lon``/``lat`` (WGS84), GTFS-RT alerts name it only for sites
    that affect it (within 300 m, or the nearest stop on either side of a closure); without, for every site on
    the corridor."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    name: str = Field(default="", max_length=200)
    lon: Number | None = Field(default=None, ge=-180, le=180)
    lat: Number | None = Field(default=None, ge=-90, le=90)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Stop:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        return self


class ZoneWrite(BaseModel):
    """A zone: at most ``capacity`` concurrent sites of impact ``min_impact`` or more inside the polygon."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "name": "Innenstadt Essen", "capacity": 3, "min_impact": "lane_reduction",
        "geometry": {"type": "Polygon", "coordinates": [[[7.005, 51.452], [7.020, 51.452], [7.020, 51.462],
                                                         [7.005, 51.462], [7.005, 51.452]]]}}})

    name: Name
    geometry: GeoJSONGeometry
    capacity: WholeNumber = Field(ge=0, le=10_000)
    min_impact: Impact = Impact.lane_reduction


class CorridorWrite(BaseModel):
    """A corridor: at most ``max_concurrent`` sites of impact ``min_impact`` or more within ``buffer_m``
    of the line at the same time, however far apart they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "name": "B224 Essen–Gladbeck", "kind": "arterial", "buffer_m": 25, "max_concurrent": 1,
        "min_impact": "full_closure", "routes": [], "stops": [],
        "geometry": {"type": "LineString", "coordinates": [[7.0085, 51.4700], [7.0001, 51.5000]]}}})

    name: Name
    kind: CorridorKind
    geometry: GeoJSONGeometry
    buffer_m: Number = Field(default=25.0, ge=0, le=1000)
    max_concurrent: WholeNumber = Field(default=1, ge=0, le=10_000)
    min_impact: Impact = Impact.lane_reduction
    routes: list[str] = Field(default_factory=list, max_length=500)
    stops: list[Stop] = Field(default_factory=list, max_length=5000)
    owner_id: uuid.UUID | None = Field(default=None, description="organisation (e.g. the transit operator) that "
                                       "may maintain routes and stops of this corridor")

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, routes: list[str]) -> list[str]:
        _refuse_repeats("routes", [(r, (i,)) for i, r in enumerate(routes)], "route")
        return routes

    @field_validator("stops")
    @classmethod
    def _unique_stops(cls, stops: list[Stop]) -> list[Stop]:
        _refuse_repeats("stops", [(s.id, (i, "id")) for i, s in enumerate(stops)], "stop")
        return stops


def _refuse_repeats(field_name: str, items: list[tuple[str, tuple[Any, ...]]], what: str) -> None:
    """GTFS ids name one route or stop each (they become informed entities of GTFS-RT alerts): a repeated id is
    an error at its second place, e.g. ``stops[1].id``."""
    first: dict[str, int] = {}
    errors = []
    for i, (value, loc) in enumerate(items):
        if value in first:
            errors.append(InitErrorDetails(
                type=PydanticCustomError("duplicate", f"repeats the {what} id of {field_name}[{first[value]}]; "
                                         "each id may appear once"),
                loc=loc, input=value))
        else:
            first[value] = i
    if errors:
        raise ValidationError.from_exception_data(field_name, errors)


class MoratoriumWrite(BaseModel):
    """No excavating works in the area during the period (dates inclusive); emergencies are exempt."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    reason: str = Field(default="", max_length=2000)
    geometry: GeoJSONGeometry
    start: Day
    end: Day


class BlackoutWrite(BaseModel):
    """No works above ``max_impact`` in the area (``geometry: null`` = the whole region) during the period."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    geometry: GeoJSONGeometry | None = None
    start: Day
    end: Day
    max_impact: Impact = Impact.none


RULE_SCHEMAS: dict[str, type[BaseModel]] = {
    "zone": ZoneWrite, "corridor": CorridorWrite, "moratorium": MoratoriumWrite, "blackout": BlackoutWrite,
}


class CheckBody(BaseModel):
    """A planned request to check without storing anything."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "geometry": {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]},
        "earliest_start": "2027-04-01", "latest_end": "2027-05-30", "impact": "full_closure", "kind": "sewer",
        "shift": "continuous"}})

    geometry: GeoJSONGeometry
    earliest_start: Day
    latest_end: Day
    duration_days: WholeNumber | None = Field(default=None, description="defaults to the whole window")
    impact: Impact
    kind: WorkKind
    shift: Shift = Shift.continuous
    urgency: Urgency = Urgency.planned
    modes: list[Mode] = Field(default_factory=list, max_length=20, description=MODES)
    diversions: list[GeoJSONGeometry] = Field(default_factory=list, max_length=50)
    replacement_routes: list[GeoJSONGeometry] = Field(default_factory=list, max_length=50)
    bundle_with: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    request_id: uuid.UUID | None = Field(default=None, description=(
        "checking a change of this stored request (of your organisation; coordinators: of any): it is left out "
        "of the comparison. With its slot's dates as earliest_start/latest_end it counts as placed in that slot, "
        "so the unchanged request is checked as its stored conflicts were computed"))


class OtherRequest(BaseModel):
    id: uuid.UUID
    title: str
    owner: dict[str, Any]
    kind: str
    impact: str
    status: str


class RuleRef(BaseModel):
    type: str
    id: uuid.UUID
    name: str


class ConflictRead(BaseModel):
    id: int | None = None
    kind: str
    hard: bool
    distance_m: float | None
    overlap: dict[str, date]
    other: OtherRequest | None = None
    rule: RuleRef | None = None
    explanation: dict[str, str]
    reason: dict[str, Any]


class CheckResult(BaseModel):
    conflicts: list[ConflictRead]
    hard: int
    opportunities: list[dict[str, Any]]
