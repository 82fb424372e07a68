"""Defects of the page found in a QA pass, each pinned by a test in a real browser (Debian's Chromium, headless)
against a real server with the Ruhr example: the phone layout, conflicts kept visible by the filters, unplaced
requests, a failed data load, the conflict sentences, signing out, German texts, the keyboard, the legend and
a few smaller ones.

The example's first three sites have a slot (proposed, approved, locked); the first two (of two owners)
conflict with each other in space; the others are submitted."""

from __future__ import annotations

import json
import uuid
from datetime import date

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.conflicts.models import Conflict, Moratorium
from service.requests.models import SiteRequest
from service.slots.models import Slot
from tests.map.browser import box, idle, list_ids, open_map, rendered_ids, rendered_in, select_site, shot, with_key
from tests.map.conftest import Ruhr
from tests.map.helpers import add_site


def test_phone_layout_keeps_the_map_usable_and_nothing_overflows(live_server: str, ruhr: Ruhr, phone: Page) -> None:
    open_map(phone, live_server)
    width = 390

    def no_sideways_scroll() -> None:
        assert phone.evaluate("document.documentElement.scrollWidth") <= width
        assert phone.evaluate("document.body.scrollWidth") <= width

    no_sideways_scroll()
    assert box(phone, "#map")["width"] >= width - 2  # the map is full width
    assert box(phone, "#map")["height"] >= 300
    lang = box(phone, "#lang-button")
    assert lang["x"] >= 0 and lang["x"] + lang["width"] <= width  # on screen
    # the legend starts folded; unfolded, it lies below the map and above the list, covering neither
    assert not phone.locator("#legend-body").is_visible()
    phone.locator("#legend-toggle").click()
    assert phone.locator("#legend-body").is_visible()
    legend, listing, drawn = box(phone, "#legend"), box(phone, "#site-list"), box(phone, "#map")
    assert drawn["y"] + drawn["height"] <= legend["y"] and legend["y"] + legend["height"] <= listing["y"]
    no_sideways_scroll()
    shot(phone, "phone_overview")

    # the details: a panel over the lower part of the screen; the map keeps its width
    select_site(phone, str(next(iter(ruhr.ids.values()))))
    assert phone.locator("#details").is_visible()
    details = box(phone, "#details")
    assert details["x"] >= 0 and details["x"] + details["width"] <= width
    assert box(phone, "#map")["width"] >= width - 2
    no_sideways_scroll()
    shot(phone, "phone_details")
    phone.locator("#details-close").click()
    assert not phone.locator("#details").is_visible()

    # the filters fold away on a phone; the toggle brings them
    assert not phone.locator("#f-owner").is_visible()
    phone.locator("#sidebar-toggle").click()
    assert phone.locator("#f-owner").is_visible()
    no_sideways_scroll()


def test_a_filtered_out_partner_keeps_the_conflict_of_a_shown_site(live_server: str, ruhr: Ruhr, page: Page) -> None:
    first, second = (str(i) for i in list(ruhr.ids.values())[:2])  # slot_proposed and approved, two owners
    open_map(page, live_server)
    page.locator("#all-days").check()

    def marks() -> tuple[int, set[str], set[str]]:
        idle(page)
        lines = page.evaluate("window.bst.map.queryRenderedFeatures({layers: ['conflicts-line']}).length")
        flagged = set(page.eval_on_selector_all("#site-list li[data-id]:has(.conflict-flag)",
                                                "(els) => els.map((e) => e.dataset.id)"))
        return lines, rendered_in(page, ["halo-line", "halo-point"]), flagged

    lines, halos, flagged = marks()
    assert lines > 0 and halos == flagged == {first, second}

    # approved unticked: the second site goes, its conflict with the first stays (line, halo, ⚠), and the
    # second one is drawn faintly
    page.locator("#f-status input[value='approved']").uncheck()
    assert second not in rendered_ids(page)
    lines, halos, flagged = marks()
    assert lines > 0 and halos == flagged == {first}
    assert second in rendered_in(page, ["partner-line", "partner-point"])
    shot(page, "conflict_partner_filtered")

    # the same with the owner filter
    page.locator("#f-status input[value='approved']").check()
    owner = page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.owner", first)
    page.locator("#f-owner").select_option(owner)
    lines, halos, flagged = marks()
    assert lines > 0 and first in halos and first in flagged and second not in halos
    select_site(page, first)
    assert ruhr.titles[uuid.UUID(second)] in page.locator("#d-more .conflict-item").first.inner_text()


