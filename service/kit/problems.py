"""RFC 9457 problem details for every error the API returns.

Raise :class:`Problem` (or one of its helpers) anywhere below an endpoint; the handler renders
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for validation errors,
``errors: [{"field": "geometry", "detail": "..."}]`` naming the field that is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://baustellen.ruhr/problems/"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ if type_ == "about:blank" or "://" in type_ else TYPE_BASE + type_
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class InvalidField(Problem):
    """A 422 naming the field that is wrong. ``field`` is a dotted path such as ``geometry`` or
    ``features[3].properties.latest_end``."""

    def __init__(self, field: str, detail: str, **extra: Any) -> None:
        super().__init__(
            422,
            "Invalid input",
            f"{field}: {detail}",
            type_="invalid-input",
            errors=[{"field": field, "detail": detail, **extra}],
        )
        self.field = field
        self.field_detail = detail


def not_found(what: str, ident: object) -> Problem:
    return Problem(404, "Not found", f"{what} {ident} does not exist or is not visible to you.", type_="not-found")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, type_="forbidden")


def conflict(detail: str, **extra: Any) -> Problem:
    return Problem(409, "Conflict", detail, type_="conflict", **extra)


# Seconds a caller is asked to wait (``Retry-After``) after its call gave up waiting for a lock: a plan run writes
# its proposals for minutes, so an earlier retry would most likely give up again.
BUSY_RETRY_AFTER_S = 30
# ... and after it found every connection of the API's pool in use for ``BAUSTELLEN_DB_POOL_TIMEOUT_S``: the calls
# holding them end within the lock timeout, so a connection is most likely free again in a few seconds.
POOL_RETRY_AFTER_S = 5
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a statement that waited longer than ``lock_timeout``


def lock_timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement giving up waiting for a lock (the API engine's ``lock_timeout``)."""
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def busy() -> Problem:
    """503 ``busy``: the call waited longer than ``BAUSTELLEN_API_LOCK_TIMEOUT_MS`` for rows another transaction
    holds (typically a plan run writing its proposals); its transaction was rolled back."""
    return Problem(503, "Busy", "Another job (e.g. a plan run) is writing the requests or data this call would "
                   f"change; nothing was changed. Please try again in {BUSY_RETRY_AFTER_S} seconds or later.",
                   type_="busy", headers={"Retry-After": str(BUSY_RETRY_AFTER_S)})


