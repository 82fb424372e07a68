"""Dates on the page follow the page's language, not the browser's: a planner in Essen with an English browser
(Chromium started with --lang=en-US, the tab's locale and Accept-Language en-US) sees and types DD.MM.YYYY, never
MM/DD/YYYY, where 04/01/2027 is read as the 1st of April by one person and the 4th of January by another.

Debian's Chromium (headless) against a real server with the Ruhr example."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.map.browser import (
    CHROMIUM_ARGS,
    expected_on,
    get_request,
    open_map,
    rendered_ids,
    select_site,
    shot,
    with_key,
)
from tests.map.conftest import Ruhr, tab

US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
GERMAN_DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4}$")


@pytest.fixture(scope="module")
def english_browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=[*CHROMIUM_ARGS, "--lang=en-US"], env={"LANG": "en_US.UTF-8", "LANGUAGE": "en_US"})
        yield b
        b.close()


@pytest.fixture
def english_page(english_browser: Browser) -> Iterator[Page]:
    """A wide screen's tab in an English (US) browser: navigator.language, Intl and Accept-Language say en-US."""
    yield from tab(english_browser, locale="en-US", viewport={"width": 1600, "height": 950})


def assert_english_browser(page: Page) -> None:
    """The browser itself would write the 1st of April 2027 as 4/1/2027: the page must not follow it."""
    page.goto("about:blank")
    assert page.evaluate("navigator.language") == "en-US"
    assert page.evaluate("new Intl.DateTimeFormat().format(new Date(Date.UTC(2027, 3, 1, 12)))") == "4/1/2027"


def type_into(page: Page, selector: str, text: str, key: str = "Enter") -> None:
    """Types into the field from the keyboard (what was in it selected and replaced), then Enter (or Tab)."""
    field = page.locator(selector)
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press(key)


def day(page: Page) -> str:
    return page.evaluate("window.bst.state.day")


def slider_day(page: Page) -> str:
    return page.evaluate("new Date(Number(document.getElementById('day-slider').value) * 86400000)"
                         ".toISOString().slice(0, 10)")


def test_english_browser_sees_german_dates_and_typed_days_move_the_slider(live_server: str, ruhr: Ruhr,
                                                                           english_page: Page) -> None:
    page = english_page
    assert_english_browser(page)
    open_map(page, live_server)
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.locator("h1").inner_text() == "Baustellenkarte Ruhr"

    # the day, the slider's ends and what a screen reader hears of the slider: German dates
    shown = page.locator("#day-input")
    assert shown.get_attribute("type") == "text"
    assert shown.input_value() == f"{date.fromisoformat(day(page)):%d.%m.%Y}"
    assert shown.get_attribute("placeholder") == "TT.MM.JJJJ"
    for sel in ("#slider-min", "#slider-max"):
        assert GERMAN_DATE.match(page.locator(sel).inner_text()), page.locator(sel).inner_text()
    assert page.locator("#day-slider").get_attribute("aria-valuetext") == shown.input_value()
    # the field has its visible label, and the keyboard reaches it from the slider
    assert page.get_by_label("Stichtag", exact=True).get_attribute("id") == "day-input"
    page.locator("#day-slider").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "day-input"

    # 01.04.2027 is the 1st of April (an English browser's 04/01/2027 would be read as the 4th of January)
    type_into(page, "#day-input", "01.04.2027")
    assert day(page) == slider_day(page) == "2027-04-01"
    assert shown.input_value() == "01.04.2027"
    assert rendered_ids(page) == expected_on(live_server, "2027-04-01")
    # ISO is accepted too; leaving the field (Tab) enters it as Enter does, and it is shown the German way
    type_into(page, "#day-input", "2028-06-01", key="Tab")
    assert day(page) == slider_day(page) == "2028-06-01"
    assert shown.input_value() == "01.06.2028"
    assert page.locator("#day-slider").get_attribute("aria-valuetext") == "01.06.2028"
    assert rendered_ids(page) == expected_on(live_server, "2028-06-01")
    assert not US_DATE.search(page.locator("body").inner_text())
    shot(page, "dates_english_browser")

    # the US format, an impossible day and free text: a German message, the field marked, the day unchanged
    for text in ("04/01/2027", "31.02.2027", "1. April"):
        type_into(page, "#day-input", text)
        error = page.locator("#day-error")
        assert error.is_visible()
        assert error.inner_text() == (
            f"„{text}“ ist kein gültiges Datum. Bitte im Format TT.MM.JJJJ eingeben, z. B. 01.04.2027.")
        assert error.get_attribute("role") == "alert"
        assert shown.get_attribute("aria-invalid") == "true"
        assert day(page) == slider_day(page) == "2028-06-01"
    shot(page, "dates_invalid_day")
    # Escape puts the day back (and the error away)
    page.keyboard.press("Escape")
    assert shown.input_value() == "01.06.2028"
    assert page.locator("#day-error").is_hidden()
    assert shown.get_attribute("aria-invalid") == "false"
    # a day outside the slider's period
    lo, hi = (page.locator(sel).inner_text() for sel in ("#slider-min", "#slider-max"))
    type_into(page, "#day-input", "01.01.1990")
    assert page.locator("#day-error").inner_text() == f"Der Stichtag muss zwischen {lo} und {hi} liegen."
    assert day(page) == "2028-06-01"
    # the slider, moved from the keyboard, writes its day into the field (and clears the error)
    page.locator("#day-slider").focus()
    page.keyboard.press("ArrowRight")
    assert day(page) == slider_day(page) == "2028-06-02"
    assert shown.input_value() == "02.06.2028"
    assert page.locator("#day-error").is_hidden()

    # the page switched to English: ISO dates, and either format is accepted
    page.locator("#lang-button").click()
    assert shown.input_value() == "2028-06-02"
    assert shown.get_attribute("placeholder") == "YYYY-MM-DD"
    type_into(page, "#day-input", "03.06.2028")
    assert day(page) == "2028-06-03"
    assert shown.input_value() == "2028-06-03"
    assert not US_DATE.search(page.locator("body").inner_text())


