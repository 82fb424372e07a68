"""``service.kit.encode.to_json`` takes a fast path for plain values; it must answer exactly what FastAPI's
``jsonable_encoder`` (with RFC 3339 timestamps) answered, for every type the callers pass."""

from __future__ import annotations

import dataclasses
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from service.kit import encode
from service.kit.encode import rfc3339, to_json
from tests.conflicts.helpers import line
from tests.conftest import site_body


def old_to_json(value: Any) -> Any:
    return jsonable_encoder(value, custom_encoder={datetime: rfc3339})


def same(a: Any, b: Any) -> bool:
    """Equal including types and key order (``==`` takes 1 == 1.0 == True)."""
    return repr(a) == repr(b)


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Plain(Enum):
    ONE = 1


class Model(BaseModel):
    when: datetime
    day: date
    ref: uuid.UUID
    colour: Colour


@dataclasses.dataclass
class Point:
    at: datetime
    n: Decimal


BERLIN = timezone(timedelta(hours=1))
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
VALUES = [
    None, True, False, 0, -7, 2**70, 1.5, float("nan"), float("inf"), "", "Straße „A40“ – ✓", "_sa_private",
    date(2027, 3, 1), datetime(2027, 3, 1, 7, 30, tzinfo=UTC), datetime(2027, 3, 1, 7, 30, 0, 123456, tzinfo=BERLIN),
    datetime(2027, 3, 1, 7, 30), UID, Decimal("1"), Decimal("1.50"), Decimal("1E+2"), Decimal("NaN"),
    Colour.RED, Level.HIGH, Plain.ONE, timedelta(days=2, seconds=3),
    Model(when=datetime(2027, 3, 1, 7, tzinfo=BERLIN), day=date(2027, 3, 1), ref=UID, colour=Colour.RED),
    Point(at=datetime(2027, 3, 1, tzinfo=BERLIN), n=Decimal("2.5")),
    {"a": 1, "_sa_instance_state": object(), "b": [date(2027, 1, 1), (UID, None)], UID: "uuid key",
     Colour.RED: "enum key", 3: "int key", date(2027, 1, 2): "date key", datetime(2027, 1, 2, tzinfo=BERLIN): "ts"},
    OrderedDict(z=1, a=datetime(2027, 1, 1, tzinfo=UTC)), {1, 2}, frozenset({"x"}), (1, "two", 3.0),
    [[[{"deep": [datetime(2027, 1, 1, 23, 59, tzinfo=BERLIN), {"x": Decimal("0.1")}]}]]],
    {"type": "FeatureCollection", "features": [{"type": "Feature", "id": str(UID), "geometry": line(0, 0),
                                                 "properties": {"accepted_at": None, "overlap": {
                                                     "start": date(2027, 1, 1), "end": date(2027, 2, 1)}}}]},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_to_json_answers_as_jsonable_encoder(value: Any) -> None:
    assert same(to_json(value), old_to_json(value))


def test_to_json_of_every_api_answer_is_unchanged(client, city, utility, coordinator, monkeypatch) -> None:  # noqa: ANN001
    """Every answer the API builds with ``to_json`` on the way, compared with the old encoder's."""
    checked = []

    def both(value: Any) -> Any:
        new = encode.to_json(value)
        assert same(new, old_to_json(value)), value
        checked.append(value)
        return new

    for module in ("service.conflicts.endpoints", "service.requests.endpoints", "service.requests.service",
                   "service.slots.endpoints", "service.workflow.endpoints", "service.notices.endpoints",
                   "service.map.endpoints"):
        monkeypatch.setattr(f"{module}.to_json", both, raising=False)
    road = client.post("/v1/requests", json=site_body(kind="road_construction", geometry=line(0, 0)),
                       headers=city.headers)
    water = client.post("/v1/requests", json=site_body(kind="water", geometry=line(0, 20)), headers=utility.headers)
    assert road.status_code == water.status_code == 201
    zone = {"name": "Innenstadt", "geometry": {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.02, 51.43],
                                                                                 [7.02, 51.45], [6.99, 51.43]]]},
            "capacity": 1}
    assert client.post("/v1/zones", json=zone, headers=coordinator.headers).status_code == 201
    for path in (f"/v1/requests/{road.json()['id']}", f"/v1/requests/{road.json()['id']}/conflicts",
                 "/v1/conflicts", "/v1/opportunities", "/v1/zones"):
        for caller in (city, coordinator):
            assert client.get(path, headers=caller.headers).status_code == 200, path
    check = client.post("/v1/conflicts/check", json={k: v for k, v in site_body(geometry=line(0, 40)).items()
                                                      if k in ("geometry", "earliest_start", "latest_end",
                                                               "impact", "kind")}, headers=city.headers)
    assert check.status_code == 200, check.text
    assert len(checked) >= 10
