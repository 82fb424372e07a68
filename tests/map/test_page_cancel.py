"""An emergency reported by mistake, cancelled from the planners' map in a real browser (Debian's Chromium, headless)
against a real server: "Notfall stornieren" is offered for an active emergency only (as GET …/actions lists
`cancel`), asks for the reason in the page's reason dialog (the reject dialog, without a code), cancels, and the
site shows as withdrawn with its history entry labelled; the approved site it had displaced is back at its old
dates, its history entry (`restore`) labelled too. Set up over the API: the displacement and its reversal are the
workflow's, not arranged."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.kit.time import today as service_today
from service.settings import Settings
from tests.conftest import site_body
from tests.map.browser import get_request, open_map, select_site, shot, with_key
from tests.map.test_page_accessibility import axe_violations

DORTMUND = {"type": "LineString", "coordinates": [[7.4650, 51.5140], [7.4680, 51.5120]]}


def day(offset: int) -> str:
    return (service_today(Settings()) + timedelta(days=offset)).isoformat()


class Api:
    def __init__(self, url: str, key: str) -> None:
        self.url, self.headers = url, {"Authorization": f"Bearer {key}"}

    def create(self, **overrides: object) -> dict:
        body = site_body(**{"earliest_start": day(0), "latest_end": day(89), "duration_days": 10,
                            "preferred_start": None, **overrides})
        r = httpx.post(f"{self.url}/v1/requests", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        return r.json()

    def step(self, rid: str, action: str, body: dict | None = None) -> dict:
        r = httpx.post(f"{self.url}/v1/requests/{rid}/{action}", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def history(self, rid: str) -> list[dict]:
        return httpx.get(f"{self.url}/v1/requests/{rid}/history", headers=self.headers).json()


@pytest.fixture
def keys(clean_database: Engine) -> dict[str, str]:
    with Session(clean_database) as session:
        made = {}
        for who, kind, role, name in (("city", "city", "submitter", "Stadt Essen – Amt für Straßen und Verkehr"),
                                      ("utility", "utility", "submitter", "Stadtwerke Essen"),
                                      ("coordinator", "coordinator", "coordinator", "Regionale Koordinierungsstelle")):
            org = auth.create_organisation(session, name=name, kind=kind)
            made[who] = auth.create_key(session, org_id=org.id, role=role)[1]
        session.commit()
    return made


def test_an_emergency_reported_by_mistake_is_cancelled_from_the_map(live_server: str, keys: dict[str, str],
                                                                    page: Page) -> None:
    city, utility, office = (Api(live_server, keys[k]) for k in ("city", "utility", "coordinator"))
    # approved works (day 5 to 14), planned works set up elsewhere, then an emergency on the first one's street
    fixed = city.create(title="Deckschicht Rüttenscheider Straße", kind="road_maintenance")
    office.step(fixed["id"], "propose", {"start": day(5)})
    city.step(fixed["id"], "accept")
    office.step(fixed["id"], "approve")
    planned = city.create(title="Fernwärme Dortmund", kind="district_heating", geometry=DORTMUND, diversions=[])
    office.step(planned["id"], "propose", {"start": day(0)})
    city.step(planned["id"], "accept")
    office.step(planned["id"], "approve")
    assert city.step(planned["id"], "start")["status"] == "active"
    burst = utility.create(title="Wasserrohrbruch Rüttenscheider Straße", kind="water", urgency="emergency",
                           latest_end=day(280), duration_days=30)
    assert burst["status"] == "active"
    moved = get_request(live_server, fixed["id"], keys["coordinator"])["slot"]
    assert moved["start"] > day(29), moved  # displaced behind the emergency

    with_key(page, keys["coordinator"])
    open_map(page, live_server)
    page.locator("#all-days").check()
    cancel = "#d-more [data-action='cancel']"
    # offered for the active emergency only: not for the approved site it displaced, nor for planned works set up
    for other in (fixed["id"], planned["id"]):
        select_site(page, other)
        page.wait_for_selector("#d-message", state="attached")
        assert page.locator(cancel).count() == 0, other
    select_site(page, burst["id"])
    page.wait_for_selector(cancel)
    assert page.locator(cancel).inner_text() == "Notfall stornieren"

    # the reason is asked in the page's reason dialog (the reject dialog), without a reason code
    page.locator(cancel).click()
    page.wait_for_selector("#reject-dialog[open]")
    assert page.locator("#reject-title").inner_text() == "Notfall stornieren"
    assert page.locator("#reject-code-field").is_hidden()
    assert page.locator("#reject-note").inner_text().startswith("Für einen irrtümlich gemeldeten Notfall")
    assert page.locator("#reject-dialog").get_attribute("aria-describedby") == "reject-note"
    assert page.evaluate("document.activeElement.id") == "reject-text"
    assert page.locator("#reject-send").inner_text() == "Notfall stornieren"
    assert axe_violations(page) == []
    # without a reason: refused in the dialog (German), nothing sent
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/cancel") else None)
    page.locator("#reject-send").click()
    page.wait_for_selector("#reject-error:not([hidden])")
    assert page.locator("#reject-error").inner_text().startswith("Bitte begründen Sie die Stornierung")
    assert page.locator("#reject-dialog").evaluate("(d) => d.open")
    assert sent == []
    assert get_request(live_server, burst["id"], keys["coordinator"])["status"] == "active"

    reason = "Doppelt gemeldet: der Rohrbruch liegt in der Zweigertstraße."
    page.locator("#reject-text").fill(reason)
    with page.expect_request(lambda q: q.url.endswith(f"/v1/requests/{burst['id']}/cancel")) as request:
        page.locator("#reject-send").click()
    assert request.value.post_data_json == {"reason": reason}
    assert request.value.headers.get("if-match", "").startswith('"v')
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text() == "Notfall storniert."
    assert get_request(live_server, burst["id"], keys["coordinator"])["status"] == "withdrawn"
    assert office.history(burst["id"])[-1]["action"] == "cancel"

    # the page: withdrawn, the history entry labelled with the reason; no more actions
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.status", burst["id"]) == "withdrawn"
    assert "Zurückgezogen" in page.locator("#d-body .pill").first.inner_text()
    latest = page.locator("#d-more .history-item").first.inner_text()
    assert "Notfall storniert" in latest and "cancel" not in latest, latest
    assert "Status: In Ausführung → Zurückgezogen" in latest, latest
    assert reason in latest, latest
    assert page.locator("#d-more [data-action]").count() == 0
    shot(page, "emergency-cancelled")

    # the displaced site has its old dates back, on the map too (read again, though no conflict names it)
    back = get_request(live_server, fixed["id"], keys["coordinator"])["slot"]
    assert (back["start"], back["status"]) == (day(5), "approved"), back
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.slot_start", fixed["id"]) == day(5)
    assert office.history(fixed["id"])[-1]["action"] == "restore"
    select_site(page, fixed["id"])
    latest = page.locator("#d-more .history-item").first.inner_text()
    assert "Früherer Termin wiederhergestellt (Notfall storniert)" in latest, latest
    assert "restore" not in latest, latest

    # in English
    page.locator("#lang-button").click()
    page.wait_for_function("document.querySelector('#d-more .history-item')?.textContent.includes('Earlier dates')")
    assert "Earlier dates restored (emergency cancelled)" in page.locator("#d-more .history-item").first.inner_text()
    select_site(page, burst["id"])
    page.wait_for_selector("#d-more .history-item")
    assert "Emergency cancelled" in page.locator("#d-more .history-item").first.inner_text()


def test_the_cancel_labels_are_german_first_and_english_second(live_server: str, page: Page) -> None:
    open_map(page, live_server)
    labels = page.evaluate("""async () => {
        const { VALUES, LABELS } = await import('/map/i18n.js');
        return ['de', 'en'].map((l) => [VALUES[l].verb.cancel, VALUES[l].action.cancel, VALUES[l].action.restore,
                                        LABELS[l].cancel_emergency]);
    }""")
    assert labels == [
        ["Notfall stornieren", "Notfall storniert", "Früherer Termin wiederhergestellt (Notfall storniert)",
         "Notfall stornieren"],
        ["Cancel emergency", "Emergency cancelled", "Earlier dates restored (emergency cancelled)",
         "Cancel emergency"],
    ]