def make_unplaced(engine: Engine, ruhr: Ruhr) -> tuple[str, str]:
    site, blocker = list(ruhr.ids.values())[3], list(ruhr.ids.values())[2]
    with Session(engine) as session:
        session.add(Slot(request_id=site, start=None, end=None, status="unplaced", explanation={},
                         unplaced={"reason": {"de": "Kein Beginn im Zeitfenster ist frei: blockiert durch die Gleise.",
                                              "en": "No start in the window is free: blocked by the tracks."},
                                   "blocking": [str(blocker)]}))
        session.commit()
    return str(site), str(blocker)


def test_unplaced_requests_are_marked_and_cannot_be_approved(live_server: str, ruhr: Ruhr, page: Page,
                                                              clean_database: Engine) -> None:
    site, blocker = make_unplaced(clean_database, ruhr)
    open_map(page, live_server)
    page.locator("#all-days").check()

    # the list: flagged, with the requested window called a window
    item = page.locator(f"#site-list li[data-id='{site}']")
    assert "Nicht platzierbar" in item.locator(".unplaced-flag").inner_text()
    assert "Zeitfenster" in item.inner_text()
    # the map: its own grey dotted style, not the dashed line of a planned site; a legend entry
    assert site in rendered_in(page, ["sites-line-unplaced"])
    assert site not in rendered_in(page, ["sites-line-planned", "sites-casing"])
    assert page.locator("#legend [data-legend='unplaced']").count() == 1
    # the public details: "nicht platzierbar", and why in general words
    select_site(page, site)
    assert "nicht platzierbar" in page.locator("#d-slot").inner_text()
    assert "Noch kein Slot" not in page.locator("#d-body").inner_text()
    assert "keinen freien Slot" in page.locator("#d-more .unplaced-reason").inner_text()
    # a filter of their own
    page.locator("#f-status input[data-group='unplaced']").uncheck()
    assert site not in rendered_ids(page) and site not in list_ids(page)
    page.locator("#f-status input[data-group='unplaced']").check()
    assert site in rendered_ids(page)
    shot(page, "unplaced_public")

    # a coordinator: the API's reason with the blocking site, reject but no approve (there is no slot)
    planner = page.context.new_page()
    with_key(planner, ruhr.coordinator_key)
    open_map(planner, live_server)
    select_site(planner, site)
    planner.wait_for_selector("#d-more [data-action='reject']")
    reason = planner.locator("#d-more .unplaced-reason").inner_text()
    assert "blockiert durch die Gleise" in reason and ruhr.titles[uuid.UUID(blocker)] in reason
    assert planner.locator("#d-more [data-action='approve']").count() == 0
    assert "erst mit einem Slot" in planner.locator("#d-no-approve").inner_text()
    shot(planner, "unplaced_planner")
    planner.close()


def test_a_failed_load_is_shown_not_taken_for_no_conflicts(live_server: str, ruhr: Ruhr, page: Page) -> None:
    problem = json.dumps({"type": "about:blank", "title": "Internal Server Error", "status": 500})
    page.route("**/ogc/collections/conflicts/items**",
               lambda route: route.fulfill(status=500, content_type="application/problem+json", body=problem))
    open_map(page, live_server)
    page.wait_for_selector("#load-error:not([hidden])")
    text = page.locator("#load-error").inner_text()
    assert "nicht vollständig geladen" in text and "Konflikte (500)" in text
    select_site(page, str(next(iter(ruhr.ids.values()))))
    more = page.locator("#d-more").inner_text()
    assert "Keine Konflikte bekannt" not in more
    assert "konnten nicht geladen werden" in more
    page.locator("#lang-button").click()
    assert "could not be loaded completely" in page.locator("#load-error").inner_text()


