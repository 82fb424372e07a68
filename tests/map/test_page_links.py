"""Links to a site, as every notice gives them (emails, ICS `URL`, Atom entries: `/map/#request=<id>`), in a
real browser (Debian's Chromium, headless) against a real server with the Ruhr example: the page opens with the
site selected, its details shown, the map fitted to it and the slider on a day the site is drawn; it follows the
hash while open and writes it when a site is selected; a site the viewer cannot see gets a notice."""

from __future__ import annotations

import uuid
from datetime import date

from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.slots.models import Slot
from tests.map.browser import idle, on_screen_above_panel, open_map, rendered_ids, shot
from tests.map.conftest import Ruhr
from tests.map.helpers import add_site


def add_linked_sites(engine: Engine) -> dict[str, str]:
    """Three sites far from the page's default day (the busiest day of the example, in 2027): one with a proposed
    slot inside a longer window, a withdrawn one (hidden by the default status filter), and a draft of a city."""
    with Session(engine) as session:
        ge = auth.get_or_create_organisation(session, name="Stadt Gelsenkirchen", kind="city")
        slotted = add_site(session, ge.id, title="Kanalerneuerung Bahnhofstraße Gelsenkirchen",
                           geometry={"type": "LineString", "coordinates": [[7.0950, 51.5050], [7.1000, 51.5060]]},
                           diversions=[], earliest_start="2028-11-01", latest_end="2028-12-20", duration_days=10,
                           preferred_start="2028-11-10")
        session.add(Slot(request_id=slotted.id, start=date(2028, 11, 10), end=date(2028, 11, 19), status="proposed",
                         explanation={"summary": "Vorzugsbeginn frei / preferred start is free"}))
        slotted.status = "slot_proposed"
        withdrawn = add_site(session, ge.id, status="withdrawn", title="Zurückgezogen: Gehweg Hauptstraße Bochum",
                             impact="footway",
                             geometry={"type": "LineString", "coordinates": [[7.2100, 51.4800], [7.2150, 51.4810]]},
                             diversions=[], earliest_start="2028-10-01", latest_end="2028-10-31", duration_days=7,
                             preferred_start="2028-10-05")
        draft = add_site(session, ge.id, status="draft", title="Entwurf: Leitungsbau Gelsenkirchen",
                         geometry={"type": "LineString", "coordinates": [[7.0800, 51.5200], [7.0850, 51.5210]]},
                         diversions=[])
        session.commit()
        return {"slotted": str(slotted.id), "withdrawn": str(withdrawn.id), "draft": str(draft.id)}


def wait_selected(page: Page, site: str, title: str) -> None:
    """The site is selected and its details panel shows it (loaded: the conflicts heading is there)."""
    page.wait_for_function("(id) => window.bst.state.selected === id", arg=site, timeout=15_000)
    page.wait_for_selector("#details:not([hidden])")
    assert page.locator("#d-title").inner_text() == title
    page.wait_for_selector("#d-more h3")


def site_in_view(page: Page, site: str) -> bool:
    idle(page)
    return page.evaluate("""(id) => {
        const [x0, y0, x1, y1] = window.bst.state.bboxes.get(id), b = window.bst.map.getBounds();
        return x0 >= b.getWest() && x1 <= b.getEast() && y0 >= b.getSouth() && y1 <= b.getNorth();
    }""", site)


