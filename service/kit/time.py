"""Time helpers: the service lives in Europe/Berlin; the slot grid is one day.

Every business rule that asks "what day is it" goes through :func:`today` and :func:`now`, so that
``Settings.today`` (``BAUSTELLEN_TODAY``) can pin the calendar day for tests, training and replays.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from service.settings import Settings


def tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def now(settings: Settings) -> datetime:
    """The service's current instant: the real one, or with ``settings.today`` that day at the real time of day."""
    real = datetime.now(tz(settings))
    if settings.today is None or settings.today == real.date():
        return real
    # Wall-clock time on the pinned day (the zone gives the right offset on either side of a DST change).
    return datetime.combine(settings.today, real.time(), tzinfo=real.tzinfo)


def wall_clock(settings: Settings) -> datetime:
    """The real instant, never pinned: for bookkeeping such as when a plan run started or a worker died, and
    for comparisons with timestamps the database sets itself."""
    return datetime.now(tz(settings))


def today(settings: Settings) -> date:
    return settings.today or datetime.now(tz(settings)).date()


def years_after(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)

