"""Opaque cursors of the paged lists: the sort key of a page's last row as URL-safe base64 of a JSON array."""

from __future__ import annotations

import base64
import json
from typing import Any

from service.kit.problems import InvalidField


def encode(values: list[Any]) -> str:
    """The cursor of a row whose sort key is ``values`` (JSON types: strings, numbers)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode(cursor: str, size: int) -> list[Any]:
    """The sort key a cursor carries (``size`` values); 422 on ``cursor`` for anything this service did not hand
    out."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise refused() from exc
    if not isinstance(values, list) or len(values) != size:
        raise refused()
    return values


def refused() -> InvalidField:
    return InvalidField("cursor", "is not a cursor this service handed out")
