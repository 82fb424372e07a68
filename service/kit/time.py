"""Time helpers: the service lives in Europe/Berlin; the slot grid is one day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from service.settings import Settings


def tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def now(settings: Settings) -> datetime:
    return datetime.now(tz(settings))


def today(settings: Settings) -> date:
    return now(settings).date()


def years_after(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