def test_conflict_sentences_say_what_the_conflict_is_about(live_server: str, ruhr: Ruhr, page: Page,
                                                            clean_database: Engine) -> None:
    first, _, third = list(ruhr.ids.values())[:3]
    with Session(clean_database) as session:
        req = session.get(SiteRequest, first)
        mor = Moratorium(name="Aufbruchsperre Rü-Deckschicht", reason="Deckenerneuerung 2026",
                         start=date(2026, 1, 1), end=date(2031, 12, 31), geom=req.geom)
        session.add(mor)
        session.flush()
        rule = {"id": str(mor.id), "name": mor.name, "type": "moratorium", "reason": mor.reason}
        session.add(Conflict(request_a=first, request_b=None, kind="moratorium", hard=True, moratorium_id=mor.id,
                             overlap_start=req.earliest_start, overlap_end=req.latest_end,
                             reason={"rule": rule, "work_kind": req.kind}))
        a, b = sorted([first, third])
        side = "a" if a == third else "b"  # the third site lies on the first one's diversion
        session.add(Conflict(request_a=a, request_b=b, kind="diversion", hard=True, distance_m=312.0,
                             overlap_start=req.earliest_start, overlap_end=req.latest_end,
                             reason={"via": [{"site": side, "route": "diversion",
                                              "route_of": "b" if side == "a" else "a"}]}))
        zone_rule = {"id": str(ruhr.zone_id), "name": "Innenstadt Essen", "type": "zone", "capacity": 2,
                     "min_impact": "lane_reduction"}
        session.add(Conflict(request_a=a, request_b=b, kind="zone", hard=True, zone_id=ruhr.zone_id,
                             overlap_start=req.earliest_start, overlap_end=req.latest_end,
                             reason={"rule": zone_rule, "peak": 3, "peak_members": [str(uuid.uuid4())]}))
        session.commit()

    # the OGC collection names the rule and leaves out the peak's members
    items = httpx.get(f"{live_server}/ogc/collections/conflicts/items", params={"limit": 1000}).json()["features"]
    by_kind = {f["properties"]["kind"]: f["properties"] for f in items}
    assert by_kind["moratorium"]["rule_name"] == "Aufbruchsperre Rü-Deckschicht"
    assert by_kind["zone"]["rule_name"] == "Innenstadt Essen"
    assert "peak_members" not in by_kind["zone"]["reason"]

    open_map(page, live_server)
    select_site(page, str(first))
    items_text = page.locator("#d-more .conflict-item").all_inner_texts()
    text = {kind: next(t for t in items_text if t.startswith(label)) for kind, label in
            (("moratorium", "Aufbruchsperre"), ("diversion", "Umleitung"), ("zone", "Zonenkapazität"))}
    assert "Aufbruchsperre Rü-Deckschicht" in text["moratorium"] and "Deckenerneuerung 2026" in text["moratorium"]
    assert f"„{ruhr.titles[third]}“ liegt auf der Umleitungsstrecke von „{ruhr.titles[first]}“" in text["diversion"]
    assert "Abstand" not in text["diversion"] and "312" not in text["diversion"]
    assert "In der Zone „Innenstadt Essen“ sind höchstens 2 Baustellen" in text["zone"]
    page.locator("#lang-button").click()
    assert "lies on the diversion route of" in page.locator("#d-more").inner_text()
    shot(page, "conflict_sentences")


def test_signing_out_closes_the_details_of_a_draft_no_longer_visible(live_server: str, ruhr: Ruhr, page: Page,
                                                                    clean_database: Engine) -> None:
    with Session(clean_database) as session:
        other = auth.get_or_create_organisation(session, name="Gelsenwasser AG", kind="utility")
        draft = add_site(session, other.id, status="draft", title="Entwurf Hausanschluss Gelsenwasser")
        session.commit()
        draft_id = str(draft.id)
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, draft_id)  # the coordinator sees everybody's drafts
    assert page.locator("#d-title").inner_text() == "Entwurf Hausanschluss Gelsenwasser"
    page.locator("#key-button").click()  # Abmelden
    page.wait_for_function("document.getElementById('who').textContent === 'Öffentliche Ansicht'")
    page.wait_for_function("(id) => !window.bst.state.sitesById.has(id)", arg=draft_id)
    idle(page)
    assert page.locator("#details").is_hidden()
    assert "Gelsenwasser" not in page.locator("body").inner_text()
    assert page.evaluate("window.bst.state.selected") is None


def test_texts_are_german_first_with_localised_roles_problems_and_labels(live_server: str, ruhr: Ruhr,
                                                                        page: Page) -> None:
    site = str(list(ruhr.ids.values())[4])
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    r = httpx.post(f"{live_server}/v1/requests/{site}/reject", headers=headers,
                   json={"reason_code": "incomplete_information", "reason": "Lageplan fehlt."})
    assert r.status_code == 200, r.text
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    assert page.locator("#who").inner_text().endswith("(Koordinierungsstelle)")
    page.locator("#all-days").check()
    page.locator("#f-status input[value='rejected']").check()
    select_site(page, site)
    history = page.locator("#d-more .history-item").first.inner_text()
    assert "Koordinierungsstelle" in history and "Abgelehnt" in history
    assert "coordinator" not in history and "reject" not in history

    # a problem answer of the API: a German sentence, the API's English detail folded away below it
    detail = "Approve is not allowed in status slot_proposed; allowed now: reject."
    page.route("**/approve", lambda route: route.fulfill(
        status=409, content_type="application/problem+json",
        body=json.dumps({"type": "https://example.org/problems/illegal-transition", "title": "Conflict",
                         "status": 409, "detail": detail, "allowed": ["reject"]})))
    select_site(page, str(next(iter(ruhr.ids.values()))))
    page.locator("#d-more [data-action='approve']").click()
    page.wait_for_selector("#d-message .message.err")
    msg = page.locator("#d-message").inner_text()
    assert msg.startswith("Diese Aktion ist im aktuellen Status nicht möglich.")
    assert "Jetzt möglich: Ablehnen." in msg
    assert detail not in msg
    assert page.locator("#d-message .api-detail").text_content() == f"Technische Angabe der API{detail}"

    # aria-labels and the map's controls follow the language
    assert page.locator("#map").get_attribute("aria-label") == "Karte"
    assert page.locator(".maplibregl-ctrl-zoom-in").get_attribute("title") == "Hineinzoomen"
    page.locator("#lang-button").click()
    assert page.locator("#map").get_attribute("aria-label") == "Map"
    assert page.locator(".sidebar").get_attribute("aria-label") == "Filters and list of sites"
    assert page.locator(".maplibregl-ctrl-zoom-in").get_attribute("title") == "Zoom in"
    assert page.locator("#who").inner_text().endswith("(coordination office)")


