"""The map's public collections and tiles publish a title as the open data feeds do: without e-mail addresses,
phone numbers and names of persons (``public_title``); the owner and the coordinators read it as written."""

from __future__ import annotations

import mapbox_vector_tile

from tests.map.helpers import add_site
from tests.map.test_tiles_and_layers import tile_of

TITLE = "Hausanschluss Rüttenscheider Straße – Rückfragen Herr Schmidt 0201 555123, schmidt@example.org"
PUBLIC = "Hausanschluss Rüttenscheider Straße – Rückfragen […], […]"


def test_public_and_other_organisations_read_the_scrubbed_title(  # noqa: ANN001
        client, city, utility, coordinator, db) -> None:
    site = str(add_site(db, city.org_id, title=TITLE).id)
    for headers in ({}, utility.headers):  # the public, another organisation
        item = client.get(f"/ogc/collections/sites/items/{site}", headers=headers)
        assert item.status_code == 200, item.text
        assert item.json()["properties"]["title"] == PUBLIC
        x, y = tile_of(7.0005, 51.439, 14)
        r = client.get(f"/tiles/sites/14/{x}/{y}.mvt", headers=headers)
        assert r.status_code == 200, r.text
        tile = mapbox_vector_tile.decode(r.content)
        titles = {f["properties"]["id"]: f["properties"]["title"] for f in tile["sites"]["features"]}
        assert titles[site] == PUBLIC
        for body in (item.content, client.get("/ogc/collections/sites/items", headers=headers).content):
            assert b"Schmidt" not in body and b"555123" not in body
    for caller in (city, coordinator):  # the owner and the coordination office read it as written
        item = client.get(f"/ogc/collections/sites/items/{site}", headers=caller.headers).json()
        assert item["properties"]["title"] == TITLE


def test_a_new_title_gets_a_new_public_title(client, city, db) -> None:  # noqa: ANN001
    req = add_site(db, city.org_id, title="Kanal – Polier: Jens Becker")
    assert req.public_title == "Kanal – Polier: […]"
    req.title = "Kanal – Bauleitung: Tiefbauamt Essen"
    assert req.public_title == "Kanal – Bauleitung: Tiefbauamt Essen"
