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
