"""A request is found by its external id (`GET /v1/requests?external_id=`), which is its organisation's internal
reference: shown to the owner and the coordinators only, in the list and the single view, and never matched in
another organisation's requests. The /v1 lists refuse query parameters they do not know (422 naming them) instead
of answering everything, as bodies refuse unknown fields."""

from __future__ import annotations

import pytest

from tests.conftest import site_body


def _ids(answer) -> list[str]:  # noqa: ANN001
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


def test_a_request_is_found_by_its_external_id(client, city, utility, coordinator) -> None:  # noqa: ANN001
    mine = client.post("/v1/requests", json=site_body(external_id="CITY-49c9b"), headers=city.headers).json()
    client.post("/v1/requests", json=site_body(external_id="CITY-other"), headers=city.headers)
    theirs = client.post("/v1/requests", json=site_body(external_id="CITY-49c9b"), headers=utility.headers).json()

    assert _ids(client.get("/v1/requests", params={"external_id": " CITY-49c9b "}, headers=city.headers)) == [
        mine["id"]]
    assert _ids(client.get("/v1/requests", params={"external_id": "CITY-49"}, headers=city.headers)) == []  # exact
    assert _ids(client.get("/v1/requests", params={"external_id": "CITY-49c9b"}, headers=coordinator.headers)) == [
        mine["id"], theirs["id"]]
    assert _ids(client.get("/v1/requests", params={"external_id": "CITY-49c9b", "owner": str(utility.org_id)},
                           headers=coordinator.headers)) == [theirs["id"]]
    blank = client.get("/v1/requests", params={"external_id": "  "}, headers=city.headers)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "external_id"


def test_external_ids_show_only_to_their_owner_and_the_coordinators(client, city, utility, coordinator) -> None:  # noqa: ANN001
    mine = client.post("/v1/requests", json=site_body(external_id="CITY-1"), headers=city.headers).json()
    theirs = client.post("/v1/requests", json=site_body(external_id="SW-1"), headers=utility.headers).json()

    def listed(caller) -> dict[str, str | None]:  # noqa: ANN001
        answer = client.get("/v1/requests", headers=caller.headers).json()
        return {f["id"]: f["properties"]["external_id"] for f in answer["features"]}

    assert listed(city) == {mine["id"]: "CITY-1", theirs["id"]: None}
    assert listed(coordinator) == {mine["id"]: "CITY-1", theirs["id"]: "SW-1"}
    # another organisation finds nothing by it, and its single view does not show it either
    assert _ids(client.get("/v1/requests", params={"external_id": "SW-1"}, headers=city.headers)) == []
    assert client.get(f"/v1/requests/{theirs['id']}", headers=city.headers).json()["external_id"] is None
    assert client.get(f"/v1/requests/{theirs['id']}", headers=utility.headers).json()["external_id"] == "SW-1"
    assert client.get(f"/v1/requests/{theirs['id']}", headers=coordinator.headers).json()["external_id"] == "SW-1"


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/conflicts", "/v1/opportunities"])
def test_the_lists_refuse_unknown_query_parameters(client, city, path) -> None:  # noqa: ANN001
    r = client.get(path, params={"stauts": "approved", "limit": 5}, headers=city.headers)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert [e["field"] for e in problem["errors"]] == ["stauts"]
    assert "limit" in problem["errors"][0]["detail"]  # names the parameters it knows
    assert client.get(path, params={"limit": 5}, headers=city.headers).status_code == 200
    assert client.head(path, params={"stauts": "approved"}, headers=city.headers).status_code == 422


def test_the_ogc_api_keeps_its_own_rules(client) -> None:  # noqa: ANN001
    # OGC API Features Part 1 (/req/core/query-param-unknown) refuses an unknown parameter with 400, not 422
    r = client.get("/ogc/collections/sites/items", params={"stauts": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "stauts", r.text
