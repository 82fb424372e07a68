"""Pure geometry helpers: GeoJSON validation, CRS transforms and the spatial conflict rules.

No web framework and no ORM in here: everything works on Shapely geometries. Geometries are stored in
EPSG:4326 (WGS84, RFC 7946) and every metric operation happens in EPSG:25832 (ETRS89 / UTM 32N).
"""

from service.geo.crs import METRIC_SRID, STORAGE_SRID, to_metric, to_wgs84
from service.geo.validation import GeometryError, GeometryLimits, ValidGeometry, check_crs, validate_geojson

__all__ = [
    "METRIC_SRID",
    "STORAGE_SRID",
    "GeometryError",
    "GeometryLimits",
    "ValidGeometry",
    "check_crs",
    "to_metric",
    "to_wgs84",
    "validate_geojson",
]
