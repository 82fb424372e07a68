"""Coordinates sent as German surveying offices write them are refused (outside the WGS84 range) with a hint at
the form they look like: ETRS89 / UTM 32N with the zone number before the easting (EPSG:4647), Gauss-Krüger (DHDN,
EPSG:31466-31469), and UTM or Gauss-Krüger with northing and easting swapped."""

from __future__ import annotations

import pytest

from service.geo import GeometryError, validate_geojson

SEND = "; send WGS84 longitude/latitude"


@pytest.mark.parametrize(("position", "hint"), [
    ([362000, 5702000], "they look like ETRS89 / UTM 32N (EPSG:25832) metres" + SEND),
    ([32362000, 5702000], "they look like ETRS89 / UTM 32N metres with the zone number 32 before the easting "
                          "(EPSG:4647)" + SEND),
    ([2570000, 5705000], "they look like Gauss-Krüger metres (DHDN zone 2, EPSG:31466)" + SEND),
    ([3370000, 5705000], "they look like Gauss-Krüger metres (DHDN zone 3, EPSG:31467)" + SEND),
    ([5702000, 362000], "they look like ETRS89 / UTM 32N (EPSG:25832) metres with northing and easting swapped "
                        "(easting comes first)" + SEND),
    ([5702000, 32362000], "with the zone number 32 before the easting (EPSG:4647) with northing and easting swapped"),
    ([5705000, 2570000], "Gauss-Krüger metres (DHDN zone 2, EPSG:31466) with northing and easting swapped"),
], ids=["utm", "utm-zone-prefix", "gauss-krueger-2", "gauss-krueger-3", "utm-swapped", "prefix-swapped",
        "gk-swapped"])
def test_survey_office_coordinates_get_a_hint(position, hint) -> None:  # noqa: ANN001
    with pytest.raises(GeometryError) as exc:
        validate_geojson({"type": "LineString", "coordinates": [position, [position[0] + 100, position[1] + 100]]})
    assert "is outside the WGS84 range (longitude first, then latitude): they look like " in exc.value.detail
    assert hint in exc.value.detail


@pytest.mark.parametrize("position", [[362000, 100], [32362000, 100], [2570000, 100], [100, 362000], [9e6, 9e6]])
def test_metres_outside_the_service_area_get_no_guess(position) -> None:  # noqa: ANN001
    with pytest.raises(GeometryError) as exc:
        validate_geojson({"type": "Point", "coordinates": position})
    assert "outside the WGS84 range" in exc.value.detail and "look like" not in exc.value.detail
