"""The planners' page at a laptop's size and the slot actions a second QA pass found missing, in a real browser
(Debian's Chromium, headless) against a real server with the Ruhr example: a useful list at 1400 x 900, Gantt
month labels that never overlap, a legend that never covers the map, unlocking a slot and proposing one at a
chosen start (with the request's ETag as If-Match).

The example's first three sites have a slot (proposed, approved, locked); the others are submitted."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.requests.models import SiteRequest
from tests.map.browser import box, get_request, idle, lonely_site, open_map, select_site, shot, with_key
from tests.map.conftest import Ruhr
from tests.map.helpers import add_site


def intersects(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def fully_visible_entries(page: Page) -> int:
    """How many entries of the site list are wholly inside the list's visible part (not scrolled away)."""
    return page.evaluate("""() => {
        const view = document.querySelector('.list-section').getBoundingClientRect();
        return [...document.querySelectorAll('#site-list li[data-id]')].filter((li) => {
            const r = li.getBoundingClientRect();
            return r.height > 0 && r.top >= view.top - 0.5 && r.bottom <= Math.min(view.bottom, innerHeight) + 0.5;
        }).length;
    }""")


def test_at_1400_by_900_the_list_shows_six_sites_and_scrolls(live_server: str, ruhr: Ruhr, laptop: Page) -> None:
    open_map(laptop, live_server)
    laptop.locator("#all-days").check()
    idle(laptop)
    total = laptop.locator("#site-list li[data-id]").count()
    assert total > 10  # more than fit: the list has to scroll
    assert fully_visible_entries(laptop) >= 6
    shot(laptop, "laptop_list")

    # the list scrolls by itself (the page does not), down to its last entry
    section = laptop.locator(".list-section")
    assert section.evaluate("(s) => s.scrollHeight > s.clientHeight")
    section.evaluate("(s) => { s.scrollTop = s.scrollHeight; }")
    last = box(laptop, "#site-list li[data-id]:last-child")
    view = box(laptop, ".list-section")
    assert view["y"] <= last["y"] and last["y"] + last["height"] <= view["y"] + view["height"] + 0.5
    assert laptop.evaluate("document.documentElement.scrollHeight") <= 900

    # the filters above it scroll in their own box and still work: the last layer box hides the blackouts
    filters = laptop.locator("#filter-section")
    assert filters.evaluate("(s) => s.scrollHeight > s.clientHeight")
    laptop.locator("#f-layers input[value='blackouts']").uncheck()
    assert laptop.evaluate("window.bst.map.getLayoutProperty('blackouts-fill', 'visibility')") == "none"
    assert fully_visible_entries(laptop) >= 6  # scrolling the filters takes nothing from the list


def test_legend_never_covers_the_map(live_server: str, ruhr: Ruhr, full_hd: Page, laptop: Page) -> None:
    # a laptop: the legend starts folded; its button sits in the time bar, outside the map
    open_map(laptop, live_server)
    assert laptop.locator("#legend").is_hidden()
    toggle = laptop.locator("#legend-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not intersects(box(laptop, "#legend-toggle"), box(laptop, "#map"))
    width = box(laptop, "#map")["width"]
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert laptop.locator("#legend-body").is_visible()
    legend, drawn = box(laptop, "#legend"), box(laptop, "#map")
    assert not intersects(legend, drawn)  # beside the map, which got narrower instead
    assert drawn["width"] <= width - legend["width"] + 1
    assert laptop.evaluate("window.bst.map.getCanvas().clientWidth") == round(drawn["width"])
    shot(laptop, "laptop_legend_open")

    # a full HD screen: unfolded from the start, beside the map
    open_map(full_hd, live_server)
    full_hd.locator("#all-days").check()
    assert full_hd.locator("#legend-body").is_visible()
    assert not intersects(box(full_hd, "#legend"), box(full_hd, "#map"))

    # a site in the map's bottom right corner, where the legend used to lie over the map, opens with a click
    target, vertex = lonely_site(live_server)
    full_hd.evaluate("(c) => window.bst.map.jumpTo({center: c, zoom: 17})", list(vertex))
    w, h = full_hd.evaluate("[window.bst.map.getCanvas().clientWidth, window.bst.map.getCanvas().clientHeight]")
    x, y = w - 60, h - 110
    full_hd.evaluate("([dx, dy]) => window.bst.map.panBy([dx, dy], {duration: 0})", [w / 2 - x, h / 2 - y])
    idle(full_hd)
    at = full_hd.evaluate("(c) => { const p = window.bst.map.project(c); return [p.x, p.y]; }", list(vertex))
    assert abs(at[0] - x) < 1 and abs(at[1] - y) < 1
    canvas = box(full_hd, "#map canvas")
    px, py = canvas["x"] + x, canvas["y"] + y
    assert full_hd.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).classList.contains('maplibregl-canvas')", [px, py])
    full_hd.mouse.click(px, py)
    full_hd.wait_for_selector("#details:not([hidden])")
    assert full_hd.evaluate("window.bst.state.selected") == target
    assert full_hd.locator("#d-title").inner_text() == ruhr.titles[uuid.UUID(target)]
    shot(full_hd, "legend_beside_the_map")

    # folded with its own button, the map takes the width back
    narrow = box(full_hd, "#map")["width"]
    full_hd.locator("#legend-close").click()
    assert full_hd.locator("#legend").is_hidden()
    assert full_hd.locator("#legend-toggle").get_attribute("aria-expanded") == "false"
    assert box(full_hd, "#map")["width"] >= narrow + 200


