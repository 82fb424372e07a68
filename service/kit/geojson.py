"""GeoJSON responses (RFC 7946) declared as ``application/geo+json``."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse, Response

GEOJSON_MEDIA_TYPE = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON_MEDIA_TYPE

    @classmethod
    def feature_collection(cls, features: list[str], **members: Any) -> Response:
        """A FeatureCollection from Features that are already JSON text (e.g. built by PostgreSQL)."""
        extra = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in members.items())
        body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]" + extra + "}"
        return Response(body, media_type=GEOJSON_MEDIA_TYPE)


def geojson_response_doc(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry saying the 200 answer is GeoJSON."""
    return {200: {"description": description, "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}}}}
