"""What the planner sees of a site, pinned in a real browser (Debian's Chromium, headless) against a real server
with the Ruhr example: zoomed out over the whole Ruhr, small sites (a 30 m excavation pit) and their conflicts
are still there as markers, clickable and selectable; on a phone, the details panel does not cover the selected
site, and closing it gives the map its whole height back."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.conflicts.models import Conflict
from tests.map.browser import idle, on_screen_above_panel, open_map, point_of, rendered_ids, rendered_in, shot
from tests.map.conftest import Ruhr
from tests.map.helpers import add_site

# 30 x 30 m at 51.5° N
HALF_LON, HALF_LAT = 0.000216, 0.000135


def pit(lon: float, lat: float) -> dict:
    ring = [[lon - HALF_LON, lat - HALF_LAT], [lon + HALF_LON, lat - HALF_LAT], [lon + HALF_LON, lat + HALF_LAT],
            [lon - HALF_LON, lat + HALF_LAT], [lon - HALF_LON, lat - HALF_LAT]]
    return {"type": "Polygon", "coordinates": [ring]}


def add_small_sites(engine: Engine) -> dict[str, str]:
    """A lonely 30 m pit in Herne, two 30 m pits 120 m apart in Gelsenkirchen in conflict with each other,
    and a 40 m line in Bottrop; the conflict's id under "conflict"."""
    with Session(engine) as session:
        ge = auth.get_or_create_organisation(session, name="Stadt Gelsenkirchen", kind="city")
        gw = auth.get_or_create_organisation(session, name="Gelsenwasser AG", kind="utility")
        lonely = add_site(session, ge.id, title="Baugrube Hausanschluss Herne", kind="water", impact="footway",
                          geometry=pit(7.2200, 51.5400), diversions=[])
        a = add_site(session, ge.id, title="Baugrube Gelsenkirchen Nord", geometry=pit(7.1000, 51.5200),
                     diversions=[])
        b = add_site(session, gw.id, title="Baugrube Gelsenkirchen Süd", kind="water",
                     geometry=pit(7.1000, 51.5189), diversions=[])
        line = add_site(session, ge.id, title="Kabelgraben Bottrop", kind="telecom", impact="lane_reduction",
                        geometry={"type": "LineString", "coordinates": [[6.9300, 51.5230], [6.9305, 51.5232]]},
                        diversions=[])
        first, second = sorted([a.id, b.id])
        conflict = Conflict(request_a=first, request_b=second, kind="space", hard=True, distance_m=120.0,
                            overlap_start=a.earliest_start, overlap_end=a.latest_end, reason={"distance_m": 120.0})
        session.add(conflict)
        session.commit()
        return {"lonely": str(lonely.id), "a": str(a.id), "b": str(b.id), "line": str(line.id),
                "conflict": str(conflict.id)}