def test_a_link_to_a_site_selects_it_fits_the_map_and_sets_the_day(live_server: str, ruhr: Ruhr, page: Page,
                                                                     clean_database: Engine) -> None:
    sites = add_linked_sites(clean_database)
    open_map(page, live_server, f"#request={sites['slotted']}")
    wait_selected(page, sites["slotted"], "Kanalerneuerung Bahnhofstraße Gelsenkirchen")
    # the day: the slot's start (not the window's); the site is drawn there, zoomed in, and listed as selected
    assert page.evaluate("window.bst.state.day") == "2028-11-10"
    assert page.locator("#day-input").input_value() == "10.11.2028"
    assert "10.11.2028 – 19.11.2028" in page.locator("#d-slot").inner_text()
    assert site_in_view(page, sites["slotted"])
    assert page.evaluate("window.bst.map.getZoom()") >= 13
    assert sites["slotted"] in rendered_ids(page)
    assert page.locator(f"#site-list li.selected[data-id='{sites['slotted']}']").count() == 1
    assert page.evaluate("location.hash") == f"#request={sites['slotted']}"
    assert page.locator("#link-notice").is_hidden()
    shot(page, "link_opened")

    # the hash changes while the page is open: a withdrawn site (hidden by the default filters) is shown, on the
    # start of its window (no slot)
    page.evaluate("(id) => { location.hash = `request=${id}`; }", sites["withdrawn"])
    wait_selected(page, sites["withdrawn"], "Zurückgezogen: Gehweg Hauptstraße Bochum")
    assert page.evaluate("window.bst.state.day") == "2028-10-01"
    assert page.locator("#f-status input[value='withdrawn']").is_checked()
    assert site_in_view(page, sites["withdrawn"])
    assert sites["withdrawn"] in rendered_ids(page)

    # the page writes the hash itself: selecting a site names it, closing the details takes it out
    page.evaluate("(id) => window.bst.select(id, {fly: true})", sites["slotted"])
    assert page.evaluate("location.hash") == f"#request={sites['slotted']}"
    page.locator("#details-close").click()
    assert page.evaluate("location.hash") == ""
    assert page.evaluate("window.bst.state.selected") is None

    # an unknown site: a notice, nothing selected, no failure
    page.evaluate("(id) => { location.hash = `request=${id}`; }", str(uuid.uuid4()))
    page.wait_for_selector("#link-notice:not([hidden])")
    assert "unbekannt oder nicht öffentlich" in page.locator("#link-notice").inner_text()
    assert page.evaluate("window.bst.state.selected") is None
    assert page.locator("#details").is_hidden()

    # another site selected, then a link to a draft in the public view: the notice (with the hint to sign in),
    # the details of the other site closed; signing in as a coordinator (who sees drafts) opens the draft
    page.evaluate("(id) => window.bst.select(id)", sites["slotted"])
    page.wait_for_selector("#link-notice", state="hidden")
    page.evaluate("(id) => { location.hash = `request=${id}`; }", sites["draft"])
    page.wait_for_selector("#link-notice:not([hidden])")
    assert "API-Schlüssel" in page.locator("#link-notice").inner_text()
    assert page.evaluate("window.bst.state.selected") is None
    assert page.locator("#details").is_hidden()
    assert page.evaluate("location.hash") == f"#request={sites['draft']}"
    shot(page, "link_not_visible")
    page.locator("#key-button").click()  # the page's own dialog asks for the key
    page.wait_for_selector("#ask-dialog[open]")
    page.locator("#ask-input").fill(ruhr.coordinator_key)
    page.keyboard.press("Enter")
    wait_selected(page, sites["draft"], "Entwurf: Leitungsbau Gelsenkirchen")
    assert page.locator("#link-notice").is_hidden()
    # the notice can be dismissed; it takes the site out of the address
    page.evaluate("(id) => { location.hash = `request=${id}`; }", str(uuid.uuid4()))
    page.wait_for_selector("#link-notice:not([hidden])")
    assert "für Ihre Organisation nicht sichtbar" in page.locator("#link-notice").inner_text()
    page.locator("#link-notice-close").click()
    assert page.locator("#link-notice").is_hidden()
    assert page.evaluate("location.hash") == ""


def test_a_link_to_a_site_on_a_phone(live_server: str, ruhr: Ruhr, phone: Page, clean_database: Engine) -> None:
    sites = add_linked_sites(clean_database)
    open_map(phone, live_server, f"#request={sites['slotted']}")
    wait_selected(phone, sites["slotted"], "Kanalerneuerung Bahnhofstraße Gelsenkirchen")
    assert phone.evaluate("window.bst.state.day") == "2028-11-10"
    # drawn above the details panel, which is open over the lower part of the screen
    on_screen_above_panel(phone, sites["slotted"])
    assert phone.evaluate("window.bst.map.getZoom()") >= 12
    shot(phone, "phone_link_opened")

    # in English, an unknown site: the notice in English, on the screen
    phone.goto(f"{live_server}/map/?lang=en#request={uuid.uuid4()}")
    phone.wait_for_function("window.bst && window.bst.map", timeout=20_000)
    phone.evaluate("window.bst.ready")
    phone.wait_for_selector("#link-notice:not([hidden])")
    assert "The linked site is unknown or not public" in phone.locator("#link-notice").inner_text()
    box = phone.locator("#link-notice").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and 0 <= box["y"] < 844
    assert phone.evaluate("window.bst.state.selected") is None
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "phone_link_unknown")