def test_keyboard_opens_and_closes_the_details(live_server: str, ruhr: Ruhr, page: Page) -> None:
    first, second = (str(i) for i in list(ruhr.ids.values())[:2])
    open_map(page, live_server)
    page.locator("#all-days").check()
    page.evaluate("window.bst.map.jumpTo({center: [7.0, 51.44], zoom: 8})")
    idle(page)
    item = page.locator(f"#site-list li[data-id='{first}']")
    item.focus()
    assert page.evaluate("document.activeElement.dataset.id") == first
    page.keyboard.press("Enter")
    page.wait_for_selector("#details:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "d-title"  # the focus moves into the details
    # the conflict link is a focusable link; Enter follows it
    page.wait_for_selector("#d-more a[data-goto]")
    link = page.locator(f"#d-more a[data-goto='{second}']")
    assert link.get_attribute("href") is not None
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(t) => document.getElementById('d-title').textContent === t",
                           arg=ruhr.titles[uuid.UUID(second)])
    # Escape closes the panel and gives the focus back to the list
    page.keyboard.press("Escape")
    assert page.locator("#details").is_hidden()
    assert page.evaluate("window.bst.state.selected") is None
    assert page.evaluate("document.activeElement.closest('#site-list') !== null")

    # the Gantt chart's rows are reachable by keyboard
    page.evaluate(f"window.bst.openGantt('zones', '{ruhr.zone_id}')")
    page.wait_for_selector("#gantt:not([hidden]) svg .row")
    row = page.locator("#gantt svg .row").first
    assert row.get_attribute("tabindex") == "0"
    row.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#details:not([hidden])")
    assert page.locator("#d-title").inner_text() == ruhr.titles[uuid.UUID(row.get_attribute("data-id"))]


def test_legend_explains_every_layer(live_server: str, ruhr: Ruhr, page: Page) -> None:
    open_map(page, live_server)
    keys = set(page.eval_on_selector_all("#legend [data-legend]", "(els) => els.map((e) => e.dataset.legend)"))
    assert {"zones", "corridors", "moratoriums", "blackouts", "opportunities", "halo", "diversion",
            "unplaced"} <= keys
    assert "Zonen" in page.locator("#legend [data-legend='zones']").inner_text()
    assert page.locator("#legend .swatch.ring").count() >= 6  # the status colours of the casing


def test_small_defects_favicon_actions_heading_and_history(live_server: str, ruhr: Ruhr, page: Page,
                                                           clean_database: Engine) -> None:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    # an approved site: nothing to do for the coordinator here, so no empty "Aktionen" heading
    select_site(page, str(list(ruhr.ids.values())[1]))
    page.wait_for_selector("#d-message", state="attached")
    assert "Aktionen" not in page.locator("#d-more").inner_text()
    assert missing == []  # not even /favicon.ico

    # a submitter looking at another organisation's site: no history asked for (it would be a 403)
    first, second = list(ruhr.ids.values())[:2]
    with Session(clean_database) as session:
        owner_id = session.get(SiteRequest, first).owner_id
        _, key = auth.create_key(session, org_id=owner_id, role="submitter")
        session.commit()
    owner = page.context.new_page()
    refused: list[str] = []
    owner.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
    with_key(owner, key)
    open_map(owner, live_server)
    select_site(owner, str(second))
    owner.wait_for_selector("#d-more h3")
    assert refused == []
    assert "Verlauf" not in owner.locator("#d-more").inner_text()
    select_site(owner, str(first))  # its own site: the history is there
    owner.wait_for_function("document.getElementById('d-more').textContent.includes('Verlauf')")
    owner.close()