def test_english_browser_proposes_a_slot_with_a_german_date(live_server: str, ruhr: Ruhr, english_page: Page) -> None:
    page = english_page
    assert_english_browser(page)
    site = str(list(ruhr.ids.values())[3])  # submitted, no slot; window 2027-09-01 to 2028-08-31, 49 days
    before = get_request(live_server, site, ruhr.coordinator_key)
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    field = page.locator("#d-propose-start")
    assert field.get_attribute("type") == "text"  # not <input type="date">: its display follows the browser
    assert field.input_value() == f"{date.fromisoformat(before['preferred_start']):%d.%m.%Y}"
    assert page.get_by_label("Slot vorschlagen mit Beginn am").get_attribute("id") == "d-propose-start"
    assert not US_DATE.search(page.locator("#details").inner_text())

    proposals: list[str] = []
    page.on("request", lambda r: proposals.append(r.url) if r.url.endswith("/propose") else None)
    # the US format is refused on the page, in German, before anything is sent
    type_into(page, "#d-propose-start", "10/04/2027")
    page.wait_for_selector("#d-message .message.err")
    assert page.locator("#d-message").inner_text() == (
        "„10/04/2027“ ist kein gültiges Datum. Bitte im Format TT.MM.JJJJ eingeben, z. B. 01.04.2027.")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "d-propose-start"
    assert proposals == []

    # the 4th of October, typed the German way (one digit for the day is fine), Enter proposes it
    with page.expect_request(lambda r: r.url.endswith("/propose")) as sent:
        type_into(page, "#d-propose-start", "4.10.2027")
    assert sent.value.post_data_json == {"start": "2027-10-04"}
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text().startswith("Slot vorgeschlagen: 04.10.2027 – 21.11.2027.")
    assert page.locator("#d-propose-start").input_value() == "04.10.2027"
    assert get_request(live_server, site, ruhr.coordinator_key)["slot"]["start"] == "2027-10-04"


def test_dates_typed_by_hand_are_read_the_same_whatever_the_browser(live_server: str, ruhr: Ruhr,
                                                                      english_page: Page) -> None:
    page = english_page
    open_map(page, live_server)
    parsed = page.evaluate("""async (texts) => {
        const m = await import('/map/i18n.js');
        return texts.map((t) => m.parseDate(t));
    }""", ["01.04.2027", "1.4.2027", " 01. 04. 2027 ", "2027-04-01", "29.02.2028", "29.02.2027", "31.04.2027",
           "04/01/2027", "2027-4-1", "01.04.27", "01.13.2027", "", "heute"])
    assert parsed == ["2027-04-01", "2027-04-01", "2027-04-01", "2027-04-01", "2028-02-29", None, None,
                      None, None, None, None, None, None]
