"""Query strings as strictly as bodies: a parameter the endpoint does not know answers 422 naming it, so a typo
(`?stauts=approved`) is not read as "no filter" and answered with everything.

Add ``dependencies=[KnownQueryOnly]`` to a route; the known names are the route's own query parameters (its
dependencies' too), so a parameter added to the endpoint is known at once. The OGC API's items list uses it too,
its route class answering 400 instead (OGC API Features /req/core/query-param-unknown; ``service.map.ogc``); the
feeds keep their own rules and do not use it."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from service.kit.problems import Problem


def _query_names(dependant: Any) -> set[str]:
    """The query parameters an endpoint reads, its dependencies' included."""
    names = {p.alias for p in getattr(dependant, "query_params", None) or []}
    for dep in getattr(dependant, "dependencies", None) or []:
        names |= _query_names(dep)
    return names


def known_query_only(request: Request) -> None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        allowed = ", ".join(f"`{n}`" for n in sorted(known)) or "none"
        raise Problem(
            422, "Unknown query parameter",
            f"{', '.join(repr(n) for n in unknown)}: not a query parameter of this operation (known: {allowed}).",
            type_="unknown-query-parameter",
            errors=[{"field": name, "detail": f"unknown query parameter; known: {allowed}"} for name in unknown],
        )


KnownQueryOnly = Depends(known_query_only)
