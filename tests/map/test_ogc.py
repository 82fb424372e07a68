"""OGC API Features: documents, items with bbox / datetime (slot or window) / paging, visibility."""

from __future__ import annotations

import uuid
from datetime import date

from service.slots.models import Slot
from tests.map.helpers import add_site

GEO = "application/geo+json"


def _create(db, caller, **overrides) -> str:  # noqa: ANN001, ANN003
    return str(add_site(db, caller.org_id, **overrides).id)


def test_landing_conformance_collections(client) -> None:  # noqa: ANN001
    landing = client.get("/ogc/").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["conformance"].endswith("/ogc/conformance")
    assert rels["data"].endswith("/ogc/collections")
    assert rels["service-desc"].endswith("/openapi.json")
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    for needed in ("sites", "conflicts", "zones", "moratoriums", "blackouts", "corridors", "routes"):
        assert needed in ids
    assert client.get("/ogc/collections/nope").status_code == 404


def test_sites_items_are_public_without_contact_and_hide_drafts(client, city, utility, db) -> None:  # noqa: ANN001
    public = _create(db, city, title="Öffentliche Baustelle")
    draft = _create(db, utility, title="Entwurf", status="draft")
    r = client.get("/ogc/collections/sites/items")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(GEO)
    body = r.json()
    ids = [f["id"] for f in body["features"]]
    assert public in ids and draft not in ids
    assert body["numberMatched"] == body["numberReturned"] == len(ids)
    assert "contact" not in r.text and "bau@example.org" not in r.text
    props = body["features"][0]["properties"]
    assert props["owner"] == city.name and props["start"] == "2027-03-01" and props["end"] == "2027-09-30"
    # the owner of the draft sees it with its key
    mine = client.get("/ogc/collections/sites/items", headers=utility.headers).json()
    assert draft in [f["id"] for f in mine["features"]]
    # single item, and a draft is not found for the public
    assert client.get(f"/ogc/collections/sites/items/{public}").json()["properties"]["title"] == "Öffentliche Baustelle"
    assert client.get(f"/ogc/collections/sites/items/{draft}").status_code == 404
    # the self link carries the caller's query as it is (a client may send a backslash or a quote unencoded):
    # it neither breaks the JSON nor adds members
    raw = client.get(f"/ogc/collections/sites/items/{public}?x=\\")
    assert raw.status_code == 200
    doc = raw.json()
    assert [link["rel"] for link in doc["links"]] == ["self", "collection"] and doc["links"][0]["href"].endswith("\\")
    quoted = client.get(f"/ogc/collections/sites/items/{public}", params={"x": '"},"injected":{"a":"b'})
    assert "injected" not in quoted.json() and len(quoted.json()["links"]) == 2
    assert client.get(f"/ogc/collections/sites/items/{uuid.uuid4()}").status_code == 404
    assert client.get("/ogc/collections/sites/items/not-a-uuid").status_code == 404


def test_datetime_uses_slot_where_there_is_one_else_window(client, city, db) -> None:  # noqa: ANN001
    slotted = _create(db, city, title="Mit Slot", earliest_start="2027-03-01", latest_end="2027-09-30",
                      duration_days=30, preferred_start=None)
    windowed = _create(db, city, title="Nur Fenster", earliest_start="2027-06-01", latest_end="2027-06-30",
                       duration_days=10, preferred_start=None)
    db.add(Slot(request_id=uuid.UUID(slotted), start=date(2027, 3, 1), end=date(2027, 3, 30), status="proposed"))
    db.flush()

    def ids(dt: str) -> set[str]:
        r = client.get("/ogc/collections/sites/items", params={"datetime": dt})
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    assert ids("2027-03-15") == {slotted}
    assert ids("2027-06-15") == {windowed}  # the slotted site's window covers it, its slot does not
    assert ids("2027-03-30/2027-06-01") == {slotted, windowed}
    assert ids("../2027-02-28") == set()
    assert ids("2027-07-01T00:00:00Z/..") == set()
    assert ids("2027-06-30T23:30:00Z") == set()  # that is 1 July in Berlin
    assert client.get("/ogc/collections/sites/items", params={"datetime": "soon"}).status_code == 400
    assert client.get("/ogc/collections/sites/items", params={"datetime": "2027-02-01/2027-01-01"}).status_code == 400
    item = client.get(f"/ogc/collections/sites/items/{slotted}").json()["properties"]
    assert (item["start"], item["end"], item["slot_status"]) == ("2027-03-01", "2027-03-30", "proposed")