def pool_busy() -> Problem:
    """503 ``busy``: every connection of the API's pool stayed in use for ``BAUSTELLEN_DB_POOL_TIMEOUT_S`` (many
    calls at once, or calls waiting for locks); the call did nothing."""
    return Problem(503, "Busy", "The service is answering too many calls at once (all database connections are in "
                   f"use); nothing was changed. Please try again in {POOL_RETRY_AFTER_S} seconds or later.",
                   type_="busy", headers={"Retry-After": str(POOL_RETRY_AFTER_S)})


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as this API names fields: ``("body", "stops", 0, "lon")`` → ``stops[0].lon``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        if p.isdigit():
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out or "body"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            if loc == ("body",) and isinstance(err.get("input"), bytes | bytearray):
                # FastAPI hands over the raw bytes when the content type is not JSON
                media = request.headers.get("content-type", "none")
                return problem_response(Problem(
                    415, "Unsupported Media Type",
                    f"The body must be JSON sent with 'Content-Type: application/json' (got {media}).",
                    type_="unsupported-media-type",
                ), request)
            if err.get("type") == "json_invalid":
                at = loc[1] if len(loc) > 1 else None
                reason = (err.get("ctx") or {}).get("error", "malformed")
                errors.append({"field": "body", "detail": f"is not valid JSON: {reason}"
                               + (f" (at character {at})" if at is not None else "")})
                continue
            detail = err.get("msg", "invalid")
            if detail.startswith("Value error, "):
                detail = detail[len("Value error, ") :]
            errors.append({"field": field_path(loc), "detail": detail})
        first = errors[0] if errors else {"field": "body", "detail": "invalid"}
        problem = Problem(
            422, "Invalid input", f"{first['field']}: {first['detail']}", type_="invalid-input", errors=errors
        )
        return problem_response(problem, request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        # The session's unit of work (``kit.db.get_session``) has rolled the transaction back already.
        if lock_timed_out(exc):
            logging.getLogger("baustellen.api").info("%s %s: busy, gave up waiting for a lock", request.method,
                                                     request.url.path)
            return problem_response(busy(), request)
        raise exc  # any other database error: the last-resort 500 below (and its traceback in the log)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        # No connection was checked out, so nothing ran; a warning, not a traceback: the pool is too small for the
        # load, or calls hold their connections waiting for locks.
        logging.getLogger("baustellen.api").warning("%s %s: busy, no database connection free (%s)", request.method,
                                                    request.url.path, str(exc).splitlines()[0])
        return problem_response(pool_busy(), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last resort (Starlette still logs the traceback): the caller gets problem details, never a bare
        # text/plain 500, and the session's transaction has been rolled back by its context manager.
        problem = Problem(500, "Internal Server Error",
                          "An unexpected error occurred; nothing was changed. Please report the time of the call.",
                          type_="internal-error")
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unparsable = _unparsable_body(exc)
        if unparsable:
            return problem_response(InvalidField("body", unparsable), request)
        if exc.status_code == 405:
            return problem_response(method_not_allowed(request, exc), request)
        problem = Problem(exc.status_code, _title(exc.status_code), str(exc.detail), headers=exc.headers)
        return problem_response(problem, request)


# The order methods are named in an Allow header (RFC 9110 §10.2.1 leaves it open; this one reads naturally).
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def app_routes(app: FastAPI) -> Iterator[Any]:
    """Every route of ``app`` in the order the router tries them, each with the path, methods and dependencies
    it has as included (FastAPI keeps included routers as branches of their own and names their routes'
    effective paths in ``iter_route_contexts``; versions before that list the included routes flat)."""
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    yield from (walk(app.routes) if walk is not None else app.routes)


def _route_methods(route: Any) -> set[str]:
    methods = getattr(route, "methods", None)
    if methods:
        return set(methods)
    if isinstance(getattr(route, "app", None), StaticFiles):  # a mount serving files (the map page)
        return {"GET", "HEAD"}
    return set()  # another mount: its own app says what it allows


def probe(scope: Scope, method: str) -> Scope:
    """A scope to ask the app's routes with: the request's path seen from the application's root (a mount the
    request went through has moved ``root_path``), with another method."""
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    return {"type": "http", "path": scope["path"], "root_path": root_path, "method": method, "headers": []}


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the resource at the request's path answers: those of every route matching the path (Starlette
    names only the first one's), HEAD wherever GET is (``service.kit.head.HeadAsGet`` answers it with the GET
    route)."""
    get = probe(scope, "GET")
    methods: set[str] = set()
    for route in app_routes(app):
        match, _ = route.matches(get)
        if match is not Match.NONE:
            methods |= _route_methods(route)
    if "GET" in methods:
        methods.add("HEAD")
    return [m for m in METHOD_ORDER if m in methods] + sorted(methods.difference(METHOD_ORDER))


def method_not_allowed(request: Request, exc: StarletteHTTPException) -> Problem:
    """405 with an ``Allow`` header naming every method of the resource (RFC 9110 §15.5.6)."""
    methods = allowed_methods(request.app, request.scope)
    headers = dict(exc.headers or {})
    if methods:
        headers["Allow"] = ", ".join(methods)
    allow = headers.get("Allow")
    detail = f"{request.method} is not allowed here" + (f"; allowed: {allow}." if allow else ".")
    return Problem(405, "Method Not Allowed", detail, headers=headers)


# FastAPI answers a body its JSON parser gives up on for another reason than a syntax error (too deeply
# nested, not UTF-8) with a bare 400 "There was an error parsing the body"; the cause tells which.
FASTAPI_BODY_ERROR = "There was an error parsing the body"
JSON_TOO_DEEP = "is not valid JSON: nested too deeply"


def _unparsable_body(exc: StarletteHTTPException) -> str | None:
    if exc.status_code != 400 or exc.detail != FASTAPI_BODY_ERROR:
        return None
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return JSON_TOO_DEEP
    if isinstance(cause, UnicodeDecodeError):
        where = f" (byte {cause.start})" if cause.encoding == "utf-8" else ""
        return f"is not valid JSON: not UTF-8 text{where}"
    return "is not valid JSON"


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
