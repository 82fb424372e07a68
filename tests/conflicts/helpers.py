"""Geometry helpers for conflict tests: sites placed in metres around a point in Essen (EPSG:25832)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import LineString, Point, Polygon, mapping

from service.geo import to_metric, to_wgs84

ORIGIN = to_metric(Point(7.0, 51.44))
X0, Y0 = ORIGIN.x, ORIGIN.y


def line(x: float, y: float, length: float = 100.0, *, vertical: bool = False) -> dict[str, Any]:
    """A LineString starting ``x``, ``y`` metres east/north of the origin, running east (or north)."""
    end = (X0 + x, Y0 + y + length) if vertical else (X0 + x + length, Y0 + y)
    return _rounded(mapping(to_wgs84(LineString([(X0 + x, Y0 + y), end]))))


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return _rounded(mapping(to_wgs84(Polygon([(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y0), (X0 + x1, Y0 + y1),
                                              (X0 + x0, Y0 + y1)]))))


def _rounded(obj: Any) -> Any:
    def r(c: Any) -> Any:
        if isinstance(c, tuple | list) and c and isinstance(c[0], float):
            return [round(c[0], 8), round(c[1], 8)]
        return [r(x) for x in c]

    return {"type": obj["type"], "coordinates": r(obj["coordinates"])}


def fixed(**overrides: Any) -> dict[str, Any]:
    """Overrides for a request whose window equals its duration (the slot, if any, is the window)."""
    base = {"earliest_start": "2027-04-01", "latest_end": "2027-05-30", "duration_days": 60,
            "preferred_start": None, "diversions": []}
    base.update(overrides)
    return base
