"""The page follows the OGC `next` links by their path and query only: the links are absolute
(``BAUSTELLEN_PUBLIC_URL``), and the page may be open on another address of the same server."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from playwright.sync_api import Route

from tests.map.browser import open_map

FIRST = "/ogc/collections/sites/items?limit=10000"


def test_next_link_is_followed_on_the_pages_own_origin(live_server, ruhr, page) -> None:  # noqa: ANN001
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    def first_page_of_five(route: Route) -> None:
        body = json.loads(route.fetch().text())
        body["features"] = body["features"][:5]
        body["links"].append({"rel": "next", "type": "application/geo+json",
                              "href": "http://elsewhere.invalid/ogc/collections/sites/items?limit=10000&offset=5"})
        route.fulfill(status=200, content_type="application/geo+json", body=json.dumps(body))

    page.route(lambda url: url.endswith(FIRST), first_page_of_five)
    open_map(page, live_server)
    assert page.evaluate("window.bst.state.data.sites.features.length") == len(ruhr.ids)
    assert page.evaluate("window.bst.state.data.sites.failed") is None
    assert page.locator("#load-error").is_hidden()
    assert f"{live_server}/ogc/collections/sites/items?limit=10000&offset=5" in requested
    assert not any(urlsplit(u).hostname == "elsewhere.invalid" for u in requested), requested
