"""JSON-ready values with one timestamp format everywhere: RFC 3339 in UTC with ``Z``, as pydantic writes
response models, so a plain dict answer and a model answer never differ (``…T10:00:00Z``, not ``+00:00``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi.encoders import decimal_encoder, jsonable_encoder


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:  # no stored timestamp is naive; keep a stray one as it is rather than guess
        return value.isoformat()
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_CUSTOM = {datetime: rfc3339}
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _slow(value: Any) -> Any:
    return jsonable_encoder(value, custom_encoder=_CUSTOM)


def _encode(value: Any) -> Any:
    """What ``_slow`` gives, without its per-value checks for the exact built-in types lists are made of (a
    list of 10,000 features spent 3 s there); any other type (enums, models, sets, subclasses) goes to it."""
    t = type(value)
    if t in _AS_IS:
        return value
    if t is dict:
        # jsonable_encoder drops keys starting with "_sa" (SQLAlchemy's state) and encodes keys like values
        return {(k if type(k) is str else _encode(k)): _encode(v) for k, v in value.items()
                if not (isinstance(k, str) and k.startswith("_sa"))}
    if t is list or t is tuple:
        return [_encode(v) for v in value]
    if t is datetime:
        return rfc3339(value)
    if t is date:
        return value.isoformat()
    if t is uuid.UUID:
        return str(value)
    if t is Decimal:
        return decimal_encoder(value)
    return _slow(value)


def to_json(value: Any) -> Any:
    """``jsonable_encoder`` with timestamps as above (nested ones included); plain dicts, lists, strings,
    numbers, dates and UUIDs take a fast path with the same result."""
    return _encode(value)
