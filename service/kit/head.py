"""GET routes that also answer HEAD (RFC 9110 §9.3.2), for the URLs feed readers, calendar clients and link
checkers poll, with a route of its own (left out of the schema: listing both methods on one route gives two
OpenAPI operations with one operation id). Every other GET route answers HEAD too, through
``service.app.HeadAsGet``; a HEAD route of its own also keeps a GET's effect from HEAD (a confirmation link).
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
