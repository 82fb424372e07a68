"""The feeds over HTTP: public, conditional GET (304), gzip, licence link, never contact data."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString
from sqlalchemy import text

from service.conflicts.models import Corridor


def _date(value: str) -> datetime:
    return parsedate_to_datetime(value)


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
def test_conditional_get_answers_304_until_the_content_changes(client, make_site, city, db, tram, url,  # noqa: ANN001
                                                                later) -> None:
    req = make_site(city, modes=["car", "cycle", "transit"])  # the trams stop too: an alert on the tram corridor
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
    # If-Modified-Since agrees with If-None-Match, also for a change within the second of the last one: that is
    # recorded a second ahead, and Last-Modified (never after the body's generation time) says so once it has come
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 200
    assert _date(last_modified) <= _date(changed.headers["last-modified"])
    later()
    moved = client.get(url)
    assert moved.headers["etag"] == changed.headers["etag"]
    assert _date(moved.headers["last-modified"]) > _date(last_modified)
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": moved.headers["last-modified"]}).status_code == 304


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
              description="Rückfragen an erika@baufirma.example oder Tel. 0201 7654321. Vollsperrung nachts.",
              modes=["car", "cycle", "transit"])
    for url in FEEDS:
        body = client.get(url).content.decode("utf-8", errors="replace")
        assert "Vollsperrung nachts" in body or url.endswith(".pb"), url
        for secret in ("Mustermann", "erika@baufirma.example", "7654321"):
            assert secret not in body, (url, secret)


def _alerts(response) -> rt.FeedMessage:  # noqa: ANN001
    feed = rt.FeedMessage()
    feed.ParseFromString(response.content)
    return feed


def test_gtfsrt_last_modified_moves_when_a_corridor_changes_or_goes(client, make_site, city, db, tram,  # noqa: ANN001
                                                                    later) -> None:
    url = "/feeds/gtfs-rt/alerts.pb"
    make_site(city, modes=["car", "cycle", "transit"])
    first = client.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304

    tram.routes = ["107", "108"]  # the operator registers a second route: the alert names it
    db.flush()
    later()
    changed = client.get(url, headers={"If-Modified-Since": last_modified})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert _date(changed.headers["last-modified"]) > _date(last_modified)
    assert {e.route_id for e in _alerts(changed).entity[0].alert.informed_entity} == {"107", "108"}
    assert _alerts(changed).header.timestamp >= int(_date(changed.headers["last-modified"]).timestamp())
    assert _alerts(changed).header.timestamp > _alerts(first).header.timestamp
    assert client.get(url, headers={"If-Modified-Since": changed.headers["last-modified"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": changed.headers["etag"]}).status_code == 304

    db.delete(tram)  # a deleted corridor leaves no time behind, yet the content changed
    db.flush()
    later()
    gone = client.get(url, headers={"If-Modified-Since": changed.headers["last-modified"]})
    assert gone.status_code == 200 and len(_alerts(gone).entity) == 0
    assert _date(gone.headers["last-modified"]) > _date(changed.headers["last-modified"])
    again = client.get(url)  # and stays put while nothing changes
    assert again.headers["last-modified"] == gone.headers["last-modified"] and again.content == gone.content


def test_datex2_last_modified_moves_when_a_cancellation_leaves_the_feed(client, make_site, city, db,  # noqa: ANN001
                                                                       later) -> None:
    url = "/feeds/datex2/situations.xml"
    req = make_site(city)
    client.get(url)
    req.status = "withdrawn"
    db.flush()
    cancelled = client.get(url)
    assert b"<inf:managementStatus>cancelled<" in cancelled.content

    # eight days later the cancellation is no longer listed (retention 7 days)
    db.execute(text("update feed_publications set cancelled_at = cancelled_at - interval '8 days', "
                    "last_changed = last_changed - interval '8 days' where request_id = :id"), {"id": req.id})
    later()
    later = client.get(url, headers={"If-Modified-Since": cancelled.headers["last-modified"]})
    assert later.status_code == 200 and b"managementStatus" not in later.content
    assert _date(later.headers["last-modified"]) > _date(cancelled.headers["last-modified"])


@pytest.mark.parametrize("url", FEEDS)
def test_last_modified_moves_when_the_builders_change_their_output(client, make_site, city, tram, url,
                                                                   monkeypatch, later) -> None:  # noqa: ANN001
    # New code writes other bytes for the same data (e.g. no rerouting record for track works): the content token
    # cannot see that, the revision says it, so a client holding the old output is not answered 304.
    from service.feeds import service

    make_site(city, modes=["car", "cycle", "transit"])
    first = client.get(url)
    assert client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    monkeypatch.setattr(service, "CONTENT_REVISION", service.CONTENT_REVISION + 1)
    later()
    after = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert after.status_code == 200
    assert _date(after.headers["last-modified"]) > _date(first.headers["last-modified"])
    assert client.get(url, headers={"If-Modified-Since": after.headers["last-modified"]}).status_code == 304


def _vary(response) -> list[str]:  # noqa: ANN001
    return [v.strip().lower() for value in response.headers.get_list("vary") for v in value.split(",")]


@pytest.mark.parametrize("url", FEEDS)
@pytest.mark.parametrize("sites", [0, 4], ids=["small", "large"])
def test_a_304_carries_the_headers_of_the_200_vary_included(client, make_site, city, tram, url, sites) -> None:  # noqa: ANN001
    # RFC 9110 §15.4.5: a 304 has the Vary (and ETag, Cache-Control, ...) the 200 would have. Below the gzip
    # threshold (1000 bytes) the middleware adds no Vary, above it does: either way every answer names it once.
    for i in range(sites):
        make_site(city, title=f"Gleiserneuerung Rüttenscheider Straße Abschnitt {i}", kind="tram_track")
    same = ("etag", "last-modified", "cache-control", "link", "access-control-allow-origin",
            "access-control-expose-headers")
    for encoding in ("gzip", "identity"):
        ok = client.get(url, headers={"Accept-Encoding": encoding})
        assert ok.status_code == 200 and (len(ok.content) > 1000 or not sites)  # small: all but DATEX II's envelope
        assert _vary(ok) == ["accept-encoding"], encoding
        assert _vary(client.head(url, headers={"Accept-Encoding": encoding})) == ["accept-encoding"], encoding
        for condition in ({"If-None-Match": ok.headers["etag"]}, {"If-Modified-Since": ok.headers["last-modified"]}):
            for method in (client.get, client.head):
                not_modified = method(url, headers={"Accept-Encoding": encoding, **condition})
                assert not_modified.status_code == 304, (encoding, condition)
                assert _vary(not_modified) == ["accept-encoding"], (encoding, condition)
                assert {h: not_modified.headers.get(h) for h in same} == {h: ok.headers[h] for h in same}


@pytest.mark.parametrize("url", FEEDS)
def test_browsers_may_read_the_feeds_and_send_conditional_requests_from_any_origin(client, make_site, city,  # noqa: ANN001
                                                                                    url) -> None:
    make_site(city)
    origin = {"Origin": "https://verkehr.example.org"}
    preflight = client.options(url, headers={**origin, "Access-Control-Request-Method": "GET",
                                             "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")} == {"GET", "HEAD"}
    assert {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")} == {
        "if-none-match", "if-modified-since"}
    assert int(preflight.headers["access-control-max-age"]) > 0

    # the answer: scripts may read the validators and the licence, also of a 304
    ok = client.get(url, headers=origin)
    exposed = {h.strip().lower() for h in ok.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "last-modified", "link"} <= exposed and ok.headers["access-control-allow-origin"] == "*"
    not_modified = client.get(url, headers={**origin, "If-None-Match": ok.headers["etag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["access-control-expose-headers"] == ok.headers["access-control-expose-headers"]

    # other methods: 405 naming every method the feed answers
    for method in ("POST", "PUT", "PATCH", "DELETE", "TRACE"):
        refused = client.request(method, url)
        assert refused.status_code == 405, method
        assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
        assert refused.headers["content-type"].startswith("application/problem+json")
