"""The map page for a planner on the keyboard and with a screen reader, in a real browser (Debian's Chromium,
headless): a zone's Gantt chart opened without the mouse (the list of zones and corridors); the page's questions
(approve despite a conflict, start a plan run, the API key) in its own modal dialog instead of the browser's
confirm() and prompt() (the tab fixtures fail a test on any browser dialog); a step's message said once.

The Ruhr example (conftest.load_ruhr): its first site (EB-2027-0142) has a proposed slot that clashes with the
approved slot of its second (SWE-W-27-0318); a zone "Innenstadt Essen" lies round the first."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.map.browser import get_request, open_map, question, select_site, with_key
from tests.map.conftest import Ruhr
from tests.map.test_page_accessibility import axe_violations, nameless_controls

FIRST = "EB-2027-0142"


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Presses Tab until the element `selector` has the focus (as a keyboard user gets there)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached by Tab; at {page.evaluate('document.activeElement.outerHTML')}")


def test_a_zones_gantt_chart_opens_from_the_keyboard(live_server: str, ruhr: Ruhr, page: Page) -> None:
    open_map(page, live_server)
    page.locator("#lang-button").focus()  # from the top of the page on: Tab only
    tab_to(page, "#timelines > summary")
    assert page.locator("#timelines > summary").inner_text() == "Zeitpläne der Zonen und Korridore"
    page.keyboard.press("Enter")  # unfolds the list
    page.keyboard.press("Tab")
    button = f"#rule-list button[data-gantt='zones'][data-id='{ruhr.zone_id}']"
    assert page.evaluate("(s) => document.activeElement.matches(s)", button)
    assert page.locator(button).inner_text() == "Innenstadt Essen (Zone)"
    page.keyboard.press("Enter")
    page.wait_for_selector("#gantt:not([hidden]) svg .row")
    # the focus is on the chart's title; Tab reaches its rows, each named with its site
    assert page.evaluate("document.activeElement.id") == "gantt-title"
    assert page.locator("#gantt-title").inner_text() == "Zeitplan: Innenstadt Essen"
    tab_to(page, "#gantt .row", limit=4)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')")
    rows = page.eval_on_selector_all("#gantt .row", "(els) => els.map((e) => e.getAttribute('aria-label'))")
    assert any(row.startswith(f"{ruhr.titles[ruhr.ids[FIRST]]};") for row in rows), rows
    assert axe_violations(page) == []
    assert nameless_controls(page) == []
    # Escape closes the chart and gives the focus back to the zone's button
    page.keyboard.press("Escape")
    assert page.locator("#gantt").is_hidden()
    assert page.evaluate("(s) => document.activeElement.matches(s)", button)

    page.locator("#lang-button").click()
    assert page.locator(button).inner_text() == "Innenstadt Essen (zone)"
    assert page.locator("#timelines > summary").inner_text() == "Timelines of the zones and corridors"


def test_the_override_question_is_the_pages_own_dialog(live_server: str, ruhr: Ruhr, laptop: Page) -> None:
    page = laptop  # no answers given by the fixture: the test answers; a browser dialog would fail it
    site = str(ruhr.ids[FIRST])
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, site)
    approve = "#d-more [data-action='approve']"
    page.wait_for_selector(approve)
    page.locator(approve).focus()
    page.keyboard.press("Enter")
    asked = question(page)
    assert asked["title"] == "Trotzdem genehmigen?"
    assert asked["text"].startswith("Der Slot kollidiert mit genehmigten oder fixierten Slots: „"), asked
    # a modal dialog named by its title and described by the question; the focus in it, on "Abbrechen"
    dialog = page.locator("#ask-dialog")
    assert dialog.get_attribute("aria-labelledby") == "ask-title"
    assert dialog.get_attribute("aria-describedby") == "ask-text"
    assert page.evaluate("document.getElementById('ask-dialog').matches(':modal')")
    assert page.evaluate("document.activeElement.id") == "ask-cancel"
    assert page.locator("#ask-ok").inner_text() == "Trotzdem genehmigen"
    for _ in range(5):  # Tab stays in the dialog and wraps round
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#ask-dialog') !== null")
    assert axe_violations(page) == []
    # Escape cancels: the refusal is shown, nothing approved, the focus back on "Genehmigen"
    page.keyboard.press("Escape")
    page.wait_for_selector("#d-message .message.err")
    assert not page.evaluate("document.getElementById('ask-dialog').open")
    page.wait_for_function("document.activeElement.dataset.action === 'approve'")
    assert not page.locator("#details").is_hidden()  # Escape closed the question, not the details
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "slot_proposed"

    # asked again and confirmed from the keyboard: approved with `override`
    page.keyboard.press("Enter")
    question(page)
    page.keyboard.press("Shift+Tab")  # from "Abbrechen" round to "Trotzdem genehmigen"
    assert page.evaluate("document.activeElement.id") == "ask-ok"
    with page.expect_request(lambda q: q.url.endswith("/approve") and q.post_data_json == {"override": True}):
        page.keyboard.press("Enter")
    page.wait_for_selector("#d-message .message.ok")
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "approved"


def test_plan_run_and_key_are_asked_in_the_pages_dialog(live_server: str, ruhr: Ruhr, laptop: Page) -> None:
    page = laptop
    open_map(page, live_server)
    # the key: a labelled password field; an unknown key is said in the dialog, asked again
    page.locator("#key-button").click()
    assert question(page)["title"] == "Anmelden mit dem API-Schlüssel"
    assert page.evaluate("document.activeElement.id") == "ask-input"
    field = page.locator("#ask-input")
    assert field.get_attribute("type") == "password"
    assert page.evaluate("[...document.getElementById('ask-input').labels].map((l) => l.textContent.trim())") \
        == ["API-Schlüssel"]
    assert axe_violations(page) == []
    field.fill("bst_unknown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ask-error:not([hidden])")
    assert page.locator("#ask-error").inner_text() == "Der Schlüssel ist ungültig oder widerrufen."
    assert page.evaluate("document.getElementById('ask-dialog').open")
    page.locator("#ask-input").fill(ruhr.coordinator_key)
    page.locator("#ask-ok").click()
    page.wait_for_selector("#plan-button:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "key-button"

    # the plan run: asked with its area and period; cancelled, nothing is started
    started: list[str] = []
    page.on("request", lambda r: started.append(r.url) if r.method == "POST" and r.url.endswith("/v1/plans") else None)
    page.locator("#plan-button").click()
    asked = question(page)
    assert asked["title"] == "Planungslauf starten"
    assert "sichtbaren Kartenausschnitt" in asked["text"]
    page.locator("#ask-cancel").click()
    assert not page.evaluate("document.getElementById('ask-dialog').open")
    assert page.evaluate("document.activeElement.id") == "plan-button"
    assert started == []
    page.locator("#plan-button").click()
    question(page)
    with page.expect_response(lambda r: r.url.endswith("/v1/plans") and r.request.method == "POST") as answer:
        page.locator("#ask-ok").click()
    assert answer.value.status == 202


# Records, for every text a step puts into the page, the live region it lands in (an element with aria-live, or
# the role status, alert or log, itself inserted or an ancestor): each record is one announcement.
WATCH_LIVE_REGIONS = """(said) => {
    window.liveSaid = [];
    const region = (n) => (n.nodeType === 1 ? n : n.parentElement)
        ?.closest('[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]');
    new MutationObserver((records) => {
        for (const r of records) {
            const nodes = r.type === 'characterData' ? [r.target] : [...r.addedNodes];
            for (const n of nodes) {
                const live = region(n);
                if (live && n.textContent.includes(said)) window.liveSaid.push(live.id || live.className);
            }
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_a_steps_message_is_said_once(live_server: str, ruhr: Ruhr, page: Page) -> None:
    site = str(list(ruhr.ids.values())[3])  # submitted, no slot
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    page.wait_for_selector("#d-propose-start")
    page.evaluate(WATCH_LIVE_REGIONS, "Slot vorgeschlagen")
    page.locator("#d-propose-start").fill("04.10.2027")
    page.locator("#d-more [data-action='propose']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#d-message .message.ok")
    page.wait_for_function("document.activeElement !== document.body")
    shown = page.locator("#d-message").inner_text()
    assert shown.startswith("Slot vorgeschlagen: 04.10.2027"), shown
    # one live region (the status line) received it, once; the message below the details is no second one
    assert page.evaluate("window.liveSaid") == ["status-line"]
    assert page.locator("#status-line").inner_text() == shown
    assert page.locator("#d-message [role], #d-message[role], #d-message [aria-live]").count() == 0
    # and the focus (drawn anew, the button is gone) is not on the message either: it would be read out again
    assert page.evaluate("document.activeElement.id") == "d-title"
    assert "Slot vorgeschlagen" not in page.evaluate("document.activeElement.textContent")
