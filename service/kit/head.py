"""GET routes that also answer HEAD (RFC 9110 §9.3.2), for the URLs feed readers, calendar clients and link
checkers poll, with a route of its own (left out of the schema: listing both methods on one route gives two
OpenAPI operations with one operation id). Every other GET route answers HEAD too, through
:class:`HeadAsGet`; a HEAD route of its own also keeps a GET's effect from HEAD (a confirmation link).
The server sends HEAD answers without their body; the headers (ETag, Content-Length, ...) are the GET's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kit.problems import app_routes, probe


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    def register(endpoint: Callable) -> Callable:
        endpoint = router.get(path, **kwargs)(endpoint)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **kwargs)
        return endpoint

    return register


def head_needs_get(app: FastAPI, scope: Scope) -> bool:
    """Whether a HEAD request at this path has no route of its own and is to be answered by the GET route that
    the router would otherwise pass over (FastAPI's routes list HEAD only where it is named)."""
    head, get = probe(scope, "HEAD"), probe(scope, "GET")
    routes = list(app_routes(app))
    for route in routes:
        if route.matches(head)[0] is Match.FULL:
            return False  # the router takes this one for HEAD
        if route.matches(get)[0] is Match.FULL:
            # a GET route first; a HEAD route of its own further on wins all the same (the router passes over a
            # route that matches the path only), a mount matching every method does not (the map's files)
            return not any(getattr(r, "methods", None) and r.matches(head)[0] is Match.FULL for r in routes)
    return False


class HeadAsGet:
    """HEAD wherever GET is served (RFC 9110 §9.3.2; a general-purpose server must support both). FastAPI's
    routes answer HEAD only where they name it (:func:`get_and_head`), and a 405 for HEAD would contradict the
    ``Allow`` header of the resource. A HEAD request without a route of its own is passed to the GET route,
    and the answer goes out with the GET's status and headers (``Content-Length`` included) but no body."""

    def __init__(self, app: ASGIApp, routes_of: FastAPI) -> None:
        self.app = app
        self.routes_of = routes_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not head_needs_get(self.routes_of, scope):
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
