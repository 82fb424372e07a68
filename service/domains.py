"""The domain packages, in one place. Each has ``endpoints.router``; some have ``cli.register(app)``
and ``jobs.register(scheduler, context)``. Adding a domain means adding its name here."""

from __future__ import annotations

import importlib
from types import ModuleType

DOMAINS = ("auth", "requests", "events", "conflicts", "slots", "workflow", "notices", "feeds", "map")


def modules(kind: str) -> list[ModuleType]:
    """Import ``service.<domain>.<kind>`` for every domain that has it."""
    found = []
    for name in DOMAINS:
        try:
            found.append(importlib.import_module(f"service.{name}.{kind}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"service.{name}.{kind}":
                raise
    return found
