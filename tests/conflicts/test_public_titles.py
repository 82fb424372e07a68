"""Conflict answers show another organisation's request with the title the map and the feeds publish
(``public_title``: without e-mail addresses, phone numbers and names of persons); its owner and the
coordinators read the title as written. Covers the conflict map, a request's conflicts, the dry-run check
(pairs, capacity rules, dig-once) and the opportunities."""

from __future__ import annotations

from typing import Any

from service.feeds.common import scrub
from tests.conflicts.helpers import box, line
from tests.conflicts.test_conflicts_api import post, rule

TITLE = "Kanalbau Hauptstr. – Kontakt max.mustermann@example.org, 0201 1234567"
PUBLIC = scrub(TITLE)  # "Kanalbau Hauptstr. – Kontakt […], […]", as the request stores it in public_title
LEAKS = (b"mustermann", b"1234567")


def _no_leak(response: Any) -> Any:
    assert response.status_code == 200, response.text
    for leak in LEAKS:
        assert leak not in response.content, response.text
    return response.json()


def _pair(client, city, utility) -> tuple[str, str]:  # noqa: ANN001
    """City's road works and the utility's water main 20 m apart: a space conflict and a dig-once pair."""
    road = post(client, city, geometry=line(0, 0), kind="road_construction", title="Deckenerneuerung Hauptstr.")
    water = post(client, utility, geometry=line(0, 20), kind="water", title=TITLE)
    return road, water


def _titles(features: list[dict], other: str) -> set[str]:
    return {s["title"] for f in features for s in f["properties"]["requests"] if s["id"] == other}


def test_conflict_map_shows_others_the_public_title(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    road, water = _pair(client, city, utility)
    features = _no_leak(client.get("/v1/conflicts", headers=city.headers))["features"]
    assert features and _titles(features, water) == {PUBLIC}
    assert _titles(features, road) == {"Deckenerneuerung Hauptstr."}  # its own as written
    for caller in (utility, coordinator):  # the owner and the coordination office read it as written
        features = client.get("/v1/conflicts", headers=caller.headers).json()["features"]
        assert _titles(features, water) == {TITLE}


def test_request_conflicts_show_others_the_public_title(client, city, utility, coordinator) -> None:  # noqa: ANN001
    road, water = _pair(client, city, utility)
    [mine] = _no_leak(client.get(f"/v1/requests/{road}/conflicts", headers=city.headers))
    assert mine["other"]["id"] == water and mine["other"]["title"] == PUBLIC
    [on_road] = client.get(f"/v1/requests/{road}/conflicts", headers=coordinator.headers).json()
    assert on_road["other"]["title"] == TITLE
    [on_water] = client.get(f"/v1/requests/{water}/conflicts", headers=utility.headers).json()
    assert on_water["other"]["title"] == "Deckenerneuerung Hauptstr."


def test_diversion_explanation_names_others_by_their_public_title(client, city, utility) -> None:  # noqa: ANN001
    """The explanation of a diversion conflict names both sites."""
    post(client, city, geometry=line(0, 950, 100, vertical=True), impact="lane_reduction")
    other = post(client, utility, geometry=line(0, 0), kind="water", title=TITLE, diversions=[line(-500, 1000, 1000)])
    [feature] = _no_leak(client.get("/v1/conflicts", params={"kind": "diversion"},
                                    headers=city.headers))["features"]
    assert PUBLIC in feature["properties"]["explanation"]["de"] and _titles([feature], other) == {PUBLIC}
    [own] = client.get("/v1/conflicts", params={"kind": "diversion"}, headers=utility.headers).json()["features"]
    assert TITLE in own["properties"]["explanation"]["de"]


def test_opportunities_show_others_the_public_title(client, city, utility, coordinator) -> None:  # noqa: ANN001
    road, water = _pair(client, city, utility)
    [opp] = _no_leak(client.get("/v1/opportunities", headers=city.headers))["features"]
    assert _titles([opp], water) == {PUBLIC}
    assert _titles([opp], road) == {"Deckenerneuerung Hauptstr."}  # its own as written
    assert PUBLIC in opp["properties"]["explanation"]["de"] and PUBLIC in opp["properties"]["explanation"]["en"]
    for caller in (utility, coordinator):
        [opp] = client.get("/v1/opportunities", headers=caller.headers).json()["features"]
        assert _titles([opp], water) == {TITLE} and TITLE in opp["properties"]["explanation"]["de"]


def _check(client, caller, **overrides: Any) -> Any:  # noqa: ANN001
    body = {"geometry": line(0, 10), "earliest_start": "2027-04-01", "latest_end": "2027-05-30",
            "impact": "full_closure", "kind": "road_construction", **overrides}
    return client.post("/v1/conflicts/check", headers=caller.headers, json=body)


def test_dry_run_check_shows_others_the_public_title(client, city, utility, coordinator) -> None:  # noqa: ANN001
    _, water = _pair(client, city, utility)
    body = _no_leak(_check(client, city))
    assert {c["other"]["title"] for c in body["conflicts"] if c["other"]["id"] == water} == {PUBLIC}
    assert {o["other"]["title"] for o in body["opportunities"] if o["other"]["id"] == water} == {PUBLIC}
    for caller in (utility, coordinator):
        body = _check(client, caller).json()
        assert {c["other"]["title"] for c in body["conflicts"] if c["other"]["id"] == water} == {TITLE}
        assert {o["other"]["title"] for o in body["opportunities"] if o["other"]["id"] == water} == {TITLE}


def test_dry_run_check_against_a_zone_shows_others_the_public_title(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    """A capacity rule names requests far from the checked site (read apart from the pairs)."""
    rule(client, coordinator, "zones", {"name": "Innenstadt", "capacity": 1, "min_impact": "lane_reduction",
                                        "geometry": box(-2000, -2000, 2000, 2000)})
    water = post(client, utility, geometry=line(1500, 0), kind="water", title=TITLE)
    body = _no_leak(_check(client, city, geometry=line(-1500, 0)))
    [zone] = [c for c in body["conflicts"] if c["kind"] == "zone"]
    assert zone["other"]["id"] == water and zone["other"]["title"] == PUBLIC
    for caller in (utility, coordinator):
        [zone] = [c for c in _check(client, caller, geometry=line(-1500, 0)).json()["conflicts"]
                  if c["kind"] == "zone"]
        assert zone["other"]["title"] == TITLE
