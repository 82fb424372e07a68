"""OGC API Features (Part 1: core, GeoJSON, OpenAPI 3.0) under ``/ogc``.

A small implementation of our own rather than tipg: sites need the service's visibility rules (drafts only
for their owner and the coordinators) and ``datetime`` means "slot if there is one, else window", which a
generic table publisher cannot express. Public information only; no contact data in any collection.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from service.auth.dependencies import OptionalPrincipal, SessionDep
from service.kit.geojson import GEOJSON_MEDIA_TYPE, geojson_response_doc
from service.kit.links import public_base, public_link
from service.map import service
from service.map.schemas import CollectionDoc, Collections, Conformance, LandingPage

router = APIRouter(prefix="/ogc", tags=["ogc"])

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


@router.get("/collections/{collection_id}/items",
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


@router.get("/collections/{collection_id}/items/{feature_id}", responses=geojson_response_doc("one Feature"))
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
