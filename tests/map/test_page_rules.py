"""The page's actions against what the API refuses in a real browser (Debian's Chromium, headless): a reject
sent with the ETag read (a stale page is refused, 412), and approvals and locks of a slot that lies in a
moratorium (409 `rule-conflict`): said in German, overridable for an approval only.

The Ruhr example's "Gasleitungserneuerung Hohe Straße" (DEW21), proposed at its preferred start 2027-05-03,
lies in the example's no-dig area "Aufgrabungssperre Hohe Straße (Dortmund)" (2026-10-01 to 2029-09-30)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.map.browser import get_request, open_map, post_example_moratorium, question, select_site, with_key
from tests.map.conftest import Ruhr

HOHE_STRASSE = "DEW-WG-2027-131"
MORATORIUM = "Aufgrabungssperre Hohe Straße (Dortmund)"


def test_reject_of_a_stale_page_is_refused(live_server: str, ruhr: Ruhr, page: Page) -> None:
    site = str(list(ruhr.ids.values())[3])  # submitted, no slot
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    before = get_request(live_server, site, ruhr.coordinator_key)
    assert before["status"] == "submitted"
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    page.wait_for_selector("#d-more [data-action='reject']")

    # the coordination office proposes a slot meanwhile (another tab): the page has not seen it
    r = httpx.post(f"{live_server}/v1/requests/{site}/propose", json={"start": "2027-10-04"}, headers=headers)
    assert r.status_code == 200, r.text
    page.locator("#d-more [data-action='reject']").click()
    page.wait_for_selector("#reject-dialog[open]")
    page.locator("#reject-code").select_option("incomplete_information")
    with page.expect_request(lambda q: q.url.endswith("/reject")) as sent:
        page.locator("#reject-send").click()
    assert sent.value.headers["if-match"] == f'"v{before["version"]}"'
    page.wait_for_selector("#d-message .message.err")
    error = page.locator("#d-message").inner_text()
    assert error.startswith("Der Antrag wurde inzwischen geändert; bitte neu laden."), error
    assert not page.locator("#reject-dialog").evaluate("(d) => d.open")
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "slot_proposed"  # not rejected

    # read again: the reject passes, with the current ETag
    select_site(page, site)
    current = get_request(live_server, site, ruhr.coordinator_key)
    page.wait_for_selector("#d-more [data-action='reject']")
    page.locator("#d-more [data-action='reject']").click()
    page.wait_for_selector("#reject-dialog[open]")
    page.locator("#reject-code").select_option("incomplete_information")
    with page.expect_request(lambda q: q.url.endswith("/reject")) as sent:
        page.locator("#reject-send").click()
    assert sent.value.headers["if-match"] == f'"v{current["version"]}"'
    page.wait_for_selector("#d-message .message.ok")
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "rejected"


def test_slot_in_a_moratorium_is_refused_in_german_and_approved_with_override(
        live_server: str, ruhr: Ruhr, laptop: Page) -> None:
    page = laptop  # a tab whose questions the test answers itself
    site = str(ruhr.ids[HOHE_STRASSE])
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    post_example_moratorium(live_server, MORATORIUM, ruhr.coordinator_key)
    # a proposal in it passes (with a warning): the owner answers first
    r = httpx.post(f"{live_server}/v1/requests/{site}/propose", json={"start": "2027-05-03"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["warnings"]

    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, site)
    page.wait_for_selector("#d-more [data-action='lock']")
    german = f"Der Slot liegt in einer Sperrzeit oder einem Aufbruchverbot: „{MORATORIUM}“."

    # a lock cannot override: refused, said in German, no question asked, the slot stays proposed
    page.locator("#d-more [data-action='lock']").click()
    page.wait_for_selector("#d-message .message.err")
    error = page.locator("#d-message").inner_text()
    assert error.startswith(german), error
    assert "no-dig moratorium" not in error  # the API's own detail: folded away
    assert "no-dig moratorium" in page.locator("#d-message .api-detail").text_content()
    assert not page.locator("#ask-dialog").evaluate("(d) => d.open")
    assert get_request(live_server, site, ruhr.coordinator_key)["slot"]["status"] == "proposed"

    # an approval asks whether to override, in German; declined, the refusal is shown and nothing changes
    page.evaluate("document.getElementById('d-message').replaceChildren()")
    page.locator("#d-more [data-action='approve']").click()
    asked = question(page)
    assert asked == {"title": "Trotzdem genehmigen?", "text": german}, asked
    page.locator("#ask-cancel").click()
    page.wait_for_selector("#d-message .message.err")
    assert page.locator("#d-message").inner_text().startswith(german)
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "slot_proposed"

    # accepted: approved with override
    with page.expect_request(lambda q: q.url.endswith("/approve") and q.post_data_json == {"override": True}):
        page.locator("#d-more [data-action='approve']").click()
        assert question(page)["text"] == german
        page.locator("#ask-ok").click()
    page.wait_for_selector("#d-message .message.ok")
    after = get_request(live_server, site, ruhr.coordinator_key)
    assert after["status"] == "approved"
    assert (after["slot"]["start"], after["slot"]["status"]) == ("2027-05-03", "approved")
    overridden = after["slot"]["explanation"]["overridden_rules"]
    assert [r["name"] for r in overridden] == [MORATORIUM]
    # the success message says what was overridden (the answer's warnings), in German only; so does the status line
    shown = page.locator("#d-message").inner_text()
    assert shown == f"Genehmigt. Hinweise: {overridden[0]['de']}", shown
    assert MORATORIUM in shown and overridden[0]["en"] not in shown
    assert page.locator("#status-line").inner_text() == shown
