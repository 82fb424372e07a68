"""Public open data feeds (no key): DATEX II v3, WZDx 4.2, GTFS-Realtime alerts.

Every feed answers conditional GETs (``ETag`` / ``Last-Modified`` → 304), is gzip-compressed on
``Accept-Encoding: gzip`` (app-wide middleware) and names its licence in a ``Link: <…>; rel="license"`` header.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from service.auth.dependencies import SessionDep
from service.feeds import service
from service.feeds.service import FeedFormat, Rendered
from service.kit.head import get_and_head

router = APIRouter(prefix="/feeds", tags=["feeds"])

CACHE_CONTROL = "public, max-age=60"


def _respond(rendered: Rendered, if_none_match: str | None, if_modified_since: str | None) -> Response:
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": rendered.last_modified_http,
        "Cache-Control": CACHE_CONTROL,
        "Link": f'<{rendered.license_url}>; rel="license"',
        "Access-Control-Allow-Origin": "*",
    }
    if service.not_modified(rendered, if_none_match=if_none_match, if_modified_since=if_modified_since):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def _doc(media_type: str, description: str) -> dict[int | str, dict]:
    return {200: {"description": description, "content": {media_type: {}}},
            304: {"description": "Not modified (conditional GET with If-None-Match / If-Modified-Since)"}}


@get_and_head(router, "/datex2/situations.xml", response_class=Response,
            responses=_doc("application/xml", "DATEX II v3.6 messageContainer with a SituationPublication"))
def datex2_situations(
    session: SessionDep, request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Approved and active sites (and emergency works) as DATEX II v3 situations; withdrawn ones are listed as
    cancelled in `informationManagement` for 7 days."""
    rendered = service.render(session, request.app.state.settings, FeedFormat.datex2)
    return _respond(rendered, if_none_match, if_modified_since)


@get_and_head(router, "/wzdx.geojson", response_class=Response,
            responses=_doc("application/geo+json", "WZDx 4.2 WorkZoneFeed"))
def wzdx_feed(
    session: SessionDep, request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Approved and active sites that affect the road, as a WZDx 4.2 WorkZoneFeed."""
    rendered = service.render(session, request.app.state.settings, FeedFormat.wzdx)
    return _respond(rendered, if_none_match, if_modified_since)


@get_and_head(router, "/gtfs-rt/alerts.pb", response_class=Response,
            responses=_doc("application/x-protobuf", "GTFS-Realtime FeedMessage of service alerts"))
def gtfsrt_alerts(
    session: SessionDep, request: Request,
    format: Annotated[Literal["pb", "json"], Query(description="`json`: the same message as JSON")] = "pb",  # noqa: A002
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Service alerts for sites on transit corridors (routes/stops registered by transit operators)."""
    fmt = FeedFormat.gtfsrt_json if format == "json" else FeedFormat.gtfsrt
    rendered = service.render(session, request.app.state.settings, fmt)
    return _respond(rendered, if_none_match, if_modified_since)
