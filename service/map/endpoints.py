"""The planners' map: the page at ``/map/``, its configuration and base map, OGC API Features (``/ogc``) and
vector tiles (``/tiles``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from service.auth.dependencies import OptionalPrincipal, SessionDep
from service.kit.encode import to_json
from service.kit.geojson import GEOJSON_MEDIA_TYPE, geojson_response_doc
from service.map import ogc, service, tiles
from service.map.schemas import LinkedSites, MapConfig
from service.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["map"])
router.include_router(ogc.router)
router.include_router(tiles.router)


@router.get("/map", include_in_schema=False)
def map_redirect() -> RedirectResponse:
    return RedirectResponse("/map/", status_code=308)


@router.get("/map/config.json", response_model=MapConfig)
def map_config(request: Request, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    """What the page needs to start: style URL (or offline default), data extent, filter values."""
    config = service.page_config(session, request.app.state.settings, service.viewer_of(principal))
    return JSONResponse(config, headers={"Cache-Control": "no-store"})


@router.get("/map/base.geojson", responses=geojson_response_doc("municipality outlines of the example region"))
def base_map(request: Request) -> Response:
    """Offline base map: municipality outlines of the Ruhr example (no tile server needed)."""
    return Response(service.base_map(request.app.state.settings), media_type=GEOJSON_MEDIA_TYPE,
                    headers={"Cache-Control": "public, max-age=3600"})


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the page and its scripts (MapLibre is vendored; no CDN)."""
    app.mount("/map", StaticFiles(directory=STATIC_DIR, html=True), name="map-static")


@router.get("/map/timeline/{collection_id}/{rule_id}")
def map_timeline(collection_id: str, rule_id: str, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    """Sites in a zone or on a corridor (within its buffer), for the Gantt chart: window, slot, dates."""
    data = service.timeline(session, collection_id, rule_id, service.viewer_of(principal))
    return JSONResponse(to_json(data))


@router.get("/map/linked/{request_id}", response_model=LinkedSites)
def map_linked(request_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    """The sites linked to a site by a precedence (`after`, either way) that the caller may see: after a step the
    page reads them again (a step places provisional slots that break the order with it again). 404 for a site
    the caller cannot see."""
    data = service.linked(session, request_id, service.viewer_of(principal))
    return JSONResponse(to_json(data), headers={"Cache-Control": "no-store"})
