"""Published geometry on the output's grid, and valid there.

The outputs write coordinates with a fixed number of decimals: GeoJSON (the request list, the OGC API, WZDx) 7
(about 1 cm), DATEX II 6 (about 10 cm). Rounding moves every vertex by up to half a grid step, and a geometry that is
valid as stored can become invalid on the grid: two parts of a MultiPolygon that lie a few millimetres apart overlap,
a ring crosses itself at a segment shorter than the grid (Karlsruhe's 2026V2418 at 6 decimals, 2024V3208 at 7).

:func:`on_grid` gives the geometry as the output writes it: the coordinates rounded to ``decimals`` exactly as the
decimal text shows them, and where that is not valid, the geometry reduced to the grid by GEOS's precision reducer
(``shapely.set_precision``: parts that would overlap merge, rings that would cross are noded), with exterior rings
counter-clockwise (RFC 7946) and the same dimension as before (a part that collapses on the grid is dropped; a
geometry that would collapse whole grows by one grid step). A geometry valid on the grid is only rounded: its vertices
and their order stay as stored. ``service.kit.spatial_sql.geojson_sql`` is the same for GeoJSON written by PostGIS
(``ST_AsGeoJSON``).
:func:`grid_coords` is the rounding itself, for outputs that write coordinate lists.

Pure: Shapely and NumPy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon
from shapely.geometry.base import BaseGeometry

GEOJSON_DECIMALS = 7  # RFC 7946 advises 6; 7 keeps about 1 cm
DATEX2_DECIMALS = 6


def _round(values: np.ndarray, decimals: int) -> np.ndarray:
    """Each value as the decimal text with ``decimals`` places reads back (correctly rounded, unlike
    ``np.round``, which scales first and can round a value near the middle the other way)."""
    flat = [float(f"{v:.{decimals}f}") for v in values.ravel().tolist()]
    return np.asarray(flat, dtype=float).reshape(values.shape)


def grid_coords(coords: Iterable[Iterable[float]], decimals: int) -> list[list[float]]:
    """Coordinate pairs rounded to ``decimals`` places (what the output writes)."""
    return [[float(f"{c[0]:.{decimals}f}"), float(f"{c[1]:.{decimals}f}")] for c in coords]


def _snapped(geom: BaseGeometry, decimals: int) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: _round(xy, decimals))


def _of_dimension(geom: BaseGeometry, dimension: int) -> BaseGeometry:
    """The parts of ``geom`` of the given dimension, as one geometry (empty when there are none)."""
    parts = [p for g in getattr(geom, "geoms", [geom]) for p in getattr(g, "geoms", [g])
             if not p.is_empty and shapely.get_dimensions(p) == dimension]
    if not parts:
        return GeometryCollection()
    if len(parts) == 1:
        return parts[0]
    multi = {0: MultiPoint, 1: MultiLineString, 2: MultiPolygon}[dimension]
    return multi(parts)


def _grown(geom: BaseGeometry, grid: float) -> BaseGeometry:
    """A geometry too small for the grid, as the smallest one of its dimension there: a line one grid step long
    from its start, an area its buffer by one grid step."""
    if shapely.get_dimensions(geom) == 1:
        x, y = shapely.get_coordinates(geom)[0]
        start = (round(x / grid) * grid, round(y / grid) * grid)
        return LineString([start, (start[0] + grid, start[1])])
    return shapely.set_precision(geom.buffer(grid), grid)


def on_grid(geom: BaseGeometry | None, decimals: int) -> BaseGeometry | None:
    """``geom`` as an output with ``decimals`` places writes it, valid, of the same dimension (see the module
    docstring). Its coordinates are those the decimal text reads back as."""
    if geom is None or geom.is_empty:
        return geom
    snapped = _snapped(geom, decimals)
    if snapped.is_valid:
        return snapped
    grid = 10.0 ** -decimals
    dimension = int(shapely.get_dimensions(geom))
    source = geom if geom.is_valid else _of_dimension(shapely.make_valid(geom), dimension)  # read at fewer decimals
    fixed = _of_dimension(shapely.set_precision(source, grid), dimension)
    if fixed.is_empty:
        fixed = _of_dimension(_grown(geom, grid), dimension)
    fixed = _snapped(fixed, decimals)
    if dimension == 2:
        fixed = shapely.orient_polygons(fixed)
    if not fixed.is_valid:  # the decimal text moved a vertex by a last digit: make it valid, keeping the dimension
        fixed = _of_dimension(shapely.make_valid(fixed), dimension)
    return fixed


def is_on_grid(geom: BaseGeometry, decimals: int) -> bool:
    """Whether every coordinate of ``geom`` is one the output writes as it is."""
    xy = shapely.get_coordinates(geom)
    return bool(np.array_equal(xy, _round(xy, decimals)))
