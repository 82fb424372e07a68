"""The feeds' own times and HTTP validators: the time inside a feed (DATEX II publicationTime, WZDx
feed_info.update_date, GTFS-RT header.timestamp) is when the body was generated and stays fresh, while the ETag (of
the content) and Last-Modified (its last change) stay put for unchanged content; Last-Modified is never after the
server's time, also with BAUSTELLEN_TODAY pinned ahead; an If-Modified-Since in the future is ignored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from geoalchemy2.shape import from_shape
from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt
from httpx import Response
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

DATEX, WZDX, GTFS, GTFS_JSON = ("/feeds/datex2/situations.xml", "/feeds/wzdx.geojson", "/feeds/gtfs-rt/alerts.pb",
                                "/feeds/gtfs-rt/alerts.pb?format=json")
FEEDS = [DATEX, WZDX, GTFS, GTFS_JSON]
# WZDx feed_info.update_frequency: the feeds say they are updated this often (seconds)
UPDATE_FREQUENCY = 60


@pytest.fixture
def tram(db) -> Corridor:  # noqa: ANN001
    corridor = Corridor(name="Tram 107", kind="tram", buffer_m=30.0, routes=["107"], stops=[],
                        geom=from_shape(LineString([[7.0000, 51.4405], [7.0013, 51.4368]]), srid=4326))
    db.add(corridor)
    db.flush()
    return corridor


def _http_date(response: Response, name: str = "last-modified") -> datetime:
    return parsedate_to_datetime(response.headers[name])


def _feed_time(url: str, response: Response) -> datetime:
    """The feed's own time, after checking the feed against its standard (DATEX II XSD, WZDx schema, GTFS-RT
    bindings: the bytes are what the bindings write for the message they parse to)."""
    if url == DATEX:
        doc = assert_datex_valid(response.content)
        times = {*doc.xpath("//com:publicationTime/text()", namespaces=DATEX_NS),
                 *doc.xpath("//*[local-name()='messageGenerationTimestamp']/text()")}
        assert len(times) == 1, times  # publicationTime and messageGenerationTimestamp: the same instant
        return datetime.fromisoformat(times.pop())
    if url == WZDX:
        doc = response.json()
        assert wzdx_errors(doc) == []
        return datetime.fromisoformat(doc["feed_info"]["update_date"])
    if url == GTFS:
        feed = rt.FeedMessage.FromString(response.content)
        assert feed.IsInitialized() and feed.SerializeToString(deterministic=True) == response.content
    else:
        feed = json_format.Parse(response.content, rt.FeedMessage())
        assert json.loads(json_format.MessageToJson(feed, preserving_proto_field_name=True)) == response.json()
    return datetime.fromtimestamp(feed.header.timestamp, UTC)


@pytest.mark.parametrize("url", FEEDS)
def test_the_feeds_time_is_when_it_was_generated_and_moves_on_while_the_validators_stay(  # noqa: ANN001
        client, make_site, city, tram, url, later, monkeypatch) -> None:
    from service.feeds import service

    make_site(city, modes=["car", "cycle", "transit"])  # in every feed (GTFS-RT: on the tram corridor)
    first = client.get(url)
    etag, last_modified = first.headers["etag"], _http_date(first)
    generated = _feed_time(url, first)
    assert last_modified <= generated <= datetime.now(UTC)
    assert etag.startswith('W/"')  # bodies of the same content differ by their time: weak

    builds: list[object] = []
    build = service._build
    monkeypatch.setattr(service, "_build", lambda *args, **kwargs: builds.append(args) or build(*args, **kwargs))
    later(UPDATE_FREQUENCY + 30)  # nothing changed for 90 s: a freshness monitor would call the old time stale
    again = client.get(url)
    moved = _feed_time(url, again)
    assert moved - generated >= timedelta(seconds=UPDATE_FREQUENCY)
    assert again.headers["etag"] == etag and _http_date(again) == last_modified  # the content's validators
    assert again.content != first.content and builds == []  # the cached body, only its time written again
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304

    later(1)  # within service.REFRESH the body is served as it is
    assert client.get(url).content == again.content
    later(service.REFRESH.total_seconds())  # and never with a time older than that
    assert _feed_time(url, client.get(url)) > moved and builds == []


@pytest.mark.parametrize("url", FEEDS)
def test_last_modified_is_never_after_the_generation_time(client, make_site, city, db, tram, url) -> None:  # noqa: ANN001
    site = make_site(city, modes=["car", "cycle", "transit"])
    first = client.get(url)
    site.title = "Kanalerneuerung Rüttenscheider Straße, 2. Bauabschnitt"  # within the second, most likely: the
    db.flush()                                                          # change is recorded a second ahead
    second = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert second.status_code == 200
    for response in (first, second):
        assert _http_date(response) <= _feed_time(url, response) <= datetime.now(UTC)


@pytest.mark.parametrize("url", FEEDS)
def test_an_if_modified_since_in_the_future_is_ignored(client, make_site, city, url) -> None:  # noqa: ANN001
    # RFC 9110 §13.1.3: a date later than the server's current time is not a date the server ever sent
    make_site(city)
    first = client.get(url)
    tomorrow = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    ignored = client.get(url, headers={"If-Modified-Since": tomorrow})
    assert ignored.status_code == 200 and ignored.headers["etag"] == first.headers["etag"]
    assert client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": first.headers["etag"], "If-Modified-Since": tomorrow}
                      ).status_code == 304  # If-None-Match wins


def _ahead(settings, client) -> date:  # noqa: ANN001
    """Pin the app's calendar a month after the last day of site_body's window, whatever the real day."""
    day = max(date.today(), date(2027, 9, 30)) + timedelta(days=30)
    client.app.state.settings = settings.model_copy(update={"today": day})
    return day


def test_with_the_day_pinned_ahead_last_modified_is_never_after_the_real_time(client, settings) -> None:  # noqa: ANN001
    # nothing published yet: no time recorded at all, so the first record starts now (it started at the pinned
    # day's midnight: a Last-Modified weeks after Date)
    _ahead(settings, client)
    for url in FEEDS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _http_date(response) <= _feed_time(url, response) <= datetime.now(UTC), url


def test_with_the_day_pinned_ahead_sites_ended_by_then_are_listed_as_closed(client, make_site, city,  # noqa: ANN001
                                                                             settings) -> None:
    site = make_site(city)  # approved, window 2027-03-01..2027-09-30, a full closure with a diversion
    assert str(site.id) in client.get(DATEX).text
    _ahead(settings, client)  # the works are over by then: closed, listed for 7 days (from the real clock)
    response = client.get(DATEX)
    doc = assert_datex_valid(response.content)
    assert not doc.xpath("//sit:situation", namespaces=DATEX_NS)
    refs = {ref.xpath("inf:versionedReference/@id", namespaces=DATEX_NS)[0]:
            ref.findtext("inf:managementStatus", namespaces=DATEX_NS)
            for ref in doc.xpath("//inf:elementReference", namespaces=DATEX_NS)}
    assert refs == {f"{site.id}_works": "closed", f"{site.id}_closure": "closed", f"{site.id}_rerouting": "closed"}
    assert _http_date(response) <= _feed_time(DATEX, response) <= datetime.now(UTC)
