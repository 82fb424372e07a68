"""A PATCH that makes the window too short for the works names the field it sent, not one it left alone."""

from __future__ import annotations

import pytest

from tests.conftest import site_body


def _refused(r, field: str, *contains: str) -> None:  # noqa: ANN001
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["field"] == field, r.json()
    for text in contains:
        assert text in error["detail"], r.json()


@pytest.mark.parametrize(("patch", "field", "contains"), [
    ({"earliest_start": "2027-10-01", "preferred_start": None}, "earliest_start",
     ("window would be 61 days", "shorter than the duration of 90 days")),
    ({"latest_end": "2027-05-31", "preferred_start": None}, "latest_end",
     ("window would be 61 days", "shorter than the duration of 90 days")),
    ({"duration_days": 400}, "duration_days", ("400 days", "window of 244 days")),
    ({"earliest_start": "2027-10-01", "duration_days": 95, "preferred_start": None}, "duration_days",
     ("95 days", "window of 61 days")),
    ({"earliest_start": "2027-12-15", "preferred_start": None}, "earliest_start", ("after latest_end 2027-11-30",)),
])
def test_patch_names_the_field_it_sent(client, city, patch, field, contains) -> None:  # noqa: ANN001
    body = site_body(earliest_start="2027-04-01", latest_end="2027-11-30", duration_days=90, preferred_start=None)
    created = client.post("/v1/requests", json=body, headers=city.headers).json()
    url = f"/v1/requests/{created['id']}"
    _refused(client.patch(url, json=patch, headers={**city.headers, "If-Match": "*"}), field, *contains)
    got = client.get(url, headers=city.headers).json()
    assert (got["earliest_start"], got["latest_end"], got["version"]) == ("2027-04-01", "2027-11-30", 1)


def test_create_still_names_the_duration(client, city) -> None:  # noqa: ANN001
    body = site_body(earliest_start="2027-04-01", latest_end="2027-04-30", duration_days=60, preferred_start=None)
    _refused(client.post("/v1/requests", json=body, headers=city.headers), "duration_days",
             "60 days do not fit into the window of 30 days")
