"""Names, phone numbers and email addresses do not leave the service except to the owner and the coordination
office: other organisations read a request's title and description as the open data feeds publish them, in the
request and in the list."""

from __future__ import annotations

from tests.conftest import site_body

TITLE = "Kanalbau Rüttenscheider Straße, Bauleitung: Herr Krause"
DESCRIPTION = "Bauleitung: Herr Krause, Tel. 0201 1234567, krause@example.org. Vollsperrung ab Hausnummer 12."


def _features(client, caller, rid: str) -> list[dict]:  # noqa: ANN001
    listed = client.get("/v1/requests", params={"bbox": "6.99,51.43,7.01,51.45"}, headers=caller.headers)
    assert listed.status_code == 200
    return [f for f in listed.json()["features"] if f["id"] == rid]


def test_others_read_title_and_description_scrubbed(client, city, utility, coordinator) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(title=TITLE, description=DESCRIPTION), headers=city.headers)
    assert created.status_code == 201, created.text
    rid, url = created.json()["id"], created.headers["location"]
    assert created.json()["title"] == TITLE and created.json()["description"] == DESCRIPTION

    for reader in (city, coordinator):  # as written
        got = client.get(url, headers=reader.headers).json()
        assert (got["title"], got["description"]) == (TITLE, DESCRIPTION)
        (feature,) = _features(client, reader, rid)
        assert feature["properties"]["title"] == TITLE

    other = client.get(url, headers=utility.headers)
    assert other.status_code == 200
    got = other.json()
    assert got["contact"] is None
    for text in (got["title"], got["description"]):
        assert "Krause" not in text and "0201" not in text and "@" not in text, text
    assert got["title"].startswith("Kanalbau Rüttenscheider Straße")
    assert "Vollsperrung ab Hausnummer 12." in got["description"]
    (feature,) = _features(client, utility, rid)
    assert feature["properties"]["title"] == got["title"]
    assert feature["geometry"]["type"] == "LineString" and feature["properties"]["owner"]["name"] == city.name


def test_a_plain_title_reads_the_same_for_everyone(client, city, utility) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    got = client.get(f"/v1/requests/{created['id']}", headers=utility.headers).json()
    assert (got["title"], got["description"]) == (created["title"], created["description"])
    (feature,) = _features(client, utility, created["id"])
    assert feature["properties"]["title"] == created["title"]
