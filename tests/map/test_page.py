"""The page in a real browser (Debian's Chromium, headless) against a real server with the Ruhr example.

Screenshots go to artifacts/screenshots/ (gitignored). Planner actions and filters: test_page_actions.py."""

from __future__ import annotations

import uuid

import httpx

from tests.map.browser import expected_on, lonely_site, open_map, rendered_ids, shot


def test_map_loads_renders_sites_and_slider_changes_what_is_visible(live_server, ruhr, page) -> None:  # noqa: ANN001
    open_map(page, live_server)
    assert page.locator("h1").inner_text() == "Baustellenkarte Ruhr"
    day = page.evaluate("window.bst.state.day")
    shown = rendered_ids(page)
    assert shown and shown == expected_on(live_server, day)
    assert page.locator("#site-list li[data-id]").count() == len(shown)
    shot(page, "map_overview")

    page.evaluate("window.bst.setDay('2027-03-02')")
    march = rendered_ids(page)
    page.evaluate("window.bst.setDay('2028-06-01')")
    june = rendered_ids(page)
    assert march == expected_on(live_server, "2027-03-02")
    assert june == expected_on(live_server, "2028-06-01")
    assert march != june
    assert page.locator("#day-input").input_value() == "01.06.2028"
    # the slider itself drives the day
    page.locator("#day-slider").fill(page.locator("#day-slider").get_attribute("min"))
    assert page.evaluate("window.bst.state.day") == page.evaluate("window.bst.state.config.interval[0]")
    # "all periods" shows every site
    page.locator("#all-days").check()
    assert rendered_ids(page) == expected_on(live_server, "../..") | expected_on(live_server, "2027-01-01/..")
    shot(page, "map_all_periods")


def test_click_opens_the_right_details_and_english_switch(live_server, ruhr, page) -> None:  # noqa: ANN001
    open_map(page, live_server)
    page.locator("#all-days").check()
    target, center = lonely_site(live_server)
    page.evaluate("(c) => window.bst.map.jumpTo({center: c, zoom: 17})", list(center))
    page.wait_for_function("window.bst.map.loaded()")
    page.evaluate("new Promise((r) => { const m = window.bst.map; m.once('idle', r); m.triggerRepaint(); })")
    box = page.locator("#map canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#details:not([hidden])")
    assert page.locator("#d-title").inner_text() == ruhr.titles[uuid.UUID(target)]
    page.wait_for_selector("#d-more h3")
    assert "Kontaktdaten nur für den Träger" in page.locator("#d-more").inner_text()  # public: no contact
    assert page.locator(f"#site-list li.selected[data-id='{target}']").count() == 1
    shot(page, "details_public")

    # the conflict of the first two example sites is listed with the other site
    first, second = list(ruhr.ids.values())[:2]
    page.evaluate("(id) => window.bst.select(id, {fly: true})", str(first))
    page.wait_for_selector("#d-more .conflict-item")
    assert ruhr.titles[second] in page.locator("#d-more .conflict-item").first.inner_text()
    assert "Räumlich" in page.locator("#d-more .conflict-item").first.inner_text()

    # night work names its hours (rules.SHIFT_HOURS), as the notices and the DATEX II feed do
    night = next(rid for rid in ruhr.ids.values() if "Alfredstraße (B 224)" in ruhr.titles[rid])
    page.evaluate("(id) => window.bst.select(id, {fly: true})", str(night))
    page.wait_for_function("document.querySelector('#d-title').innerText.includes('Alfredstraße')")
    assert "nachts, 20:00–07:00 Uhr" in page.locator("#details dl").inner_text()

    # the Gantt chart of a zone lists its sites
    page.evaluate(f"window.bst.openGantt('zones', '{ruhr.zone_id}')")
    page.wait_for_selector("#gantt:not([hidden]) svg")
    timeline = httpx.get(f"{live_server}/map/timeline/zones/{ruhr.zone_id}").json()
    assert page.locator("#gantt svg .row").count() == len(timeline["sites"]) > 0
    assert "Innenstadt Essen" in page.locator("#gantt-title").inner_text()
    shot(page, "gantt_zone")

    page.locator("#lang-button").click()
    assert page.locator("h1").inner_text() == "Ruhr construction site map"
    assert "Contact details only for the owner" in page.locator("#d-more").inner_text()
    shot(page, "english")


def test_planner_approves_a_proposal_from_the_page(live_server, ruhr, page) -> None:  # noqa: ANN001
    site = str(next(iter(ruhr.ids.values())))  # the example's first site has a proposed slot
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    before = httpx.get(f"{live_server}/v1/requests/{site}", headers=headers).json()
    assert before["status"] == "slot_proposed"
    page.add_init_script(f"sessionStorage.setItem('bst-key', '{ruhr.coordinator_key}')")
    open_map(page, live_server)
    assert "Regionale Koordinierungsstelle" in page.locator("#who").inner_text()
    assert page.locator("#plan-button").is_visible()
    page.evaluate("(id) => window.bst.select(id, {fly: true})", site)
    page.wait_for_selector("#d-more [data-action='approve']")
    assert "@example.org" in page.locator("#d-more").inner_text()  # coordinators see the contact
    shot(page, "details_planner")
    page.locator("#d-more [data-action='approve']").click()
    page.wait_for_selector("#d-message .message.ok", timeout=15_000)
    after = httpx.get(f"{live_server}/v1/requests/{site}", headers=headers).json()
    assert after["status"] == "approved"
    assert after["slot"]["status"] == "approved"
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.status", site) == "approved"
    assert "Genehmigt" in page.locator("#d-body").inner_text()
    shot(page, "approved")
