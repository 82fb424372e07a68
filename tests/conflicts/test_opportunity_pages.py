"""Paging of ``GET /v1/opportunities`` (cursor and ``next`` link, as ``GET /v1/conflicts``) against PostGIS.

It used to answer at most ``limit`` pairs with no way on: at 12,500 requests 5,243 of 15,243 pairs could not be
reached, silently.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.conflicts.helpers import fixed, line
from tests.conftest import site_body


def _post(client, caller, **overrides) -> str:  # noqa: ANN001, ANN003
    r = client.post("/v1/requests", json=site_body(**fixed(**overrides)), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _clusters(client, city, utility) -> None:  # noqa: ANN001
    """Three places, each with road works and two utilities next to it: three pairs per place, with ties in
    distance (the same 20 m and 0 m at every place)."""
    for x in (0, 2000, 4000):
        _post(client, city, geometry=line(x, 0), kind="road_construction")
        _post(client, utility, geometry=line(x, 20), kind="water")
        _post(client, utility, geometry=line(x, 20), kind="gas")


def test_paging_visits_every_opportunity_once_with_public_next_links(  # noqa: ANN201
        client, city, utility, coordinator, settings):  # noqa: ANN001
    _clusters(client, city, utility)
    everything = client.get("/v1/opportunities", headers=coordinator.headers).json()
    assert everything["numberReturned"] == 9 and everything["next_cursor"] is None and everything["links"] == []
    every_id = [f["id"] for f in everything["features"]]
    accepted = client.post(f"/v1/opportunities/{every_id[4]}/accept", headers=coordinator.headers)
    assert accepted.status_code == 200, accepted.text
    every_id = [f["id"] for f in client.get("/v1/opportunities", headers=coordinator.headers).json()["features"]]
    assert len(every_id) == 9

    seen, pages = [], 0
    url, params = "/v1/opportunities", {"limit": 2}
    while True:
        r = client.get(url, params=params, headers={**coordinator.headers, "Host": "evil.example"})
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["id"] for f in page["features"]]
        if page["next_cursor"] is None:
            assert page["links"] == []
            break
        [link] = page["links"]
        assert link["rel"] == "next" and link["type"] == "application/geo+json"
        href = urlsplit(link["href"])
        assert link["href"].startswith(settings.public_url.rstrip("/") + "/v1/opportunities?")
        assert parse_qs(href.query) == {"limit": ["2"], "cursor": [page["next_cursor"]]}
        url, params = href.path, parse_qs(href.query)  # follow the link itself
    assert pages == 5
    assert seen == every_id  # each once, in the order of the whole list (accepted, then open, each nearest first)
    statuses = [f["properties"]["status"] for f in
                client.get("/v1/opportunities", headers=coordinator.headers).json()["features"]]
    assert statuses == ["accepted"] + ["open"] * 8


def test_paging_keeps_the_filters_and_refuses_a_forged_cursor(client, city, utility, coordinator) -> None:  # noqa: ANN001
    _clusters(client, city, utility)
    first = client.get("/v1/opportunities", params={"limit": 1, "status": "open"}, headers=city.headers).json()
    assert first["next_cursor"] and "status=open" in first["links"][0]["href"]
    r = client.get("/v1/opportunities", params={"cursor": "bm90IGEgY3Vyc29y"}, headers=city.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cursor"
