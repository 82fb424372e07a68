"""Planner actions and filters of the page in a real browser (Debian's Chromium, headless) against a real
server with the Ruhr example: reject with a reason, lock a slot, start a plan run, the filter checkboxes,
and the public view without any action.

The example's first three sites have a slot (proposed, approved, locked); the others are submitted."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.requests.models import SiteRequest
from service.workflow.reasons import COORDINATOR_CODES
from tests.map.browser import asked, get_request, idle, list_ids, open_map, rendered_ids, select_site, shot, with_key
from tests.map.conftest import Ruhr

DEFAULT_STATUSES = {"draft", "submitted", "slot_proposed", "accepted", "contested", "approved", "active"}


def sites(url: str, **params: str) -> dict[str, dict]:
    """Public site features by id (default statuses of the page, all periods), optionally filtered."""
    features = httpx.get(f"{url}/ogc/collections/sites/items", params={"limit": 10000, **params}).json()["features"]
    return {f["id"]: f["properties"] for f in features if f["properties"]["status"] in DEFAULT_STATUSES}


def open_filter(page: Page, box: str) -> None:
    """Unfold the <details> section that holds the checkboxes `#box` (kind and conflict kinds start folded)."""
    page.evaluate("(id) => { document.getElementById(id).closest('details').open = true; }", box)


def test_planner_rejects_a_request_with_a_reason(live_server: str, ruhr: Ruhr, page: Page) -> None:
    site = str(list(ruhr.ids.values())[3])
    headers = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "submitted"
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    page.wait_for_selector("#d-more [data-action='reject']")
    assert site in rendered_ids(page)

    # the dialog offers the coordinators' reason codes; "other" without a text is refused in the dialog (which
    # stays open, in German) before anything is sent, and nothing changes
    page.locator("#d-more [data-action='reject']").click()
    page.wait_for_selector("#reject-dialog[open]")
    codes = page.eval_on_selector_all("#reject-code option", "(os) => os.map((o) => o.value)")
    assert codes == list(COORDINATOR_CODES)
    page.locator("#reject-code").select_option("other")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/reject") else None)
    page.locator("#reject-send").click()
    page.wait_for_selector("#reject-error:not([hidden])")
    assert "Sonstiger Grund" in page.locator("#reject-error").inner_text()
    assert page.locator("#reject-dialog").evaluate("(d) => d.open")
    assert sent == []
    assert get_request(live_server, site, ruhr.coordinator_key)["status"] == "submitted"
    page.locator("#reject-cancel").click()
    assert not page.locator("#reject-dialog").evaluate("(d) => d.open")

    # with a code and a text
    reason = "Verkehrszeichenplan fehlt; bitte mit Lageplan neu einreichen."
    page.locator("#d-more [data-action='reject']").click()
    page.wait_for_selector("#reject-dialog[open]")
    assert page.locator("#reject-text").input_value() == ""  # the last attempt's text is not kept
    page.locator("#reject-code").select_option("incomplete_information")
    page.locator("#reject-text").fill(reason)
    page.locator("#reject-send").click()
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text() == "Abgelehnt."

    after = get_request(live_server, site, ruhr.coordinator_key)
    assert after["status"] == "rejected"
    assert after["slot"] is None
    history = httpx.get(f"{live_server}/v1/requests/{site}/history", headers=headers).json()
    assert history[-1]["action"] == "reject"
    assert history[-1]["reason_code"] == "incomplete_information"
    assert history[-1]["reason"] == reason

    # the page: the details say rejected, with the reason in the history; no more actions
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.status", site) == "rejected"
    assert "Abgelehnt" in page.locator("#d-body .pill").first.inner_text()
    latest = page.locator("#d-more .history-item").first.inner_text()
    assert f"Angaben unvollständig: {reason}" in latest
    # what changed reads "before → after"
    assert "Status: Beantragt → Abgelehnt" in latest, latest
    assert page.locator("#d-more [data-action]").count() == 0
    shot(page, "rejected")
    # rejected sites are filtered out by default: gone from the map and the list until the status is ticked
    assert site not in rendered_ids(page)
    assert site not in list_ids(page)
    page.locator("#f-status input[value='rejected']").check()
    assert site in rendered_ids(page)
    assert site in list_ids(page)


def test_planner_locks_a_proposed_slot(live_server: str, ruhr: Ruhr, page: Page) -> None:
    proposed, approved, locked = (str(i) for i in list(ruhr.ids.values())[:3])
    before = get_request(live_server, proposed, ruhr.coordinator_key)
    assert before["slot"]["status"] == "proposed"
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)

    # only a proposed slot can be locked: no button for an approved or an already locked one
    for other in (approved, locked):
        select_site(page, other)
        page.wait_for_selector("#d-message", state="attached")
        assert page.locator("#d-more [data-action='lock']").count() == 0, other

    select_site(page, proposed)
    page.wait_for_selector("#d-more [data-action='lock']")
    assert "vorgeschlagen" in page.locator("#d-slot").inner_text()
    # the proposed slot clashes with the approved one: a lock is refused as a proposal would be, in German
    page.locator("#d-more [data-action='lock']").click()
    page.wait_for_selector("#d-message .message.err")
    assert page.locator("#d-message").inner_text().startswith(  # naming the approved site it clashes with
        f"Der Slot kollidiert mit genehmigten oder fixierten Slots: „{ruhr.titles[uuid.UUID(approved)]}“")
    assert get_request(live_server, proposed, ruhr.coordinator_key)["slot"]["status"] == "proposed"
    # the coordination office revokes the clashing approval: now the lock passes
    r = httpx.post(f"{live_server}/v1/requests/{approved}/revoke", json={"reason": "Termin neu abstimmen"},
                   headers={"Authorization": f"Bearer {ruhr.coordinator_key}"})
    assert r.status_code == 200, r.text
    page.locator("#d-more [data-action='lock']").click()
    page.wait_for_selector("#d-message .message.ok")
    assert page.locator("#d-message").inner_text() == "Slot fixiert."

    after = get_request(live_server, proposed, ruhr.coordinator_key)
    assert after["slot"]["status"] == "locked"
    assert (after["slot"]["start"], after["slot"]["end"]) == (before["slot"]["start"], before["slot"]["end"])
    assert after["status"] == "slot_proposed"  # locking keeps the proposal, it does not approve it
    assert "fixiert" in page.locator("#d-slot").inner_text()
    assert page.evaluate("(id) => window.bst.state.sitesById.get(id).properties.slot_status", proposed) == "locked"
    assert page.locator("#d-more [data-action='lock']").count() == 0
    assert page.locator("#d-more [data-action='approve']").count() == 1  # still to be approved
    shot(page, "slot_locked")


def test_planner_starts_a_plan_run(live_server: str, ruhr: Ruhr, page: Page, clean_database: Engine) -> None:
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    idle(page)
    with page.expect_response(lambda r: r.url.endswith("/v1/plans") and r.request.method == "POST") as answer:
        page.locator("#plan-button").click()
    response = answer.value
    assert response.status == 202
    plan = response.json()
    sent = response.request.post_data_json

    # the visible map area (the whole example) and the period of the windows there (test_page_outcomes: a window
    # reaching past the slider's period)
    windows = [(p["earliest_start"], p["latest_end"]) for p in sites(live_server).values()]
    lo, hi = min(a for a, _ in windows), max(b for _, b in windows)
    assert (sent["from"], sent["to"]) == (lo, hi)
    west, south, east, north = page.evaluate("window.bst.map.getBounds().toArray().flat()")
    assert all(abs(a - b) < 1e-5 for a, b in zip(sent["bbox"], (west, south, east, north), strict=True))
    questions = asked(page)  # the page's question, answered by the fixture
    assert len(questions) == 1 and questions[0]["title"] == "Planungslauf starten", questions
    assert "sichtbaren Kartenausschnitt" in questions[0]["text"]
    assert f"{lo[8:10]}.{lo[5:7]}.{lo[:4]}" in questions[0]["text"]
    assert page.evaluate("document.activeElement.id") == "plan-button"  # the focus back where the question came from

    # the page polls the run and shows its state: queued, as no worker runs here
    page.wait_for_function("(id) => document.getElementById('status-line').textContent.includes(id)",
                           arg=plan["id"][:8])
    assert page.locator("#status-line").inner_text() == f"Planungslauf {plan['id'][:8]}: wartet (0 %)"
    shot(page, "plan_queued")

    run = httpx.get(f"{live_server}/v1/plans/{plan['id']}",
                    headers={"Authorization": f"Bearer {ruhr.coordinator_key}"}).json()
    assert run["status"] == "queued"
    assert run["params"]["from"] == lo and run["params"]["to"] == hi
    assert run["params"]["bbox"] == sent["bbox"]
    with clean_database.connect() as conn:
        assert conn.execute(text("select count(*) from plan_runs")).scalar() == 1  # exactly one run queued


def test_filter_checkboxes_hide_and_show_sites(live_server: str, ruhr: Ruhr, page: Page) -> None:
    open_map(page, live_server)
    page.locator("#all-days").check()
    everything = set(sites(live_server))
    assert rendered_ids(page) == everything
    assert list_ids(page) == everything

    # every kind and every impact is shown, so every box is ticked
    for box in ("f-kind", "f-impact"):
        values = page.eval_on_selector_all(f"#{box} input", "(els) => els.map((e) => [e.value, e.checked])")
        assert values and all(checked for _, checked in values), (box, values)

    def toggles(box: str, value: str, hidden: set[str], name: str) -> None:
        assert hidden and hidden < everything, (box, value)
        open_filter(page, box)
        page.locator(f"#{box} input[value='{value}']").uncheck()
        assert rendered_ids(page) == everything - hidden, (box, value)
        assert list_ids(page) == everything - hidden, (box, value)
        if name:
            shot(page, name)
        page.locator(f"#{box} input[value='{value}']").check()
        assert rendered_ids(page) == everything, (box, value)
        assert list_ids(page) == everything, (box, value)

    toggles("f-kind", "tram_track", set(sites(live_server, kind="tram_track")), "filter_without_tram_track")
    toggles("f-impact", "lane_reduction", set(sites(live_server, impact="lane_reduction")), "")
    toggles("f-status", "slot_proposed", set(sites(live_server, status="slot_proposed")), "")

    # two boxes of one group: both kinds hidden, each brought back on its own
    tram, sewer = set(sites(live_server, kind="tram_track")), set(sites(live_server, kind="sewer"))
    page.locator("#f-kind input[value='tram_track']").uncheck()
    page.locator("#f-kind input[value='sewer']").uncheck()
    assert rendered_ids(page) == list_ids(page) == everything - tram - sewer
    page.locator("#f-kind input[value='sewer']").check()
    assert rendered_ids(page) == list_ids(page) == everything - tram
    page.locator("#f-kind input[value='tram_track']").check()
    assert rendered_ids(page) == list_ids(page) == everything

    # owner: one owner's sites only, then all again
    ruhrbahn = set(sites(live_server, owner="Ruhrbahn GmbH"))
    page.locator("#f-owner").select_option("Ruhrbahn GmbH")
    assert ruhrbahn and rendered_ids(page) == list_ids(page) == ruhrbahn
    page.locator("#f-owner").select_option("")
    assert rendered_ids(page) == list_ids(page) == everything

    # conflict kinds: the example's spatial conflict (line, red halo, ⚠ in the list) goes and comes back
    first, second = (str(i) for i in list(ruhr.ids.values())[:2])

    def conflict_marks() -> tuple[int, set[str], set[str]]:
        idle(page)
        lines = page.evaluate("window.bst.map.queryRenderedFeatures({layers: ['conflicts-line']}).length")
        halos = page.evaluate(
            "window.bst.map.queryRenderedFeatures({layers: ['halo-line', 'halo-point']}).map((f) => f.properties.id)")
        flagged = page.eval_on_selector_all("#site-list li[data-id]:has(.conflict-flag)",
                                            "(els) => els.map((e) => e.dataset.id)")
        return lines, set(halos), set(flagged)

    lines, halos, flagged = conflict_marks()
    assert lines > 0 and halos == flagged == {first, second}
    open_filter(page, "f-conflict")
    page.locator("#f-conflict input[value='space']").uncheck()
    assert conflict_marks() == (0, set(), set())
    assert rendered_ids(page) == everything  # the sites themselves stay
    page.locator("#f-conflict input[value='space']").check()
    lines, halos, flagged = conflict_marks()
    assert lines > 0 and halos == flagged == {first, second}


def test_public_view_has_no_actions(live_server: str, ruhr: Ruhr, page: Page, clean_database: Engine) -> None:
    proposed = str(next(iter(ruhr.ids.values())))
    open_map(page, live_server)
    assert page.locator("#who").inner_text() == "Öffentliche Ansicht"
    assert page.locator("#key-button").inner_text() == "API-Schlüssel"
    assert not page.locator("#plan-button").is_visible()
    select_site(page, proposed)
    assert "Kontaktdaten nur für den Träger" in page.locator("#d-more").inner_text()
    assert page.locator("#d-more [data-action]").count() == 0
    assert page.locator("#d-message").count() == 0
    assert "Aktionen" not in page.locator("#d-more").inner_text()
    shot(page, "public_no_actions")

    # a key that is not valid (any more) is dropped: public view again
    errors: list[str] = []
    other = page.context.new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    with_key(other, "bst_00000000_not-a-key")
    open_map(other, live_server)
    assert other.locator("#who").inner_text() == "Öffentliche Ansicht"
    assert other.evaluate("sessionStorage.getItem('bst-key')") is None
    assert not other.locator("#plan-button").is_visible()
    other.close()

    # the owner's own key: sees its contact, but approving, rejecting, locking and plans are the coordinators'
    with Session(clean_database) as session:
        owner_id = session.get(SiteRequest, uuid.UUID(proposed)).owner_id
        _, key = auth.create_key(session, org_id=owner_id, role="submitter")
        session.commit()
    owner = page.context.new_page()
    owner.on("pageerror", lambda e: errors.append(str(e)))
    with_key(owner, key)
    open_map(owner, live_server)
    assert "(Antragsteller)" in owner.locator("#who").inner_text()  # the role in German, not the API's code
    assert not owner.locator("#plan-button").is_visible()
    select_site(owner, proposed)
    owner.wait_for_selector("#d-more a[href^='mailto:']")
    assert owner.locator("#d-more [data-action]").count() == 0
    owner.close()
    assert not errors, errors