def gantt_labels(page: Page) -> list[dict[str, float]]:
    return page.eval_on_selector_all("#gantt .axis text", """(els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height, text: e.textContent};
    })""")


def test_gantt_month_labels_never_overlap(live_server: str, ruhr: Ruhr, laptop: Page, clean_database: Engine) -> None:
    def check_widths(widths: range, least: int) -> None:
        for width in widths:
            laptop.set_viewport_size({"width": width, "height": 900})
            laptop.evaluate("(id) => window.bst.openGantt('zones', id)", str(ruhr.zone_id))  # drawn anew
            labels = gantt_labels(laptop)
            assert len(labels) >= least, (width, labels)
            svg = box(laptop, "#gantt svg")
            for i, a in enumerate(labels):
                assert svg["x"] <= a["x"] and a["x"] + a["width"] <= svg["x"] + svg["width"] + 0.5, (width, a)
                for b in labels[i + 1:]:
                    assert not intersects(a, b), (width, a, b)

    open_map(laptop, live_server)
    # the zone's sites span about a year and a half: month by month where there is room, fewer where not
    check_widths(range(800, 1700, 30), 4)
    months = [label["text"] for label in gantt_labels(laptop)]
    assert all(len(m) == 5 and m[2] == "/" for m in months), months  # "04/27"
    shot(laptop, "gantt_months")

    # a window of five years in the zone: years only, where even the quarters would not fit
    with Session(clean_database) as session:
        owner = session.get(SiteRequest, next(iter(ruhr.ids.values()))).owner_id
        add_site(session, owner, title="Langfristige Netzerneuerung Rüttenscheid", earliest_start="2027-01-04",
                 latest_end="2031-12-31", duration_days=120, preferred_start=None)
        session.commit()
    check_widths(range(800, 1700, 60), 4)
    laptop.set_viewport_size({"width": 800, "height": 900})
    laptop.evaluate("(id) => window.bst.openGantt('zones', id)", str(ruhr.zone_id))
    years = [label["text"] for label in gantt_labels(laptop)]
    assert years[:4] == ["2028", "2029", "2030", "2031"], years
    shot(laptop, "gantt_years")


