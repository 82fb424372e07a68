"""Working days in North Rhine-Westphalia: every day except Sundays and NRW public holidays.

Saturday counts as a working day (the issue: "Sunday and NRW public holidays excluded").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays


@cache
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Germany(subdiv="NW", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() != 6 and day not in _holidays(day.year)


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself does not count)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    current = day
    while n > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            n -= 1
    return current


def working_days_deadline(since: datetime, n: int, tz: ZoneInfo) -> datetime:
    """When an answer due within ``n`` working days of ``since`` is late: the end (midnight, local time) of
    the ``n``-th working day after the local date of ``since``."""
    last = add_working_days(since.astimezone(tz).date(), n)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
