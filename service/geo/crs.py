"""Coordinate reference systems: WGS84 for storage and exchange, UTM 32N for metres."""

from __future__ import annotations

from functools import cache

from pyproj import Transformer
from shapely import transform
from shapely.geometry.base import BaseGeometry

STORAGE_SRID = 4326
METRIC_SRID = 25832


@cache
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _apply(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    t = _transformer(src, dst)
    return transform(geom, lambda xy: _stack(t.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple) -> object:
    import numpy as np

    return np.column_stack(xy)


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    """WGS84 lon/lat → EPSG:25832 metres."""
    return _apply(geom, STORAGE_SRID, METRIC_SRID)


def to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    """EPSG:25832 metres → WGS84 lon/lat."""
    return _apply(geom, METRIC_SRID, STORAGE_SRID)


def transform_point(x: float, y: float, src: int, dst: int = STORAGE_SRID) -> tuple[float, float]:
    """One position from ``src`` to ``dst`` (WGS84 by default), x/y (longitude/latitude) order."""
    lon, lat = _transformer(src, dst).transform(x, y)
    return float(lon), float(lat)