def test_small_sites_and_their_conflicts_stay_visible_when_zoomed_out(live_server: str, ruhr: Ruhr, page: Page,
                                                                    clean_database: Engine) -> None:
    small = add_small_sites(clean_database)
    # the OGC collection gives each site a point on it (backward compatible: one more property)
    items = httpx.get(f"{live_server}/ogc/collections/sites/items", params={"limit": 10000}).json()["features"]
    points = {f["id"]: f["properties"]["point"] for f in items}
    lon, lat = points[small["lonely"]]
    assert abs(lon - 7.22) < HALF_LON and abs(lat - 51.54) < HALF_LAT
    everything = set(points)

    open_map(page, live_server)
    page.locator("#all-days").check()
    marker_maxzoom = page.evaluate("window.bst.MARKER_MAXZOOM")
    # the whole Ruhr, and further out: every site is drawn, the 30 m pits and the 40 m line too
    for zoom in (6, 7, 8.5, 10):
        page.evaluate("(z) => window.bst.map.jumpTo({center: [7.15, 51.48], zoom: z})", zoom)
        assert rendered_ids(page) == everything, zoom
        assert {small["lonely"], small["a"], small["b"], small["line"]} <= rendered_in(page, ["sites-marker"])
        # the conflict of the two pits 120 m apart: a marker, and both pits with the red halo
        assert small["conflict"] in rendered_in(page, ["conflicts-line", "conflicts-marker"]), zoom
        assert {small["a"], small["b"]} <= rendered_in(page, ["halo-line", "halo-point", "halo-marker"]), zoom
    shot(page, "zoomed_out_markers")

    # a click on the marker of the lonely pit opens it; the selection ring is drawn on the marker
    page.evaluate("(c) => window.bst.map.jumpTo({center: c, zoom: 8})", points[small["lonely"]])
    idle(page)
    canvas = page.locator("#map canvas").bounding_box()
    at = page.evaluate("(p) => window.bst.map.project(p)", points[small["lonely"]])
    page.mouse.click(canvas["x"] + at["x"], canvas["y"] + at["y"])
    page.wait_for_function("(t) => document.getElementById('d-title').textContent === t",
                           arg="Baugrube Hausanschluss Herne")
    assert page.evaluate("window.bst.state.selected") == small["lonely"]
    assert small["lonely"] in rendered_in(page, ["selected-marker"], points[small["lonely"]])
    # the filters apply to the markers as to the sites: "Fußweg" unticked hides the pit
    page.locator("#f-impact input[value='footway']").uncheck()
    assert small["lonely"] not in rendered_ids(page)
    page.locator("#f-impact input[value='footway']").check()
    assert small["lonely"] in rendered_ids(page)

    # zoomed in: the real geometry, no marker
    page.evaluate("([c, z]) => window.bst.map.jumpTo({center: c, zoom: z})",
                  [points[small["lonely"]], marker_maxzoom + 5])
    assert small["lonely"] in rendered_in(page, ["sites-fill"])
    assert rendered_in(page, ["sites-marker", "selected-marker", "conflicts-marker"]) == set()
    assert small["lonely"] in rendered_in(page, ["selected-line"])
    shot(page, "zoomed_in_pit")


def test_on_a_phone_the_details_panel_does_not_cover_the_selected_site(live_server: str, ruhr: Ruhr, phone: Page,
                                                                       clean_database: Engine) -> None:
    small = add_small_sites(clean_database)
    site = small["lonely"]
    # a coordinator: the details are long (contact, explanation, conflicts, history, actions), the panel tall
    phone.add_init_script(f"sessionStorage.setItem('bst-key', '{ruhr.coordinator_key}')")
    open_map(phone, live_server)
    phone.locator("#all-days").check()

    # picked in the list, scrolled down to it: the map comes back on screen, fitted to the site above the panel
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    item = phone.locator(f"#site-list li[data-id='{site}']")
    item.click()
    phone.wait_for_selector("#d-message", state="attached")  # the details have loaded
    where = on_screen_above_panel(phone, site)
    assert where["panelTop"] < where["mapBottom"]  # the panel does cover part of the map
    assert phone.evaluate("window.bst.map.getPadding().bottom") > 0
    shot(phone, "phone_selected_from_list")

    # closing the panel: the padding goes, the view stays (the site where it was)
    phone.locator("#details-close").click()
    assert phone.evaluate("window.bst.map.getPadding()") == {"top": 0, "bottom": 0, "left": 0, "right": 0}
    after = on_screen_above_panel(phone, site)
    assert abs(after["y"] - where["y"]) < 2 and abs(after["x"] - where["x"]) < 2

    # tapped on the map where the panel will open: the map pans it into the part left visible
    phone.evaluate("window.scrollTo(0, 0)")
    box = phone.locator("#map").bounding_box()
    phone.evaluate("""([p, dy]) => { const m = window.bst.map;
        m.jumpTo({center: p, zoom: 15}); m.panBy([0, -dy], {duration: 0}); }""",
                   [point_of(phone, site), box["height"] / 2 - 40])
    idle(phone)
    before = phone.evaluate("(p) => window.bst.map.project(p)", point_of(phone, site))
    assert before["y"] > box["height"] - 60  # near the bottom of the map, where the panel opens
    phone.touchscreen.tap(box["x"] + before["x"], box["y"] + before["y"])
    phone.wait_for_function("(id) => window.bst.state.selected === id", arg=site)
    phone.wait_for_selector("#d-message", state="attached")  # the details have loaded
    on_screen_above_panel(phone, site)
    shot(phone, "phone_selected_on_map")
    # another language redraws the details: the site stays in sight
    phone.locator("#lang-button").click()
    on_screen_above_panel(phone, site)
    phone.locator("#details-close").click()
    assert phone.evaluate("window.bst.map.getPadding().bottom") == 0
    on_screen_above_panel(phone, site)
