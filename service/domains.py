"""The domain packages, in one place. Adding a domain means adding its name here.

Each domain has ``endpoints.router`` (and may have ``endpoints.install(app, settings)``). Optional modules:
- ``cli.register(app)`` adds commands to ``baustellen``;
- ``jobs.register(scheduler, context)`` adds APScheduler jobs to the worker process;
- ``demo.load(session, folder, settings)`` loads its part of ``examples/ruhr`` in ``baustellen demo load``, and
  ``demo.after_load(session, folder, settings)`` acts on the loaded example once every domain has loaded its part;
- ``hooks.after_request_change(session, req, kind, principal)`` reacts, in the same transaction, to every
  change of a site request (kind is the event kind, e.g. ``request.created``), and
  ``hooks.edit_warnings(session, req) -> list[str]`` adds warnings to the answer to a PATCH of a request, and
  ``hooks.read_extras(req, full=...) -> dict`` adds fields to the request's read representation (``full``: as
  the owner organisation and the coordinators read it; else as every other organisation does).
Hooks run in the order of ``DOMAINS``.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

# Order matters for hooks: slots places a new request and the workflow handles emergencies before conflicts
# are computed, so stored conflicts follow the slot the request has just been given.
DOMAINS = ("auth", "requests", "events", "slots", "workflow", "conflicts", "notices", "feeds", "map")


@cache
def modules(kind: str) -> tuple[ModuleType, ...]:
    """Import ``service.<domain>.<kind>`` for every domain that has it."""
    found = []
    for name in DOMAINS:
        try:
            found.append(importlib.import_module(f"service.{name}.{kind}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"service.{name}.{kind}":
                raise
    return tuple(found)
