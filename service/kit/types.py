"""Input types shared by the request bodies and query parameters of every domain.

- ``Day``: a calendar day in Europe/Berlin, written ``YYYY-MM-DD`` (or a ``date`` from a Python caller). Times,
  time zones and numbers are refused: "2027-03-01T00:00:00+14:00" or 1803859200 are not days of this service.
- ``WholeNumber`` / ``Number``: JSON numbers only; ``true`` or ``"60"`` are not numbers.
- ``NotBlank`` (a validator, placed after the length: ``Annotated[str, Field(max_length=300), NotBlank]``): a
  text with something visible in it, not only spaces or invisible format characters (Unicode category Cf) such
  as U+200B ZERO WIDTH SPACE or U+FEFF. ``Name`` is the usual name of 1 to 200 characters, on one line.
- ``OneLine`` (a validator, next to ``NotBlank``): a text of one line, without line breaks or other vertical white
  space (CR, LF, VT, FF, U+001C to U+001E, NEL U+0085, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR: every
  character ``str.splitlines`` breaks at). Titles and names become lines of lists and the subject of emails,
  where a line break would start a header of its own. ``flatten_lines`` turns such text (stored before the
  check) into one line.
- ``BlankIsNone`` (a validator: ``Annotated[str | None, BlankIsNone] = Field(default=None, max_length=...)``):
  an optional text where blank means "not given".
- ``Trimmed`` (a validator): the text without white space and invisible format characters at either end, for
  identifiers that are compared (" EB-1 " is "EB-1").
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


# Every character ``str.splitlines`` ends a line at, with its name for error messages.
_LINE_BREAK_NAMES = {
    "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x0b": "LINE TABULATION", "\x0c": "FORM FEED",
    "\x1c": "FILE SEPARATOR", "\x1d": "GROUP SEPARATOR", "\x1e": "RECORD SEPARATOR", "\x85": "NEXT LINE",
    "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR",
}
LINE_BREAKS = "".join(_LINE_BREAK_NAMES)
_LINE_BREAK = re.compile(f"[{re.escape(LINE_BREAKS)}]")
_BREAKS_AND_SPACE = re.compile(f"[ \\t]*[{re.escape(LINE_BREAKS)}][{re.escape(LINE_BREAKS)} \\t]*")


def line_break(value: str) -> str | None:
    """The first line break (or other vertical white space) in ``value``, or None."""
    found = _LINE_BREAK.search(value)
    return found.group() if found else None


def one_line(value: str) -> str:
    found = line_break(value)
    if found is not None:
        raise ValueError(f"must be one line, without line breaks (it holds U+{ord(found):04X} "
                         f"{_LINE_BREAK_NAMES[found]})")
    return value


def flatten_lines(value: str) -> str:
    """``value`` on one line: each run of line breaks, with the spaces and tabs around it, becomes one space."""
    return _BREAKS_AND_SPACE.sub(" ", value) if _LINE_BREAK.search(value) else value


def trim(value: str) -> str:
    """``value`` without white space and format characters (Unicode category Cf, e.g. U+200B, U+FEFF) at either
    end."""
    start, end = 0, len(value)
    while start < end and _invisible(value[start]):
        start += 1
    while end > start and _invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


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
OneLine = AfterValidator(one_line)
BlankIsNone = AfterValidator(_blank_is_none)
Trimmed = AfterValidator(trim)
Name = Annotated[str, Field(min_length=1, max_length=200), NotBlank, OneLine]
