"""Mapbox vector tiles (``ST_AsMVT``) for many sites: ``/tiles/{layer}/{z}/{x}/{y}.mvt``.

Layers: ``sites`` (properties id, title, status, impact, kind, owner, slot_status, start, end) and
``conflicts`` / ``opportunities`` (a line joining both sites; id, kind, site_a, site_b). The same filters
as the OGC items: ``datetime`` (slot or window), ``status``, ``kind``, ``impact``, ``owner``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.auth.dependencies import OptionalPrincipal, SessionDep
from service.map import service

router = APIRouter(prefix="/tiles", tags=["map"])
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
ListParam = Annotated[list[str] | None, Query()]


@router.get("/{layer}/{z}/{x}/{y}.mvt", response_class=Response,
            responses={200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "a Mapbox vector tile"}})
def vector_tile(
    layer: str, z: int, x: int, y: int, request: Request, session: SessionDep, principal: OptionalPrincipal,
    datetime: Annotated[str | None, Query(description="instant or interval, as in OGC items")] = None,
    status: ListParam = None, kind: ListParam = None, impact: ListParam = None, owner: ListParam = None,
) -> Response:
    settings = request.app.state.settings
    f = service.site_filter(settings, bbox=None, datetime_=datetime, status=status,
                            kind=kind if layer == "sites" else None, impact=impact, owner=owner)
    data = service.tile(session, settings, layer, service.viewer_of(principal), f, z, x, y)
    cache = "private, max-age=10" if principal is not None else "public, max-age=30"
    return Response(data, media_type=MVT_MEDIA_TYPE, headers={"Cache-Control": cache})
