"""What the app's gzip middleware does to a response, for endpoints that set caching headers themselves."""

from __future__ import annotations

import inspect

from fastapi import Request, Response
from fastapi.middleware.gzip import GZipMiddleware

_GZIP_DEFAULT_MINIMUM = inspect.signature(GZipMiddleware).parameters["minimum_size"].default


def gzip_adds_vary(request: Request, size: int) -> bool:
    """Whether the app's GZipMiddleware adds ``Vary: Accept-Encoding`` to a 200 with a body of ``size`` bytes: it does
    for bodies of at least its minimum size, compressed or not, and never for a 304 (no body)."""
    for middleware in request.app.user_middleware:
        if middleware.cls is GZipMiddleware:
            minimum = middleware.kwargs.get("minimum_size", middleware.args[0] if middleware.args else None)
            return size >= (_GZIP_DEFAULT_MINIMUM if minimum is None else minimum)
    return False


def not_modified(request: Request, headers: dict[str, str], size: int) -> Response:
    """304 with the headers the 200 of ``size`` bytes has (RFC 9110 15.4.5: ``ETag``, ``Cache-Control``, …), and
    the ``Vary`` the gzip middleware would add to that 200 (it adds none to a 304)."""
    vary = {"Vary": "Accept-Encoding"} if gzip_adds_vary(request, size) else {}
    return Response(status_code=304, headers={**headers, **vary})
