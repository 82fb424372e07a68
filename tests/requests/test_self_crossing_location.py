"""A works line that crosses itself is refused with the `location` of the crossing, not its first vertex."""

from __future__ import annotations

import pytest

from tests.conftest import site_body


def test_the_location_of_a_self_crossing_line_is_the_crossing(client, city) -> None:  # noqa: ANN001
    line = {"type": "LineString", "coordinates": [[7.0, 51.4], [7.1, 51.5], [7.0, 51.5], [7.1, 51.4]]}
    r = client.post("/v1/requests", json=site_body(geometry=line), headers=city.headers)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "geometry" and "crosses or touches itself" in error["detail"], error
    assert error["location"] == pytest.approx([7.05, 51.45]), error


def test_a_line_touching_itself_names_the_touching_point(client, city) -> None:  # noqa: ANN001
    # a loop ending on the line's own start: the touching point is its end, not its first vertex
    loop = {"type": "MultiLineString", "coordinates": [
        [[7.20, 51.40], [7.21, 51.40]],
        [[7.00, 51.39], [7.00, 51.40], [7.01, 51.40], [7.01, 51.41], [7.00, 51.41], [7.00, 51.40]]]}
    r = client.post("/v1/requests", json=site_body(geometry=loop), headers=city.headers)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert "line 1 crosses or touches itself" in error["detail"], error
    assert error["location"] == pytest.approx([7.00, 51.40]), error
