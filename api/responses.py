"""Response classes for GeoJSON."""

from __future__ import annotations

from fastapi.responses import JSONResponse

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON
