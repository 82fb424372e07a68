"""Absolute links in answers, built from the service's public address (``BAUSTELLEN_PUBLIC_URL``).

Never from the request's ``Host`` header: a link built from it carried any host a caller sent, and a shared cache
keyed without ``Host`` kept and served it to everyone.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.kit.geojson import GEOJSON_MEDIA_TYPE


def public_base(request: Request) -> str:
    """The service's public address without a trailing slash."""
    return request.app.state.settings.public_url.rstrip("/")


def public_link(request: Request, **params: int | str) -> str:
    """This request's path and query (``params`` set in it) under the public address."""
    url = request.url.include_query_params(**params) if params else request.url
    return f"{public_base(request)}{url.path}" + (f"?{url.query}" if url.query else "")


def next_links(request: Request, cursor: str | None, media_type: str = GEOJSON_MEDIA_TYPE) -> list[dict[str, Any]]:
    """A cursor-paged list's ``links`` (a GeoJSON list unless ``media_type`` says otherwise): a ``next`` link to
    this request with ``cursor`` set, none on the last page (no cursor)."""
    if not cursor:
        return []
    return [{"rel": "next", "type": media_type, "href": public_link(request, cursor=cursor)}]
