from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from service.auth.dependencies import Authenticated, SessionDep
from service.kit.compression import not_modified
from service.kit.encode import to_json
from service.kit.etags import if_none_match_matches
from service.kit.geojson import GeoJSONResponse, geojson_response_doc
from service.kit.links import next_links
from service.kit.query import KnownQueryOnly
from service.kit.types import Day
from service.requests import service
from service.requests.models import SiteRequest, Status, WorkKind
from service.requests.schemas import ImportReport, RequestPatch, RequestRead, RequestWrite

router = APIRouter(prefix="/v1/requests", tags=["requests"])


def _read_response(req: SiteRequest, *, full: bool, status_code: int = 200, warnings: list[str] | None = None,
                   location: bool = False) -> JSONResponse:
    headers = {"ETag": service.etag(req)}
    if location:
        headers["Location"] = f"/v1/requests/{req.id}"
    content = to_json(service.to_read(req, full=full, warnings=warnings))
    return JSONResponse(content, status_code=status_code, headers=headers)


@router.post("", response_model=RequestRead, status_code=201)
def create_request(
    body: RequestWrite,
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "Any unique string (a UUID): a retry with the same key and body gets the first answer instead of a second "
        "request; the same key with another body answers 422. Kept for `BAUSTELLEN_IDEMPOTENCY_KEEP_HOURS` (default "
        "24 h) after the first call; after that the key is free again and a call with it creates a new "
        "request"))] = None,
) -> Response:
    """Submit a site request. With an `Idempotency-Key` header a retry within 24 hours (the configured period)
    returns the first answer."""
    settings = request.app.state.settings
    if idempotency_key:
        status_code, content = service.create_idempotent(
            session, principal, body, settings, key=idempotency_key, raw=body.model_dump(mode="json")
        )
        return JSONResponse(content, status_code=status_code, headers={
            "Location": f"/v1/requests/{content['id']}", "ETag": f'"v{content["version"]}"'})
    req, warnings = service.create(session, principal, body, settings)
    return _read_response(req, full=True, status_code=201, warnings=warnings, location=True)


@router.get("", response_class=GeoJSONResponse, responses=geojson_response_doc("FeatureCollection of public summaries"),
            dependencies=[KnownQueryOnly])
def list_requests(
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    start: Annotated[Day | None, Query(description=(
        "Sites set up on or after this day: the slot ends on or after it (a request without a proposed, locked "
        "or approved slot: its window ends on or after it)"))] = None,
    end: Annotated[Day | None, Query(description=(
        "Sites set up on or before this day: the slot starts on or before it (a request without a proposed, "
        "locked or approved slot: its window starts on or before it)"))] = None,
    status: Annotated[list[Status], Query()] = [],  # noqa: B006
    kind: Annotated[list[WorkKind], Query()] = [],  # noqa: B006
    owner: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006
    external_id: Annotated[str | None, Query(max_length=100, description=(
        "Your organisation's own reference (exact match, without the spaces around it): finds your request "
        "stored under it. External ids are internal to their organisation: others' requests never match "
        "(coordinators: any organisation's; add `owner` to pick one)"))] = None,
    pending_change: Annotated[bool | None, Query(description=(
        "true: the requests with a change after approval waiting for a decision (`GET /v1/requests/{id}/changes` "
        "lists it), false: those without; your organisation's requests only (coordinators: any organisation's)"))
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> GeoJSONResponse:
    """Public summaries of the requests as a GeoJSON FeatureCollection, oldest first, `limit` per page (the
    `next` link carries the cursor). `start` and `end` keep the sites set up on some day between them, by the
    dates of their slot where the planner proposed one, a coordinator locked it or it was approved, else by the
    requested window (`earliest_start`..`latest_end`): the same rule as the OGC API's `datetime`
    (`/ogc/collections/sites/items`) and the map. Each item's `external_id` shows for your own requests (for
    coordinators: all); others' are null. A query parameter this operation does not know answers 422 naming it."""
    features, next_cursor = service.list_page(
        session, principal, bbox=bbox, start=start, end=end, statuses=[s.value for s in status],
        kinds=[k.value for k in kind], owners=owner, external_id=external_id, cursor=cursor, limit=limit,
        pending_change=pending_change,
    )
    links = next_links(request, next_cursor)
    return GeoJSONResponse.feature_collection(
        features, numberReturned=len(features), links=links, next_cursor=next_cursor
    )


@router.post("/import", response_model=ImportReport)
def import_requests(
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    collection: Annotated[dict[str, Any], Body(description="GeoJSON FeatureCollection; properties = write body")],
    atomic: bool = False,
) -> ImportReport:
    """Import many requests. Each feature is answered: stored or refused with the reasons.
    With `atomic=true` either all are stored or none (422 with the report).

    A Feature's `id` (a string or a number) is the request's `external_id` when `properties.external_id` is absent
    (both given and different: refused naming `features[i].id`). A feature whose external id your organisation
    already stored with the same content (the fields as stored: geometry normalised, links by id) is answered
    `existing` with `existing_id`, the request stored under it, and does not make an atomic import fail: a retry
    after a lost answer thus stores nothing twice and returns every feature's id (`id` if stored now, else
    `existing_id`). Stored with other content, it is refused (with `existing_id`; change that request with
    `PATCH /v1/requests/{id}`). The summary counts `stored`, `existing` and `refused`.

    `after[].request` and `bundle_with` may name a request by your organisation's external id, also one of another
    feature of the same file, before or after it: those are linked in the same transaction once stored (a
    feature naming one that is refused, or an unknown external id, is refused naming the field)."""
    return service.import_features(session, principal, collection, request.app.state.settings, atomic=atomic)


@router.get("/{request_id}", response_model=RequestRead,
            responses={304: {"description": "Not modified: `If-None-Match` names the current ETag"}})
def get_request(request_id: uuid.UUID, principal: Authenticated, session: SessionDep, request: Request,
                if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The request in full for its owner and coordinators; others get the public view (no contact). With
    `If-None-Match` naming its current `ETag` (weak comparison, `*` or a list of tags) the answer is 304 without
    a body."""
    req, full = service.get_visible(session, principal, request_id)
    response = _read_response(req, full=full)
    tag = response.headers["etag"]
    if if_none_match_matches(if_none_match, tag):
        return not_modified(request, {"ETag": tag}, len(response.body))
    return response


@router.patch("/{request_id}", response_model=RequestRead)
def patch_request(
    request_id: uuid.UUID,
    patch: RequestPatch,
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Change fields of your request. Requires `If-Match` with the ETag from GET (stale → 412)."""
    req, warnings = service.update(session, principal, request_id, patch, request.app.state.settings,
                                   if_match=if_match)
    return _read_response(req, full=True, warnings=warnings)


@router.delete("/{request_id}", response_model=RequestRead)
def withdraw_request(
    request_id: uuid.UUID,
    principal: Authenticated,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Withdraw your request, as `POST /v1/requests/{id}/withdraw` does. The record stays, with status
    `withdrawn`; its slot is freed. With `If-Match` (the ETag of the request as you read it, slot included) a
    request that changed since answers 412 and stays as it is. Active or completed works: 409. Withdrawing a
    withdrawn request again answers 200 and changes nothing."""
    req = service.withdraw(session, principal, request_id, if_match=if_match)
    return _read_response(req, full=True)