def test_planner_unlocks_a_locked_slot_with_the_etag(live_server: str, ruhr: Ruhr, page: Page) -> None:
    locked = str(list(ruhr.ids.values())[2])
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    before = get_request(live_server, locked, ruhr.coordinator_key)
    assert before["slot"]["status"] == "locked"
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, locked)
    page.wait_for_selector("#d-more [data-action='unlock']")
    assert page.locator("#d-more [data-action='lock']").count() == 0
    assert page.locator("#d-more [data-action='unlock']").inner_text() == "Fixierung aufheben"

    # somebody else unlocks and locks it again meanwhile: the page's ETag is stale, the API refuses (412), the
    # page says so in German with the API's detail, and the slot stays locked
    for step in ("unlock", "lock"):
        assert httpx.post(f"{live_server}/v1/requests/{locked}/slot/{step}", headers=headers).status_code == 200
    with page.expect_request(lambda r: r.url.endswith("/slot/unlock")) as sent:
        page.locator("#d-more [data-action='unlock']").click()
    assert sent.value.headers["if-match"] == f'"v{before["version"]}"'
    page.wait_for_selector("#d-message .message.err")
    error = page.locator("#d-message").inner_text()
    assert error.startswith("Der Antrag wurde inzwischen geändert; bitte neu laden.")
    assert "GET it again" in page.locator("#d-message .api-detail").text_content()  # the API's own, folded away
    assert get_request(live_server, locked, ruhr.coordinator_key)["slot"]["status"] == "locked"

    # read again: now it unlocks, with the current ETag
    select_site(page, locked)
    current = get_request(live_server, locked, ruhr.coordinator_key)
    page.wait_for_selector("#d-more [data-action='unlock']")
    with page.expect_request(lambda r: r.url.endswith("/slot/unlock")) as sent:
        page.locator("#d-more [data-action='unlock']").click()
    assert sent.value.headers["if-match"] == f'"v{current["version"]}"'
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text().startswith("Fixierung aufgehoben")

    after = get_request(live_server, locked, ruhr.coordinator_key)
    assert after["slot"]["status"] == "proposed"
    assert (after["slot"]["start"], after["slot"]["end"]) == (before["slot"]["start"], before["slot"]["end"])
    assert "vorgeschlagen" in page.locator("#d-slot").inner_text()
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.slot_status", locked) == "proposed"
    assert page.locator("#d-more [data-action='unlock']").count() == 0
    assert page.locator("#d-more [data-action='lock']").count() == 1  # and back again, if need be
    history = httpx.get(f"{live_server}/v1/requests/{locked}/history", headers=headers).json()
    assert history[-1]["action"] == "slot.unlocked"
    assert "Fixierung aufgehoben" in page.locator("#d-more .history-item").first.inner_text()
    shot(page, "slot_unlocked")


def test_planner_proposes_a_slot_at_a_chosen_start(live_server: str, ruhr: Ruhr, page: Page) -> None:
    site = str(list(ruhr.ids.values())[3])  # submitted, no slot; window 2027-09-01 to 2028-08-31, 49 days
    before = get_request(live_server, site, ruhr.coordinator_key)
    assert before["status"] == "submitted" and before["slot"] is None
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    page.wait_for_selector("#d-more [data-action='propose']")
    field = page.locator("#d-propose-start")
    last_start = date.fromisoformat(before["latest_end"]) - timedelta(days=before["duration_days"] - 1)
    # the possible starts as the field's range; the preferred start chosen already, in the page's format
    assert field.get_attribute("data-min") == before["earliest_start"]
    assert field.get_attribute("data-max") == last_start.isoformat()
    assert field.input_value() == f"{date.fromisoformat(before['preferred_start']):%d.%m.%Y}"
    assert page.locator("#d-propose-hint").inner_text() == (
        f"Möglicher Beginn: 01.09.2027 bis {last_start:%d.%m.%Y} (Dauer 49 Tage)")

    # a start whose slot would run past the window: the API's problem, in German first, and nothing changes
    field.fill((last_start + timedelta(days=1)).isoformat())
    page.locator("#d-more [data-action='propose']").click()
    page.wait_for_selector("#d-message .message.err")
    error = page.locator("#d-message").inner_text()
    assert error.startswith("Dieser Beginn ist nicht möglich"), error
    assert "does not fit the window" not in error  # the API's own detail: folded away
    assert "does not fit the window" in page.locator("#d-message .api-detail").text_content()
    assert get_request(live_server, site, ruhr.coordinator_key)["slot"] is None

    # a start inside it: proposed, with the ETag read; the page shows the new slot
    field.fill("2027-10-04")
    with page.expect_request(lambda r: r.url.endswith("/propose")) as sent:
        page.locator("#d-more [data-action='propose']").click()
    assert sent.value.headers["if-match"] == f'"v{before["version"]}"'
    assert sent.value.post_data_json == {"start": "2027-10-04"}
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text().startswith("Slot vorgeschlagen: 04.10.2027 – 21.11.2027.")

    after = get_request(live_server, site, ruhr.coordinator_key)
    assert after["status"] == "slot_proposed"
    assert (after["slot"]["start"], after["slot"]["end"], after["slot"]["status"]) == (
        "2027-10-04", "2027-11-21", "proposed")
    assert page.locator("#d-slot").inner_text() == "04.10.2027 – 21.11.2027 (vorgeschlagen)"
    assert "Slot vorgeschlagen" in page.locator("#d-body .pill").first.inner_text()
    props = page.evaluate("(id) => window.bst.state.sitesById.get(id).properties", site)
    assert (props["status"], props["slot_start"]) == ("slot_proposed", "2027-10-04")
    assert page.locator("#d-propose-start").input_value() == "04.10.2027"  # a new proposal starts from it
    assert page.locator("#d-more [data-action='lock']").count() == 1
    shot(page, "slot_proposed_at_date")
