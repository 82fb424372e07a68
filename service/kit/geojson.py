"""GeoJSON responses (RFC 7946) declared as ``application/geo+json``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

GEOJSON_MEDIA_TYPE = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON_MEDIA_TYPE


def geojson_response_doc(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry saying the 200 answer is GeoJSON."""
    return {200: {"description": description, "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}}}}
