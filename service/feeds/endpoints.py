"""Public open data feeds (no key): DATEX II v3, WZDx 4.2, GTFS-Realtime alerts.

Every feed answers conditional GETs (``ETag`` / ``Last-Modified`` → 304 with the headers the 200 has, ``Vary``
included), is gzip-compressed on ``Accept-Encoding: gzip`` (app-wide middleware) and names its licence in a
``Link: <…>; rel="license"`` header. Browsers may read them from any origin (CORS): each feed answers the preflight
``OPTIONS`` of a conditional GET and exposes ``ETag``, ``Last-Modified`` and ``Link`` to scripts. Other methods
answer 405 with ``Allow: GET, HEAD, OPTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from service.auth.dependencies import SessionDep
from service.feeds import service
from service.feeds.service import FeedFormat, Rendered
from service.kit.compression import gzip_adds_vary
from service.kit.head import get_and_head

router = APIRouter(prefix="/feeds", tags=["feeds"])

CACHE_CONTROL = "public, max-age=60"
ALLOW = "GET, HEAD, OPTIONS"
VARY = "Accept-Encoding"
# CORS for the answers (200 and 304): any origin may read the feed, and its scripts the validators and the licence
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Link",
}
# ... and for the preflight of a conditional GET (If-None-Match and If-Modified-Since are not CORS-safelisted)
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
    "Allow": ALLOW,
}


def _respond(request: Request, rendered: Rendered, if_none_match: str | None,
             if_modified_since: str | None) -> Response:
    """200 with the feed, or 304 with the same headers (RFC 9110 §15.4.5). Every answer carries ``Vary:
    Accept-Encoding`` once: set here unless the gzip middleware adds it to the 200."""
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": rendered.last_modified_http,
        "Cache-Control": CACHE_CONTROL,
        "Link": f'<{rendered.license_url}>; rel="license"',
        **CORS_HEADERS,
    }
    if service.not_modified(rendered, if_none_match=if_none_match, if_modified_since=if_modified_since):
        return Response(status_code=304, headers={**headers, "Vary": VARY})
    if not gzip_adds_vary(request, len(rendered.body)):
        headers["Vary"] = VARY
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def _preflight() -> Response:
    """CORS preflight (and plain OPTIONS): which methods and request headers a browser may use on the feed."""
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)


def _doc(media_type: str, description: str) -> dict[int | str, dict]:
    return {200: {"description": description, "content": {media_type: {}}},
            304: {"description": "Not modified (conditional GET with If-None-Match / If-Modified-Since)"}}


def _feed(path: str, media_type: str, description: str) -> Callable[[Callable], Callable]:
    """Register a feed: GET and HEAD, OPTIONS (CORS preflight). Any other method gets the app-wide 405, whose
    ``Allow`` names the methods of every route of the path (``service.kit.problems.allowed_methods``); a catch-all
    route of its own named POST, PUT, PATCH and DELETE as allowed to a TRACE."""

    def register(endpoint: Callable) -> Callable:
        endpoint = get_and_head(router, path, response_class=Response,
                                responses=_doc(media_type, description))(endpoint)
        router.add_api_route(path, _preflight, methods=["OPTIONS"], include_in_schema=False)
        return endpoint

    return register


@_feed("/datex2/situations.xml", "application/xml", "DATEX II v3.6 messageContainer with a SituationPublication")
def datex2_situations(
    session: SessionDep, request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Approved and active sites (and emergency works) as DATEX II v3 situations; withdrawn ones are listed as
    cancelled in `informationManagement` for 7 days."""
    rendered = service.render(session, request.app.state.settings, FeedFormat.datex2)
    return _respond(request, rendered, if_none_match, if_modified_since)


@_feed("/wzdx.geojson", "application/geo+json", "WZDx 4.2 WorkZoneFeed")
def wzdx_feed(
    session: SessionDep, request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Approved and active sites that affect the road, as a WZDx 4.2 WorkZoneFeed."""
    rendered = service.render(session, request.app.state.settings, FeedFormat.wzdx)
    return _respond(request, rendered, if_none_match, if_modified_since)


@_feed("/gtfs-rt/alerts.pb", "application/x-protobuf", "GTFS-Realtime FeedMessage of service alerts")
def gtfsrt_alerts(
    session: SessionDep, request: Request,
    format: Annotated[Literal["pb", "json"], Query(description="`json`: the same message as JSON")] = "pb",  # noqa: A002
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Service alerts for sites on transit corridors (routes/stops registered by transit operators)."""
    fmt = FeedFormat.gtfsrt_json if format == "json" else FeedFormat.gtfsrt
    rendered = service.render(session, request.app.state.settings, fmt)
    return _respond(request, rendered, if_none_match, if_modified_since)
