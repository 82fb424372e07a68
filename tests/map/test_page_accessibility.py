"""The map page for a planner who uses the keyboard and a screen reader, or sees poorly, in a real browser
(Debian's Chromium, headless): axe-core finds no serious or critical violation in the page's states (public view,
signed in with details, legend, Gantt chart and the reject dialog open, English); every control has a name; the
slider moves by day with the arrow keys and says the day; the list of sites in view is the map's text alternative
(one tab stop, arrow keys, conflicts named) and the canvas points to it; the focus ring can be seen; the reject
dialog keeps and gives back the focus.

axe-core (MPL-2.0) is vendored for these tests only: tests/map/vendor/axe-core/ (README.md there)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page

from service.settings import REPO_ROOT
from tests.map.browser import idle, open_map, select_site, with_key
from tests.map.conftest import Ruhr

AXE = REPO_ROOT / "tests" / "map" / "vendor" / "axe-core" / "axe.min.js"
FIRST, SECOND = "EB-2027-0142", "SWE-W-27-0318"  # proposed (full closure) / approved (lane reduction); in conflict


def axe_violations(page: Page) -> list[str]:
    """The serious and critical violations axe-core finds on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).flatMap((v) =>
            v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}: ${n.failureSummary.replace(/\\s+/g, ' ')}`));
    }""")
    return found


def nameless_controls(page: Page) -> list[str]:
    """Visible buttons, inputs, selects, links and focusable elements without an accessible name (label,
    aria-label, aria-labelledby, title or text)."""
    return page.evaluate("""() => {
        const sel = 'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"]), [role=button]';
        const named = (e) => {
            if (e.getAttribute('aria-label')?.trim()) return true;
            const by = e.getAttribute('aria-labelledby');
            if (by && by.split(/\\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return true;
            if (e.labels && [...e.labels].some((l) => l.textContent.trim())) return true;
            if (e.title?.trim && e.title.trim()) return true;
            return !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) && e.textContent.trim().length > 0;
        };
        return [...document.querySelectorAll(sel)]
            .filter((e) => e.getClientRects().length && !e.closest('[hidden], [inert]'))
            .filter((e) => !named(e)).map((e) => e.outerHTML.slice(0, 120));
    }""")


def test_axe_finds_no_serious_violations_in_the_page_states(live_server: str, ruhr: Ruhr, page: Page) -> None:
    open_map(page, live_server)
    assert page.evaluate("document.documentElement.lang") == "de"
    assert axe_violations(page) == []
    assert nameless_controls(page) == []

    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#legend-toggle").click()
    select_site(page, str(ruhr.ids[SECOND]))  # approved, lane reduction: a light pill
    page.wait_for_selector("#d-more h3:has-text('Verlauf')")
    assert axe_violations(page) == []
    select_site(page, str(ruhr.ids[FIRST]))  # proposed: the planner's buttons and the proposal's date field
    page.wait_for_selector("#d-more [data-action='reject']")
    assert axe_violations(page) == []
    assert nameless_controls(page) == []
    page.evaluate("(id) => window.bst.openGantt('zones', id)", str(ruhr.zone_id))
    page.wait_for_selector("#gantt:not([hidden]) svg .row")
    assert axe_violations(page) == []  # the chart was an image holding buttons (nested-interactive)
    row = page.locator("#gantt svg .row").first
    label = row.get_attribute("aria-label")
    assert "Slot" in label or "Zeitfenster" in label, label  # a row says its dates, not only the title
    page.locator("#d-more [data-action='reject']").click()
    page.wait_for_selector("#reject-dialog[open]")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")

    page.locator("#lang-button").click()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.wait_for_selector("#d-more [data-action='reject']")
    assert axe_violations(page) == []


def test_pills_keep_their_colour_with_readable_text(live_server: str, ruhr: Ruhr, page: Page) -> None:
    """The status and impact pills: black or white text, whichever has at least 4.5:1 on the pill's colour."""
    open_map(page, live_server)
    select_site(page, str(ruhr.ids[SECOND]))
    ratios = page.evaluate("""() => [...document.querySelectorAll('#d-body .pill')].map((e) => {
        const rgb = (c) => c.match(/\\d+/g).slice(0, 3).map(Number).map((x) => x / 255)
            .map((c) => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        const lum = (c) => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const s = getComputedStyle(e), a = lum(s.color), b = lum(s.backgroundColor);
        return [e.textContent, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
    })""")
    assert len(ratios) == 2, ratios  # status and impact (lane reduction: amber, white text on it was 2.3:1)
    assert all(ratio >= 4.5 for _, ratio in ratios), ratios


def test_slider_moves_by_day_with_the_arrow_keys_and_says_the_day(live_server: str, ruhr: Ruhr, page: Page) -> None:
    open_map(page, live_server)
    slider = page.locator("#day-slider")
    assert slider.get_attribute("aria-label") == "Stichtag (Schieberegler)"
    before = page.evaluate("window.bst.state.day")
    slider.focus()
    page.keyboard.press("ArrowRight")
    after = page.evaluate("window.bst.state.day")
    assert after != before
    y, m, d = after.split("-")
    assert slider.get_attribute("aria-valuetext") == f"{d}.{m}.{y}"  # the day, not the number of days since 1970
    assert page.locator("#day-input").input_value() == f"{d}.{m}.{y}"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("window.bst.state.day") == before
    # what the page says after a step is announced: a polite live region
    status = page.locator("#status-line")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"


def test_the_list_is_the_maps_text_alternative_and_one_tab_stop(live_server: str, ruhr: Ruhr, page: Page) -> None:
    first, second = str(ruhr.ids[FIRST]), str(ruhr.ids[SECOND])
    open_map(page, live_server)
    page.locator("#all-days").check()
    page.evaluate("window.bst.map.jumpTo({center: [7.0, 51.44], zoom: 8})")
    idle(page)
    canvas = page.locator("#map canvas")
    described = canvas.get_attribute("aria-describedby")
    assert "Baustellen im Ausschnitt" in page.locator(f"#{described}").text_content()
    # a site in conflict names the other site in words, not only with the red halo and ⚠
    flag = page.locator(f"#site-list li[data-id='{first}'] .conflict-flag .sr-only").text_content()
    assert flag == f"Konflikt mit „{ruhr.titles[uuid.UUID(second)]}“", flag
    assert page.locator("#site-list li[data-id]").count() > 3
    assert page.locator("#site-list li[data-id][tabindex='0']").count() == 1  # one stop in the tab order

    # Tab from the last stop of the filters (the folded zones' and corridors' timelines) lands on the list once, the
    # next Tab leaves it for the map
    page.locator("#timelines > summary").focus()
    page.keyboard.press("Tab")
    entry = page.evaluate("document.activeElement.dataset.id")
    assert entry == page.locator("#site-list li[data-id]").first.get_attribute("data-id")
    page.keyboard.press("ArrowDown")
    moved = page.evaluate("document.activeElement.dataset.id")
    assert moved == page.locator("#site-list li[data-id]").nth(1).get_attribute("data-id")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.id") == \
        page.locator("#site-list li[data-id]").last.get_attribute("data-id")
    page.keyboard.press("Home")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#site-list')") is None
    assert page.evaluate("document.activeElement.tagName") == "CANVAS"


def test_the_focus_ring_can_be_seen(live_server: str, ruhr: Ruhr, page: Page) -> None:
    """At least 3:1 against white for the ring of a control on a white panel, and against the dark top bar."""
    open_map(page, live_server)
    contrast = """(id) => {
        const rgb = (c) => c.match(/\\d+/g).slice(0, 3).map(Number).map((x) => x / 255)
            .map((c) => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        const lum = (c) => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const e = document.activeElement, s = getComputedStyle(e);
        const behind = e.closest('.topbar') ? 'rgb(18, 50, 79)' : 'rgb(255, 255, 255)';
        const a = lum(s.outlineColor), b = lum(behind);
        return [s.outlineStyle, parseFloat(s.outlineWidth), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
    }"""
    for selector in ("#legend-toggle", "#f-owner", "#lang-button", ".maplibregl-ctrl-zoom-in"):
        page.locator(selector).focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focused by the keyboard: :focus-visible
        style, width, ratio = page.evaluate(contrast)
        assert style == "solid" and width >= 2 and ratio >= 3, (selector, style, width, ratio)


def test_reject_dialog_keeps_and_gives_back_the_focus(live_server: str, ruhr: Ruhr, page: Page) -> None:
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, str(ruhr.ids[FIRST]))
    button = page.locator("#d-more [data-action='reject']")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#reject-dialog[open]")
    assert page.locator("#reject-dialog").get_attribute("aria-labelledby") == "reject-title"
    assert page.evaluate("document.activeElement.id") == "reject-code"
    for _ in range(8):  # Tab stays in the dialog and wraps round
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#reject-dialog') !== null"), \
            page.evaluate("document.activeElement.outerHTML.slice(0, 80)")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.closest('#reject-dialog') !== null")
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('reject-dialog').open")
    assert page.evaluate("document.activeElement.dataset.action") == "reject"
    assert not page.locator("#details").is_hidden()  # Escape closed the dialog, not the details

    # sent: the details are drawn anew, the focus goes to their title (the status line says the step's message)
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#reject-dialog[open]")
    page.locator("#reject-code").select_option("incomplete_information")
    page.locator("#reject-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#d-message .message.ok")
    page.wait_for_function("document.activeElement.id === 'd-title'")
    assert page.locator("#status-line").inner_text() == "Abgelehnt."