def test_bbox_filters_paging_and_next_links(client, city, db) -> None:  # noqa: ANN001
    created = [_create(db, city, title=f"Baustelle {i}") for i in range(5)]
    far = _create(db, city, title="Dortmund", geometry={"type": "Point", "coordinates": [7.4653, 51.5136]},
                  diversions=[])
    essen = client.get("/ogc/collections/sites/items", params={"bbox": "6.99,51.43,7.01,51.45"}).json()
    assert {f["id"] for f in essen["features"]} == set(created)
    seen, url, pages = [], "/ogc/collections/sites/items?limit=2", 0
    while url:
        page = client.get(url).json()
        pages += 1
        assert page["numberMatched"] == 6 and page["numberReturned"] <= 2
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert pages == 3 and sorted(seen) == sorted([*created, far]) and len(set(seen)) == 6
    assert client.get("/ogc/collections/sites/items", params={"bbox": "1,2,3"}).status_code == 400
    assert client.get("/ogc/collections/sites/items", params={"limit": 0}).status_code == 400
    for offset in (-1, 2**31, 10**20):  # past PostgreSQL's bigint too: a clear 400 (OGC), never a 500
        r = client.get("/ogc/collections/sites/items", params={"offset": offset})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "offset", r.text
    assert client.get("/ogc/collections/sites/items", params={"offset": 2**31 - 1}).json()["features"] == []
    huge = client.get("/ogc/collections/sites/items", params={"limit": 1_000_000}).json()
    assert huge["numberReturned"] == 6
    assert len(client.get("/ogc/collections/sites/items", params={"impact": "footway"}).json()["features"]) == 0
    assert client.get("/ogc/collections/sites/items", params={"status": "bogus"}).status_code == 400
    mine = client.get("/ogc/collections/sites/items", params={"owner": city.name, "kind": "sewer,gas"}).json()
    assert mine["numberMatched"] == 6


def test_links_use_the_public_url_never_the_host_header(client, settings, city, db) -> None:  # noqa: ANN001
    """Every link was built from the request's Host header: `Host: evil.example` put http://evil.example/... in
    the landing page, the collections and the items, for a shared cache keyed without Host to keep and serve."""
    client.app.state.settings = settings.model_copy(update={"public_url": "https://baustellen.example/"})
    public = "https://baustellen.example/"
    sites = [_create(db, city, title=f"Baustelle {i}") for i in range(3)]
    evil = {"Host": "evil.example"}
    docs = [client.get(path, headers=evil) for path in (
        "/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/sites",
        "/ogc/collections/sites/items?limit=1&offset=1", f"/ogc/collections/sites/items/{sites[0]}?f=json")]
    assert all(r.status_code == 200 for r in docs), [r.text for r in docs]
    assert not any("evil.example" in r.text for r in docs)
    hrefs = [link["href"] for r in docs for link in r.json().get("links", [])]
    hrefs += [link["href"] for c in docs[2].json()["collections"] for link in c["links"]]
    assert len(hrefs) > 20 and all(h.startswith(public) and "//ogc" not in h for h in hrefs), hrefs
    items = {link["rel"]: link["href"] for link in docs[4].json()["links"]}
    assert items == {"self": f"{public}ogc/collections/sites/items?limit=1&offset=1",
                     "collection": f"{public}ogc/collections/sites",
                     "next": f"{public}ogc/collections/sites/items?offset=2&limit=1",
                     "prev": f"{public}ogc/collections/sites/items?offset=0&limit=1"}
    item = {link["rel"]: link["href"] for link in docs[5].json()["links"]}
    assert item["self"] == f"{public}ogc/collections/sites/items/{sites[0]}?f=json"


def test_routes_collection_has_diversions(client, city, db) -> None:  # noqa: ANN001
    site = _create(db, city)
    body = client.get("/ogc/collections/routes/items").json()
    assert [f["properties"]["route_kind"] for f in body["features"]] == ["diversion"]
    assert body["features"][0]["properties"]["site_id"] == site
    fid = body["features"][0]["id"]
    assert client.get(f"/ogc/collections/routes/items/{fid}").json()["geometry"]["type"] == "MultiLineString"


def test_start_extent_leaves_out_the_sites_hidden_by_default(client, city, db) -> None:  # noqa: ANN001
    line = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]}
    far = {"type": "LineString", "coordinates": [[6.9501, 50.9402], [6.9512, 50.9371]]}  # Köln, withdrawn
    _create(db, city, geometry=line)
    _create(db, city, geometry=far, status="withdrawn", title="Zurückgezogen in Köln")
    bbox = client.get("/map/config.json").json()["bbox"]
    assert bbox[1] > 51.4 and bbox[3] < 51.45  # only the Essen site
    # the slider still reaches the withdrawn one's dates: the interval covers all sites
    assert client.get("/map/config.json").json()["interval"][0] is not None
