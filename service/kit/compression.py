"""What the app's gzip middleware does to a response, for endpoints that set caching headers themselves."""

from __future__ import annotations

import inspect

from fastapi import Request
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
