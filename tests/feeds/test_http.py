"""The feeds over HTTP: public, conditional GET (304), gzip, licence link, never contact data."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString

from service.conflicts.models import Corridor

FEEDS = ["/feeds/datex2/situations.xml", "/feeds/wzdx.geojson", "/feeds/gtfs-rt/alerts.pb",
         "/feeds/gtfs-rt/alerts.pb?format=json"]


@pytest.fixture
def tram(db) -> Corridor:  # noqa: ANN001
    corridor = Corridor(name="Tram 107", kind="tram", buffer_m=30.0, routes=["107"],
                        stops=[{"id": "de:05113:9161", "name": "Rüttenscheider Stern"}],
                        geom=from_shape(LineString([[7.0000, 51.4405], [7.0013, 51.4368]]), srid=4326))
    db.add(corridor)
    db.flush()
    return corridor


@pytest.mark.parametrize("url", FEEDS)
def test_conditional_get_answers_304_until_the_content_changes(client, make_site, city, db, tram, url) -> None:  # noqa: ANN001
    req = make_site(city)
    first = client.get(url)  # no API key: the feeds are public
    assert first.status_code == 200 and first.content
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["link"] == '<https://www.govdata.de/dl-de/by-2-0>; rel="license"'

    again = client.get(url)
    assert again.headers["etag"] == etag and again.content == first.content
    head = client.head(url, headers={"Accept-Encoding": "identity"})  # link checkers and feed pollers
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(first.content)
    assert client.head(url, headers={"If-None-Match": etag}).status_code == 304

    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status_code == 200

    req.title = "Kanalerneuerung Rüttenscheider Straße, 2. Bauabschnitt"
    db.flush()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "2. Bauabschnitt" in changed.content.decode("utf-8", errors="replace")


@pytest.mark.parametrize("url", FEEDS)
def test_large_feeds_are_gzip_compressed(client, make_site, city, tram, url) -> None:  # noqa: ANN001
    for i in range(4):
        make_site(city, title=f"Gleiserneuerung Rüttenscheider Straße Abschnitt {i}", kind="tram_track")
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) > 1000
    gzipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert int(gzipped.headers["content-length"]) < len(plain.content)
    assert gzipped.content == plain.content  # httpx decompressed it


def test_contact_data_never_appears_in_any_feed(client, make_site, city, tram) -> None:  # noqa: ANN001
    make_site(city, contact={"name": "Erika Mustermann", "phone": "+49 201 7654321", "email": "erika@baufirma.example"},
              description="Rückfragen an erika@baufirma.example oder Tel. 0201 7654321. Vollsperrung nachts.")
    for url in FEEDS:
        body = client.get(url).content.decode("utf-8", errors="replace")
        assert "Vollsperrung nachts" in body or url.endswith(".pb"), url
        for secret in ("Mustermann", "erika@baufirma.example", "7654321"):
            assert secret not in body, (url, secret)
