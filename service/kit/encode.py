"""JSON-ready values with one timestamp format everywhere: RFC 3339 in UTC with ``Z``, as pydantic writes
response models, so a plain dict answer and a model answer never differ (``…T10:00:00Z``, not ``+00:00``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:  # no stored timestamp is naive; keep a stray one as it is rather than guess
        return value.isoformat()
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_json(value: Any) -> Any:
    """``jsonable_encoder`` with timestamps as above (nested ones included)."""
    return jsonable_encoder(value, custom_encoder={datetime: rfc3339})
