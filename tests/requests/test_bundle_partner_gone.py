"""A bundle partner withdrawn or rejected after it was bundled stays in ``bundle_with`` (holding nothing, as a
precedence does) and does not block the other request's changes: only entries added by a PATCH are checked."""

from __future__ import annotations

import pytest

from tests.conftest import site_body
from tests.requests.test_bad_input import refused


def _pair(client, city) -> tuple[dict, dict]:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers)
    b = client.post("/v1/requests", json=site_body(bundle_with=[a.json()["id"]]), headers=city.headers)
    assert b.status_code == 201, b.text
    return a.json(), b.json()


@pytest.mark.parametrize("how", ["withdrawn", "rejected"])
def test_a_patch_of_the_other_request_is_taken(client, city, coordinator, how) -> None:  # noqa: ANN001
    a, b = _pair(client, city)
    if how == "withdrawn":
        assert client.delete(f"/v1/requests/{a['id']}", headers=city.headers).status_code == 200
    else:
        r = client.post(f"/v1/requests/{a['id']}/reject", json={"reason_code": "incomplete_information"},
                        headers=coordinator.headers)
        assert r.status_code == 200, r.text
    url = f"/v1/requests/{b['id']}"
    etag = client.get(url, headers=city.headers).headers["etag"]
    r = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Neu"
    assert r.json()["bundle_with"] == [a["id"]], "the partner stays listed"
    # sending the list as it is, or with a new partner beside it, is taken too
    c = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    r = client.patch(url, json={"bundle_with": [a["id"], c["id"]]},
                     headers={**city.headers, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["bundle_with"] == [a["id"], c["id"]]


def test_a_withdrawn_partner_cannot_be_added_anew(client, city) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    b = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    client.delete(f"/v1/requests/{a['id']}", headers=city.headers)
    r = client.patch(f"/v1/requests/{b['id']}", json={"bundle_with": [a["id"]]},
                     headers={**city.headers, "If-Match": '"v1"'})
    refused(r, "bundle_with[0]", contains="withdrawn")
    refused(client.post("/v1/requests", json=site_body(bundle_with=[a["id"]]), headers=city.headers),
            "bundle_with[0]", contains="withdrawn")


def test_the_dry_run_of_the_other_request_is_taken(client, city) -> None:  # noqa: ANN001
    """``POST /v1/conflicts/check`` with ``request_id`` checks the request as it is: its stored bundle with a
    partner withdrawn since is not refused, a withdrawn partner added in the check is."""
    from tests.conflicts.test_check_request import fields

    a, b = _pair(client, city)
    assert client.delete(f"/v1/requests/{a['id']}", headers=city.headers).status_code == 200
    body = fields(client, city, b["id"])
    assert body["bundle_with"] == [a["id"]]
    r = client.post("/v1/conflicts/check", json=body, headers=city.headers)
    assert r.status_code == 200, r.text
    c = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    assert client.delete(f"/v1/requests/{c['id']}", headers=city.headers).status_code == 200
    refused(client.post("/v1/conflicts/check", json={**body, "bundle_with": [a["id"], c["id"]]},
                        headers=city.headers), "bundle_with[1]", contains="withdrawn")
