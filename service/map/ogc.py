"""OGC API Features (Part 1: core, GeoJSON, OpenAPI 3.0) under ``/ogc``.

A small implementation of our own rather than tipg: sites need the service's visibility rules (drafts only
for their owner and the coordinators) and ``datetime`` means "slot if there is one, else window", which a
generic table publisher cannot express. Public information only; no contact data in any collection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from service.auth.dependencies import OptionalPrincipal, SessionDep
from service.kit.geojson import GEOJSON_MEDIA_TYPE, geojson_response_doc
from service.kit.links import public_base, public_link
from service.kit.problems import Problem, field_path
from service.kit.query import known_query_only
from service.map import service
from service.map.schemas import CollectionDoc, Collections, Conformance, LandingPage


class OgcRoute(APIRoute):
    """OGC API Features answers a query parameter it refuses with 400 (/req/core/query-param-invalid, and
    /req/core/query-param-unknown with :func:`known_ogc_query`), where the /v1 API answers 422: the same problem
    details (``errors`` naming the parameter), another status."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{"field": field_path(e.get("loc", ())), "detail": e.get("msg", "invalid")}
                          for e in exc.errors()] or [{"field": "query", "detail": "invalid"}]
                raise Problem(400, "Invalid query parameter", f"{errors[0]['field']}: {errors[0]['detail']}",
                              type_="invalid-input", errors=errors) from exc
            except Problem as exc:
                if exc.status == 422:  # a value the service refused (bbox, datetime, limit, status, …)
                    exc.status = 400
                raise

        return route


router = APIRouter(prefix="/ogc", tags=["ogc"], route_class=OgcRoute)

# Part 2 (Coordinate Reference Systems by Reference) is not implemented: every answer is in CRS84 and a `bbox` is
# read in CRS84. These parameters are refused (400) rather than ignored, so that coordinates in another CRS are
# never read, or answered, as longitude and latitude.
CRS_PARAMS = ("crs", "bbox-crs", "filter-crs")


FORMATS = ("json", "geojson")  # `f`: GeoJSON is the only encoding


def crs84_only(
    request: Request,
    f: Annotated[str | None, Query(description="encoding: `json` or `geojson` (GeoJSON, the only one)")] = None,
) -> None:
    """400 for the CRS parameters of Part 2, with a hint that only CRS84 is served; 400 for an `f` other than
    GeoJSON."""
    for name in CRS_PARAMS:
        if name in request.query_params:
            detail = ("only CRS84 (longitude, latitude; http://www.opengis.net/def/crs/OGC/1.3/CRS84) is served: "
                      "OGC API Features Part 2 (crs, bbox-crs) is not implemented; send `bbox` in CRS84 and leave "
                      f"`{name}` out")
            raise Problem(400, "Unknown query parameter", f"{name}: {detail}", type_="unknown-query-parameter",
                          errors=[{"field": name, "detail": detail}])
    if f is not None and f.lower() not in FORMATS:
        detail = f"unsupported encoding; one of: {', '.join(FORMATS)}"
        raise Problem(400, "Invalid query parameter", f"f: {detail}", type_="invalid-input",
                      errors=[{"field": "f", "detail": detail}])


def known_ogc_query(request: Request, _: Annotated[None, Depends(crs84_only)]) -> None:
    """400 for a query parameter the operation does not define (/req/core/query-param-unknown), naming it."""
    known_query_only(request)  # its 422 is this router's 400 (OgcRoute)


# the items list refuses every parameter it does not define (a typo is never read as "no filter"); a single item
# has no filters: it refuses only what would change its coordinates' meaning (`crs`) or encoding (`f`)
KnownOgcQuery = Depends(known_ogc_query)
Crs84Only = Depends(crs84_only)

ListParam = Annotated[list[str] | None, Query()]


@router.get("", response_model=LandingPage, include_in_schema=False)
@router.get("/", response_model=LandingPage)
def landing_page(request: Request) -> JSONResponse:
    """Landing page: links to the API definition, the conformance classes and the collections."""
    return JSONResponse(service.landing(public_base(request)))


@router.get("/conformance", response_model=Conformance)
def conformance() -> JSONResponse:
    return JSONResponse(service.conformance())


@router.get("/collections", response_model=Collections)
def collections(request: Request, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    return JSONResponse(service.collections_doc(session, public_base(request), service.viewer_of(principal)))


@router.get("/collections/{collection_id}", response_model=CollectionDoc)
def collection(collection_id: str, request: Request, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    c = service.collection(collection_id)
    return JSONResponse(service.collection_doc(session, c, public_base(request), service.viewer_of(principal)))


@router.get("/collections/{collection_id}/items", dependencies=[KnownOgcQuery],
            responses=geojson_response_doc("FeatureCollection with numberMatched, numberReturned and next link"))
def collection_items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    datetime: Annotated[str | None, Query(description="instant or interval (a/b, ../b, a/..); "
                                                      "sites: slot if proposed/locked/approved, else window")] = None,
    limit: Annotated[int | None, Query(description=f"default {service.DEFAULT_LIMIT}, at most {service.MAX_LIMIT}")]
    = None,
    offset: Annotated[int, Query(description="start at this position (the next link sets it)")] = 0,
    status: ListParam = None,
    kind: Annotated[list[str] | None, Query(description="sites: kind of work; conflicts: conflict kind")] = None,
    impact: ListParam = None,
    owner: Annotated[list[str] | None, Query(description="owner organisation name")] = None,
    site: Annotated[uuid.UUID | None, Query(description="conflicts/opportunities of this site")] = None,
) -> Response:
    settings = request.app.state.settings
    c = service.collection(collection_id)
    is_pair = c.kind == "pair"
    f = service.site_filter(settings, bbox=bbox, datetime_=datetime, status=status,
                            kind=None if is_pair else kind, impact=impact, owner=owner)
    lim = service.clamp_limit(limit)
    matched, features = service.items(
        session, settings, c, service.viewer_of(principal), f, limit=lim, offset=offset, site=site,
        conflict_kinds=service._csv(kind) if is_pair else (),
    )
    links = [
        {"rel": "self", "type": GEOJSON_MEDIA_TYPE, "href": public_link(request)},
        {"rel": "collection", "type": "application/json", "href": f"{public_base(request)}/ogc/collections/{c.id}"},
    ]
    if offset + len(features) < matched:
        links.append({"rel": "next", "type": GEOJSON_MEDIA_TYPE,
                      "href": public_link(request, offset=offset + lim, limit=lim)})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON_MEDIA_TYPE,
                      "href": public_link(request, offset=max(0, offset - lim), limit=lim)})
    body = service.feature_collection_bytes(features, matched=matched, links=links, settings=settings)
    return Response(body, media_type=GEOJSON_MEDIA_TYPE)


@router.get("/collections/{collection_id}/items/{feature_id}", dependencies=[Crs84Only],
            responses=geojson_response_doc("one Feature"))
def collection_item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    settings = request.app.state.settings
    c = service.collection(collection_id)
    feature = service.item(session, settings, c, service.viewer_of(principal), feature_id)
    # the feature comes as JSON text from PostGIS; the links are JSON-encoded (the URL is the caller's, query
    # included: written into the text as it is, a quote in it broke the document or added members)
    links = json.dumps([
        {"rel": "self", "type": GEOJSON_MEDIA_TYPE, "href": public_link(request)},
        {"rel": "collection", "type": "application/json", "href": f"{public_base(request)}/ogc/collections/{c.id}"},
    ], ensure_ascii=False)
    return Response((feature[:-1] + f', "links": {links}}}').encode(), media_type=GEOJSON_MEDIA_TYPE)
