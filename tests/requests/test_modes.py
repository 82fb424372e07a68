"""``modes`` tells trams from buses: ``tram`` and ``bus`` are accepted, ``transit`` (both) still is."""

from __future__ import annotations

from tests.conftest import site_body

PROBLEM = "application/problem+json"


def test_trams_and_buses_are_stored_apart_and_transit_still_works(client, city) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(modes=["tram", "car", "bus", "tram"]), headers=city.headers)
    assert created.status_code == 201, created.text
    url = f"/v1/requests/{created.json()['id']}"
    assert created.json()["modes"] == ["bus", "car", "tram"]  # sorted, each once
    assert client.get(url, headers=city.headers).json()["modes"] == ["bus", "car", "tram"]

    changed = client.patch(url, json={"modes": ["car", "transit"]}, headers={**city.headers, "If-Match": '"v1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["modes"] == ["car", "transit"]
    changed = client.patch(url, json={"modes": ["bus"]}, headers={**city.headers, "If-Match": '"v2"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["modes"] == ["bus"]

    legacy = client.post("/v1/requests", json=site_body(modes=["car", "cycle", "transit"]), headers=city.headers)
    assert legacy.status_code == 201 and legacy.json()["modes"] == ["car", "cycle", "transit"]


def test_an_unknown_mode_is_refused_naming_the_allowed_ones(client, city) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(modes=["car", "strassenbahn"]), headers=city.headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    [error] = r.json()["errors"]
    assert error["field"] == "modes[1]"
    assert all(f"'{mode}'" in error["detail"] for mode in ("tram", "bus", "transit")), error


def test_openapi_describes_the_modes(client) -> None:  # noqa: ANN001
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["Mode"]["enum"] == ["pedestrian", "cycle", "car", "tram", "bus", "transit", "rail"]
    for name in ("RequestWrite", "RequestPatch", "RequestRead"):
        description = schemas[name]["properties"]["modes"]["description"]
        assert "`tram`" in description and "`bus`" in description and "`transit`" in description
        assert "Linienbus frei" in description
