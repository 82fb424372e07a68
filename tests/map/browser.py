"""Helpers for driving the page in Debian's Chromium (headless) with Playwright; the `browser` and `page`
fixtures are in conftest.py. Screenshots go to artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page
from shapely.geometry import Point, shape

from service.settings import REPO_ROOT

SHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# The page asks its questions (approve despite a conflict, start a plan run, the API key) in its own dialog
# (#ask-dialog), never with the browser's confirm() or prompt(). A tab with this init script says yes to every
# question without a field, and keeps what was asked in window.bstAsked ({title, text}).
SAY_YES = """
document.addEventListener('DOMContentLoaded', () => {
  const dialog = document.getElementById('ask-dialog');
  if (!dialog) return;
  window.bstAsked = [];
  new MutationObserver(() => {
    if (!dialog.open || !document.getElementById('ask-field').hidden) return;
    window.bstAsked.push({title: document.getElementById('ask-title').textContent,
                          text: document.getElementById('ask-text').textContent});
    document.getElementById('ask-ok').click();
  }).observe(dialog, {attributes: true, attributeFilter: ['open']});
});
"""


def asked(page: Page) -> list[dict[str, str]]:
    """The questions a tab with SAY_YES answered so far."""
    return page.evaluate("window.bstAsked || []")


def question(page: Page) -> dict[str, str]:
    """Waits for the page's question dialog and returns its title and text (the test answers it)."""
    page.wait_for_selector("#ask-dialog[open]")
    return page.evaluate("""() => ({title: document.getElementById('ask-title').textContent,
                                   text: document.getElementById('ask-text').textContent})""")


def with_key(page: Page, key: str) -> None:
    """The tab signs in with this API key (as the page's key button would) before the page loads."""
    page.add_init_script(f"sessionStorage.setItem('bst-key', '{key}')")


def open_map(page: Page, url: str, fragment: str = "") -> None:
    """Opens the page (with a fragment, e.g. "#request=<id>", a link of the notices) and waits until it is ready."""
    page.goto(f"{url}/map/{fragment}")
    page.wait_for_function("window.bst && window.bst.map", timeout=20_000)
    page.evaluate("window.bst.ready")


def idle(page: Page) -> None:
    """Wait until the map has stopped moving and has drawn what its filters now say."""
    page.wait_for_function("window.bst.map.loaded() && !window.bst.map.isMoving()")
    page.evaluate("new Promise((r) => { const m = window.bst.map; m.once('idle', r); m.triggerRepaint(); })")


def select_site(page: Page, site: str) -> None:
    """Selects the site (as a click would, the map fitted to it) and waits for its details."""
    page.evaluate("(id) => window.bst.select(id, {fly: true})", site)
    page.wait_for_selector("#d-more h3")


def list_ids(page: Page) -> set[str]:
    return set(page.eval_on_selector_all("#site-list li[data-id]", "(els) => els.map((e) => e.dataset.id)"))


def box(page: Page, selector: str) -> dict[str, float]:
    return page.locator(selector).bounding_box()


def post_example_moratorium(url: str, name: str, key: str) -> None:
    """POST the example's moratorium ``name`` (examples/ruhr/moratoriums.geojson) as the coordinator ``key``."""
    features = json.loads((REPO_ROOT / "examples" / "ruhr" / "moratoriums.geojson").read_text("utf-8"))["features"]
    feature = next(f for f in features if f["properties"]["name"] == name)
    r = httpx.post(f"{url}/v1/moratoriums", json={**feature["properties"], "geometry": feature["geometry"]},
                   headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text


def get_request(url: str, site: str, key: str) -> dict:
    r = httpx.get(f"{url}/v1/requests/{site}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def rendered_ids(page: Page) -> set[str]:
    idle(page)
    ids = page.evaluate(
        "window.bst.map.queryRenderedFeatures({layers: window.bst.SITE_LAYERS}).map((f) => f.properties.id)")
    return set(ids)


def rendered_in(page: Page, layers: list[str], point: list[float] | None = None) -> set[str]:
    """The ids drawn by these layers (around a point of the map, if given: 6 px either side)."""
    idle(page)
    return set(page.evaluate("""([ls, p]) => {
        const m = window.bst.map;
        const at = p ? m.project(p) : null;
        const where = at ? [[at.x - 6, at.y - 6], [at.x + 6, at.y + 6]] : undefined;
        return m.queryRenderedFeatures(where, {layers: ls}).map((f) => String(f.properties.id));
    }""", [layers, point]))


def lonely_site(url: str) -> tuple[str, tuple[float, float]]:
    """A site and one of its vertices with no other site within about 60 m: clicking there must open it."""
    features = httpx.get(f"{url}/ogc/collections/sites/items", params={"limit": 10000}).json()["features"]
    shapes = {f["id"]: shape(f["geometry"]) for f in features}
    for fid, geom in shapes.items():
        vertex = Point(geom.representative_point() if geom.geom_type.endswith("Polygon") else geom.coords[0]
                       if hasattr(geom, "coords") else geom.geoms[0].coords[0])
        if all(other.distance(vertex) > 0.0009 for oid, other in shapes.items() if oid != fid):
            return fid, (vertex.x, vertex.y)
    raise AssertionError("no site stands alone")


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def expected_on(url: str, day: str) -> set[str]:
    body = httpx.get(f"{url}/ogc/collections/sites/items", params={"datetime": day, "limit": 10000}).json()
    return {f["id"] for f in body["features"]}


def point_of(page: Page, site: str) -> list[float]:
    """The point on the site the server gives for its marker (ST_PointOnSurface)."""
    return page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.point", site)


def on_screen_above_panel(page: Page, site: str) -> dict[str, float]:
    """Where the site's point is on the screen, the map's and the panel's edges; asserts it is drawn there, on
    the map and above the details panel."""
    idle(page)
    where = page.evaluate("""(id) => {
        const m = window.bst.map, f = window.bst.state.sitesById.get(id);
        const at = m.project(f.properties.point), box = m.getContainer().getBoundingClientRect();
        const details = document.getElementById('details');
        return {x: box.left + at.x, y: box.top + at.y, mapTop: box.top, mapBottom: box.bottom,
                panelTop: details.hidden ? innerHeight : details.getBoundingClientRect().top};
    }""", site)
    assert 0 <= where["x"] <= 390, where
    assert max(where["mapTop"], 0) < where["y"] < min(where["mapBottom"], where["panelTop"]), where
    assert site in rendered_in(page, page.evaluate("window.bst.SITE_LAYERS"), point_of(page, site))
    return where
