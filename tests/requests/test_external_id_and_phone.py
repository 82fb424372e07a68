"""An external id is the organisation's own reference, compared without the spaces around it ("  EB-1  " is
"EB-1"; blank is none), and, like a contact's phone number, on one line. The import report echoes an external id
only as the string its schema names."""

from __future__ import annotations

import pytest

from tests.conftest import site_body
from tests.requests.test_bad_input import refused


def test_an_external_id_is_trimmed_and_compared_trimmed(client, city) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(external_id="  EB-1\t"), headers=city.headers)
    assert r.status_code == 201, r.text
    assert r.json()["external_id"] == "EB-1"
    dup = client.post("/v1/requests", json=site_body(external_id="EB-1"), headers=city.headers)
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "external_id", dup.text
    other = client.post("/v1/requests", json=site_body(external_id="EB-2"), headers=city.headers).json()
    r = client.patch(f"/v1/requests/{other['id']}", json={"external_id": " EB-1 "},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 409, r.text
    # the same id with spaces around it is no change at all
    r = client.patch(f"/v1/requests/{other['id']}", json={"external_id": "\u200bEB-2  "},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"v1"' and r.json()["external_id"] == "EB-2"


def test_a_blank_external_id_is_still_none(client, city) -> None:  # noqa: ANN001
    for blank in ("   ", "\u200b", ""):
        r = client.post("/v1/requests", json=site_body(external_id=blank), headers=city.headers)
        assert r.status_code == 201 and r.json()["external_id"] is None, r.text


@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\u2028"])
def test_line_breaks_in_an_external_id_or_a_phone_number_are_refused(client, city, brk) -> None:  # noqa: ANN001
    refused(client.post("/v1/requests", json=site_body(external_id=f"EB{brk}1"), headers=city.headers),
            "external_id", contains="one line")
    contact = {"name": "Bauleitung", "phone": f"+49 201{brk}Bcc: x@example.org"}
    refused(client.post("/v1/requests", json=site_body(contact=contact), headers=city.headers),
            "contact.phone", contains="one line")
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    refused(client.patch(created.headers["location"], json={"contact": contact},
                         headers={**city.headers, "If-Match": '"v1"'}), "contact.phone")
    refused(client.patch(created.headers["location"], json={"external_id": f"EB{brk}1"},
                         headers={**city.headers, "If-Match": '"v1"'}), "external_id")


def test_the_import_report_echoes_only_string_external_ids(client, city) -> None:  # noqa: ANN001
    body = site_body()
    geometry = body.pop("geometry")
    ids = [123, {"x": 1}, ["a"], True, "  EB-7  ", "   ", None]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geometry, "properties": {**body, "external_id": value}} for value in ids]}
    r = client.post("/v1/requests/import", json=fc, headers=city.headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["refused"] * 4 + ["stored"] * 3
    assert [x["external_id"] for x in results] == [None, None, None, None, "EB-7", None, None]
    assert all(x["errors"][0]["field"] == f"features[{i}].properties.external_id"
               for i, x in enumerate(results[:4])), results
    atomic = client.post("/v1/requests/import", params={"atomic": "true"}, json=fc, headers=city.headers)
    assert atomic.status_code == 422
    assert [x["external_id"] for x in atomic.json()["report"]["results"]] == [None, None, None, None, "EB-7", None,
                                                                               None]
