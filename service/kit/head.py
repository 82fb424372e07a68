"""GET routes that also answer HEAD (RFC 9110 §9.3.2), for the URLs feed readers, calendar clients and link
checkers poll. FastAPI answers HEAD with 405 unless a route lists it; listing both methods on one route
gives two OpenAPI operations with one operation id, so HEAD gets its own route, left out of the schema.
The server sends HEAD answers without their body; the headers (ETag, Content-Length, ...) are the GET's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    def register(endpoint: Callable) -> Callable:
        endpoint = router.get(path, **kwargs)(endpoint)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **kwargs)
        return endpoint

    return register
