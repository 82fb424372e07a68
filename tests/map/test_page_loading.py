"""What the page downloads: the dig-once opportunities (the largest collection) only once their layer is switched
on, and after a step only what the step changed (the request's site and its pairs), never every collection again.
The URLs are taken from Playwright's request events."""

from __future__ import annotations

import httpx

from tests.map.browser import open_map, with_key

SITES_ALL = "/ogc/collections/sites/items?limit=10000"


def ogc_requests(urls: list[str], collection: str) -> list[str]:
    return [u for u in urls if f"/ogc/collections/{collection}/" in u]


def collection(url: str, name: str, key: str) -> dict:
    r = httpx.get(f"{url}/ogc/collections/{name}/items", params={"limit": 10000},
                  headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_opportunities_are_loaded_only_once_their_layer_is_on(live_server, ruhr, page) -> None:  # noqa: ANN001
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_map(page, live_server)
    assert any(u.endswith(SITES_ALL) for u in urls)
    assert not ogc_requests(urls, "opportunities"), urls
    assert not page.locator("#f-layers input[value='opportunities']").is_checked()
    assert page.evaluate("window.bst.map.getLayoutProperty('opportunities-line', 'visibility')") == "none"

    page.locator("#f-layers input[value='opportunities']").check()
    page.wait_for_function("(o => !o.unloaded && !o.loading)(window.bst.state.data.opportunities)")
    assert len(ogc_requests(urls, "opportunities")) == 1
    assert page.evaluate("window.bst.map.getLayoutProperty('opportunities-line', 'visibility')") == "visible"
    assert page.locator("#load-error").is_hidden()
    # switched off and on again: not read again
    page.locator("#f-layers input[value='opportunities']").uncheck()
    page.locator("#f-layers input[value='opportunities']").check()
    assert len(ogc_requests(urls, "opportunities")) == 1


def test_an_approval_reads_only_the_site_and_its_pairs_again(live_server, ruhr, page) -> None:  # noqa: ANN001
    site = str(next(iter(ruhr.ids.values())))  # the example's first site: a proposed slot, a conflict
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.evaluate("(id) => window.bst.select(id, {fly: true})", site)
    page.wait_for_selector("#d-more [data-action='approve']")
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.locator("#d-more [data-action='approve']").click()
    page.wait_for_selector("#d-message .message.ok", timeout=15_000)

    # not the whole sites collection again, nor any other whole collection: the site and its conflicts
    whole = [u for u in urls if "/ogc/collections/" in u and u.endswith("/items?limit=10000")]
    assert not whole, whole
    assert any(u.endswith(f"/ogc/collections/sites/items/{site}") for u in urls), urls
    assert any(f"/ogc/collections/conflicts/items?limit=10000&site={site}" in u for u in urls), urls
    assert not ogc_requests(urls, "opportunities")
    assert not ogc_requests(urls, "routes")

    # what the page holds now is what the API says: the approved site, every site and every conflict
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.status", site) == "approved"
    sites = collection(live_server, "sites", ruhr.coordinator_key)["features"]
    held = page.evaluate("""() => Object.fromEntries(window.bst.state.data.sites.features.map((f) => [f.id,
        [f.properties.status, f.properties.slot_status, f.properties.start, f.properties.end]]))""")
    assert held == {f["id"]: [f["properties"][k] for k in ("status", "slot_status", "start", "end")] for f in sites}
    conflicts = collection(live_server, "conflicts", ruhr.coordinator_key)["features"]
    held_conflicts = page.evaluate("window.bst.state.data.conflicts.features.map((f) => f.id)")
    assert sorted(map(str, held_conflicts)) == sorted(str(f["id"]) for f in conflicts)
    assert page.locator("#load-error").is_hidden()
    assert "Genehmigt" in page.locator("#d-body").inner_text()
