"""Input types shared by the request bodies and query parameters of every domain.

- ``Day``: a calendar day in Europe/Berlin, written ``YYYY-MM-DD`` (or a ``date`` from a Python caller). Times,
  time zones and numbers are refused: "2027-03-01T00:00:00+14:00" or 1803859200 are not days of this service.
- ``WholeNumber`` / ``Number``: JSON numbers only; ``true`` or ``"60"`` are not numbers.
- ``NotBlank`` (a validator, placed after the length: ``Annotated[str, Field(max_length=300), NotBlank]``): a
  text with something visible in it, not only spaces or invisible format characters (Unicode category Cf) such
  as U+200B ZERO WIDTH SPACE or U+FEFF. ``Name`` is the usual name of 1 to 200 characters.
- ``BlankIsNone`` (a validator: ``Annotated[str | None, BlankIsNone] = Field(default=None, max_length=...)``):
  an optional text where blank means "not given".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_blank(value: str) -> bool:
    """Nothing visible: only white space and format characters (Unicode category Cf, e.g. U+200B, U+FEFF)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in value)


def not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be blank")
    return value


def _blank_is_none(value: str | None) -> str | None:
    return None if value is None or is_blank(value) else value


def parse_day(value: Any) -> Any:
    """A ``date`` from ``YYYY-MM-DD``; a ``date`` passes (but not a ``datetime``, which is one too)."""
    if isinstance(value, datetime):
        raise ValueError("must be a calendar day (YYYY-MM-DD) without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value} is not a valid date: {exc}") from exc
    raise ValueError("must be a calendar day written YYYY-MM-DD (a day in Europe/Berlin; no time, no number)")


Day = Annotated[date, BeforeValidator(parse_day)]
WholeNumber = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True)]  # an integer is a number too, true and "2.5" are not
NotBlank = AfterValidator(not_blank)
BlankIsNone = AfterValidator(_blank_is_none)
Name = Annotated[str, Field(min_length=1, max_length=200), NotBlank]
