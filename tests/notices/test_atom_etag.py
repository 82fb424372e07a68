"""The Atom feed of a subscription revalidates as its calendar does: a weak ETag that holds while the notices are
the same (the feed's <updated> is its newest entry's time, not the time of asking), 304 on If-None-Match."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from tests.conftest import site_body
from tests.notices.helpers import subscribe

ATOM = "{http://www.w3.org/2005/Atom}"


def _updated(element) -> datetime:  # noqa: ANN001
    return datetime.fromisoformat(element.findtext(f"{ATOM}updated"))


def test_atom_feed_has_an_etag_and_answers_304_until_a_new_notice(client, db, city, run_jobs) -> None:  # noqa: ANN001
    sub = subscribe(client, db)
    url = f"/v1/subscriptions/{sub.token}/feed.atom"
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/atom+xml")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "private, max-age=60"
    feed = etree.fromstring(first.content)
    entries = list(feed.iter(f"{ATOM}entry"))
    assert entries, "the new site is in the feed"
    assert _updated(feed) == max(_updated(e) for e in entries), "the feed is as new as its newest entry"

    # asked again, at another time and without gzip: the same bytes and the same tag
    again = client.get(url, headers={"Accept-Encoding": "identity"})
    assert again.headers["etag"] == etag and again.content == first.content
    head = client.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag

    for tag in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        for method in (client.get, client.head):
            cached = method(url, headers={"If-None-Match": tag})
            assert cached.status_code == 304, (tag, method)
            assert cached.content == b""
            assert cached.headers["etag"] == etag and cached.headers["cache-control"] == "private, max-age=60"
            assert cached.headers.get("vary") == first.headers.get("vary")
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    # a new notice (the site is withdrawn) changes the feed and its tag
    client.delete(f"/v1/requests/{site['id']}", headers=city.headers)
    run_jobs()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(list(etree.fromstring(changed.content).iter(f"{ATOM}entry"))) == len(entries) + 1
    assert client.get(url, headers={"If-None-Match": changed.headers["etag"]}).status_code == 304


def test_an_empty_atom_feed_keeps_its_etag(client, db) -> None:  # noqa: ANN001
    """No notices yet: <updated> is when the subscription was confirmed, so polling it gives 304."""
    sub = subscribe(client, db)
    url = f"/v1/subscriptions/{sub.token}/feed.atom"
    first = client.get(url)
    feed = etree.fromstring(first.content)
    assert list(feed.iter(f"{ATOM}entry")) == []
    assert _updated(feed) == sub.confirmed_at
    assert client.get(url).content == first.content
    assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_atom_feed_with_the_organisations_key_revalidates_too(client, db, make_caller) -> None:  # noqa: ANN001
    shop = make_caller("business", "submitter", "Bäckerei Rüttenscheid")
    sub = subscribe(client, db, headers=shop.headers)
    url = f"/v1/subscriptions/{sub.id}/feed.atom"
    first = client.get(url, headers=shop.headers)
    assert first.status_code == 200, first.text
    cached = client.get(url, headers={**shop.headers, "If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.headers["cache-control"] == "private, max-age=60"
