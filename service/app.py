"""The FastAPI application. Nothing happens at import time: call :func:`create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth.dependencies import require_principal
from service.domains import modules
from service.kit.db import make_api_engine, make_health_engine, make_sessionmaker, ping
from service.kit.head import HeadAsGet, get_and_head
from service.kit.limits import BodySizeLimit
from service.kit.openapi import install_openapi
from service.kit.problems import Problem, install_handlers
from service.settings import Settings

DESCRIPTION = """
Slot system for construction sites in the Ruhr. Authorities submit site requests, the service finds
conflicts in space, on corridors and on diversions, assigns non-conflicting slots with a constraint
solver, notifies businesses and publishes open data feeds.

Authenticate with your organisation's API key: `Authorization: Bearer bst_...`.
Errors are RFC 9457 problem details (`application/problem+json`) naming the field that is wrong.
"""


# CORS for the origins of ``BAUSTELLEN_CORS_ORIGINS``: the methods and request headers the API reads, and the
# response headers a script needs (the ETag to send back in If-Match, where a 201 put it, when to retry, next pages).
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "Link"]
# Open data: these answer CORS themselves, to every origin (``service.feeds.endpoints``), with or without the setting.
OPEN_DATA_PREFIXES = ("/feeds/",)


class ApiCors:
    """Starlette's CORSMiddleware for the configured origins, except on the open data feeds: there it would answer a
    preflight from any other origin with 400 and replace the feeds' ``Access-Control-Allow-Origin: *``."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=CORS_METHODS,
                                   allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_EXPOSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if scope["type"] == "http" and path.startswith(OPEN_DATA_PREFIXES):
            await self.app(scope, receive, send)
        else:
            await self.cors(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_api_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine, settings)
        app.state.health_engine = make_health_engine(settings)  # never waits for a connection of the API's pool
        try:
            yield
        finally:
            engine.dispose()
            app.state.health_engine.dispose()

    app = FastAPI(title="Baustellenmanagement Ruhr", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_handlers(app)
    for module in modules("endpoints"):
        app.include_router(module.router)
        install = getattr(module, "install", None)
        if install is not None:
            install(app, settings)
    # level 5 instead of Starlette's 9: a sixth of the time for 6 % more bytes (a 180 KB tile: 5 ms, not 29 ms)
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet, routes_of=app)  # HEAD gets the headers GET has, gzip included
    if settings.cors_origins:  # outermost: the preflight, and the 413/415 of BodySizeLimit readable by the script
        app.add_middleware(ApiCors, origins=settings.cors_origins)
    install_openapi(app, key_required_by=require_principal)

    @get_and_head(app.router, "/healthz", tags=["meta"],
                  responses={503: {"description": "The database cannot be reached (`SELECT 1` failed)."}})
    def healthz() -> dict[str, str]:
        """Liveness and readiness: 200 when the API can reach its database, 503 problem details when not. Checked
        on a connection of its own, so it answers 200 while the database is up even when the API's pool is busy."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            ping(app.state.health_engine)
        except SQLAlchemyError as e:
            logging.getLogger("baustellen.api").warning("healthz: database unreachable: %s",
                                                        str(getattr(e, "orig", None) or e).strip().splitlines()[:1])
            raise Problem(503, "Service Unavailable", "Die Datenbank ist nicht erreichbar. / The database cannot "
                          "be reached.", type_="database-unavailable") from None
        return {"status": "ok"}

    return app
