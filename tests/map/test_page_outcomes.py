"""What the page tells the coordinator after the others' and its own steps, in a real browser (Debian's Chromium,
headless): an owner's counter-proposal in the details; a plan run over the windows of the requests in view and its
outcome (placed, unplaced, skipped and why); the slider following the data after a proposal; the sites an approval
clashes with; the page's own sentences instead of the API's developer wording, and warnings in one language.

The Ruhr example (conftest.load_ruhr): its first site (EB-2027-0142, Kanalerneuerung Rüttenscheider Straße) has a
proposed slot 2027-04-01 to 2027-05-30, its second (SWE-W-27-0318, touching it) an approved one 2027-05-10 to
2027-07-08; the slider reaches to 2028-12-31."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import service as auth
from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots.service import run_plan
from tests.map.browser import get_request, idle, open_map, post_example_moratorium, question, select_site, with_key
from tests.map.conftest import Ruhr

FIRST, SECOND, FOURTH = "EB-2027-0142", "SWE-W-27-0318", "RB-GL-2027-08"
HOHE_STRASSE = "DEW-WG-2027-131"
MORATORIUM = "Aufgrabungssperre Hohe Straße (Dortmund)"


def owner_key(engine: Engine, site: uuid.UUID) -> str:
    """A submitter key of the organisation that owns the site."""
    with Session(engine) as session:
        req = session.get(SiteRequest, site)
        _, key = auth.create_key(session, org_id=req.owner_id, role="submitter")
        session.commit()
    return key


def contest(url: str, site: uuid.UUID, key: str, first: str, last: str) -> None:
    r = httpx.post(f"{url}/v1/requests/{site}/contest", headers={"Authorization": f"Bearer {key}"},
                   json={"reason": "Stadtfest im Sommer", "counter_proposal": {"earliest_start": first,
                                                                               "latest_end": last}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "contested"


def slider_range(page: Page) -> tuple[str, str]:
    return tuple(page.evaluate("""() => { const s = document.getElementById('day-slider');
        const iso = (n) => new Date(Number(n) * 86400000).toISOString().slice(0, 10);
        return [iso(s.min), iso(s.max)]; }"""))


def test_counter_proposal_is_shown_and_the_slider_follows_a_proposal(
        live_server: str, ruhr: Ruhr, clean_database: Engine, page: Page) -> None:
    site = ruhr.ids[FIRST]
    contest(live_server, site, owner_key(clean_database, site), "2029-01-01", "2029-03-31")
    assert get_request(live_server, str(site), ruhr.coordinator_key)["slot"]["counter_proposal"]["latest_end"] \
        == "2029-03-31"
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    assert slider_range(page)[1] == "2028-12-31"  # the slot (not the widened window) counts for the slider
    page.evaluate("window.bst.setDay('2027-06-01')")
    select_site(page, str(site))
    page.wait_for_selector("#d-counter")

    # the counter-proposal in the details, with the owner's reason; approving it is said to approve the old slot
    counter = page.locator("#d-counter").inner_text()
    assert counter.startswith("01.01.2029 – 31.03.2029"), counter
    assert "„Stadtfest im Sommer“" in counter
    assert page.locator("#d-counter").evaluate("(dd) => dd.previousElementSibling.textContent") == "Gegenvorschlag"
    note = page.locator("#d-counter-note").inner_text()
    assert "01.01.2029 – 31.03.2029" in note and "Genehmigen" in note
    assert page.locator("#d-more [data-action='approve']").count() == 1
    assert page.locator("#d-propose-start").input_value() == "01.01.2029"  # a proposal in it is one click away

    page.locator("#lang-button").click()
    page.wait_for_function("document.getElementById('d-counter')?.textContent.startsWith('2029-01-01 – 2029-03-31')")
    assert page.locator("#d-counter").evaluate("(dd) => dd.previousElementSibling.textContent") == "Counter-proposal"
    assert "“Stadtfest im Sommer”" in page.locator("#d-counter").inner_text()
    page.locator("#lang-button").click()
    page.wait_for_function("document.getElementById('d-counter')?.textContent.startsWith('01.01.2029')")

    # the coordinator grants it: the slot 2029-01-08 to 2029-03-08 widens the data's period, and the slider with it
    page.locator("#d-propose-start").fill("08.01.2029")
    page.locator("#d-more [data-action='propose']").click()
    page.wait_for_selector("#d-message .message.ok")
    config = httpx.get(f"{live_server}/map/config.json",
                       headers={"Authorization": f"Bearer {ruhr.coordinator_key}"}).json()
    assert config["interval"][1] == "2029-03-08"
    assert slider_range(page)[1] == "2029-03-08"
    assert page.locator("#slider-max").inner_text() == "08.03.2029"
    assert page.evaluate("window.bst.state.day") == "2027-06-01"  # the day chosen stays
    day = page.locator("#day-input")
    day.fill("01.03.2029")
    day.press("Enter")
    assert page.locator("#day-error").is_hidden()
    assert page.evaluate("window.bst.state.day") == "2029-03-01"
    assert page.locator("#d-counter").count() == 0  # no longer contested


def test_plan_run_covers_the_windows_in_view_and_reports_its_outcome(
        live_server: str, ruhr: Ruhr, clean_database: Engine, settings: Settings, page: Page) -> None:
    first, fourth = ruhr.ids[FIRST], ruhr.ids[FOURTH]
    # the first site's owner asks for 2029 instead (its window widens to 2029-06-30; its slot stays in 2027), and
    # the fourth site's window has nearly passed: 41 days are left from today for its 49 days of works
    contest(live_server, first, owner_key(clean_database, first), "2029-04-02", "2029-06-30")
    with clean_database.begin() as conn:
        conn.execute(text("update site_requests set earliest_start = '2026-11-01', latest_end = '2026-12-31' "
                          "where id = :id"), {"id": fourth})
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    assert slider_range(page)[1] == "2028-12-31"
    # the map on the Rüttenscheider Straße: the first four sites and a few more
    page.evaluate("""(ids) => {
        const bb = ids.map((id) => window.bst.state.bboxes.get(id));
        const x0 = Math.min(...bb.map((b) => b[0])), y0 = Math.min(...bb.map((b) => b[1]));
        const x1 = Math.max(...bb.map((b) => b[2])), y1 = Math.max(...bb.map((b) => b[3]));
        window.bst.map.fitBounds([[x0, y0], [x1, y1]], {padding: 60, duration: 0});
    }""", [str(first), str(fourth)])
    idle(page)

    with page.expect_response(lambda r: r.url.endswith("/v1/plans") and r.request.method == "POST") as answer:
        page.locator("#plan-button").click()
    assert answer.value.status == 202, answer.value.text()
    plan = answer.value.json()
    sent = answer.value.request.post_data_json
    # from today (the earliest window began before) to the latest window end in view, not the slider's period
    assert (sent["from"], sent["to"]) == ("2026-11-21", "2029-06-30")

    factory = sessionmaker(bind=clean_database, expire_on_commit=False, info={"settings": settings})
    assert run_plan(factory, uuid.UUID(plan["id"]), settings) == "done"
    run = httpx.get(f"{live_server}/v1/plans/{plan['id']}",
                    headers={"Authorization": f"Bearer {ruhr.coordinator_key}"}).json()
    stats = run["statistics"]
    assert str(first) not in stats["skipped_requests"]  # its window lies in the period
    assert list(stats["skipped_requests"]) == [str(fourth)]

    page.wait_for_function("document.getElementById('status-line').textContent.includes('fertig')", timeout=15_000)
    status = page.locator("#status-line").text_content()
    assert status.startswith(f"Planungslauf {plan['id'][:8]}: fertig – {stats['placed']} platziert, "
                             f"{stats['unplaced']} nicht platzierbar, 1 ausgelassen"), status
    assert f"Ausgelassen: Das Zeitfenster passt nicht in den Planungszeitraum. („{ruhr.titles[fourth]}“)" in status
    assert page.locator("#status-line").get_attribute("title") == status  # all of it, also when the line is cut

    # the plan worked with the counter-proposal: the details say whether it met it
    after = get_request(live_server, str(first), ruhr.coordinator_key)
    met = after["slot"]["explanation"]["counter_proposal"]["met"]
    select_site(page, str(first))
    page.wait_for_selector("#d-counter")
    counter = page.locator("#d-counter").inner_text()
    assert counter.startswith("02.04.2029 – 30.06.2029"), counter
    assert ("vom Planungslauf eingehalten" if met else "nicht eingehalten") in counter


def test_slot_conflict_names_the_sites_in_the_page_language(live_server: str, ruhr: Ruhr, laptop: Page) -> None:
    page = laptop  # a tab whose questions the test answers itself
    site, other = ruhr.ids[FIRST], ruhr.ids[SECOND]
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, str(site))
    page.wait_for_selector("#d-more [data-action='approve']")
    with page.expect_response(lambda r: r.url.endswith("/approve")) as answer:
        page.locator("#d-more [data-action='approve']").click()
    problem = answer.value.json()
    assert answer.value.status == 409 and problem["type"].endswith("slot-conflict"), problem
    assert [c["request_id"] for c in problem["conflicts"]] == [str(other)]
    asked = [question(page)]
    page.locator("#ask-cancel").click()  # declined
    page.wait_for_selector("#d-message .message.err")

    sentence = (f"Der Slot kollidiert mit genehmigten oder fixierten Slots: „{ruhr.titles[other]}“ "
                f"(Slot 10.05.2027 – 08.07.2027; Überschneidung 10.05.2027 – 30.05.2027).")
    assert asked == [{"title": "Trotzdem genehmigen?", "text": sentence}], asked  # no developer wording
    shown = page.locator("#d-message").inner_text()
    assert shown.startswith(sentence), shown
    assert "override" not in shown  # the API's detail is folded away
    detail = page.locator("#d-message .api-detail")
    assert detail.locator("summary").inner_text() == "Technische Angabe der API"
    assert problem["detail"] in detail.text_content()
    assert get_request(live_server, str(site), ruhr.coordinator_key)["status"] == "slot_proposed"

    # in English
    page.locator("#lang-button").click()
    page.wait_for_selector("#d-more [data-action='approve']")
    page.locator("#d-more [data-action='approve']").click()
    asked.append(question(page))
    page.keyboard.press("Escape")
    page.wait_for_selector("#d-message .message.err")
    assert asked[1]["title"] == "Approve anyway?", asked
    assert asked[1]["text"].startswith(f"The slot conflicts with approved or locked slots: “{ruhr.titles[other]}” "
                                       "(slot 2027-05-10 – 2027-07-08; overlap 2027-05-10 – 2027-05-30)."), asked


def test_approval_despite_a_clash_says_so_in_the_success_message(live_server: str, ruhr: Ruhr, page: Page) -> None:
    """Approved with `override` (the `page` tab accepts the question) despite the approved slot of the second
    site: the success message names it, not just "Genehmigt."."""
    site, other = ruhr.ids[FIRST], ruhr.ids[SECOND]
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    select_site(page, str(site))
    page.wait_for_selector("#d-more [data-action='approve']")
    with page.expect_response(lambda r: r.url.endswith("/approve") and r.status == 200) as answer:
        page.locator("#d-more [data-action='approve']").click()
    explanation = answer.value.json()["slot"]["explanation"]
    assert [c["request_id"] for c in explanation["overridden_conflicts"]] == [str(other)]
    page.wait_for_selector("#d-message .message.ok")
    shown = page.locator("#d-message").inner_text()
    assert shown == ("Genehmigt. Hinweise: Trotz Überschneidung mit genehmigten oder fixierten Slots genehmigt: "
                     f"„{ruhr.titles[other]}“."), shown
    assert page.locator("#status-line").inner_text() == shown  # said there (the live region), once
    assert get_request(live_server, str(site), ruhr.coordinator_key)["status"] == "approved"


def test_proposal_warnings_in_the_page_language(live_server: str, ruhr: Ruhr, page: Page) -> None:
    site = str(ruhr.ids[HOHE_STRASSE])  # submitted, no slot
    post_example_moratorium(live_server, MORATORIUM, ruhr.coordinator_key)
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    page.locator("#all-days").check()
    select_site(page, site)
    page.wait_for_selector("#d-propose-start")
    page.locator("#d-propose-start").fill("03.05.2027")
    with page.expect_response(lambda q: q.url.endswith("/propose")) as answer:
        page.locator("#d-more [data-action='propose']").click()
    body = answer.value.json()
    assert answer.value.status == 200, body
    rules = body["slot"]["explanation"]["rule_conflicts"]
    assert [f"{w['de']} / {w['en']}" for w in rules] == body["warnings"]  # the API's "German / English"
    page.wait_for_selector("#d-message .message.ok")
    shown = page.locator("#d-message").inner_text()
    assert shown == f"Slot vorgeschlagen: 03.05.2027 – 27.06.2027. Hinweise: {rules[0]['de']}", shown
    assert rules[0]["en"] not in shown
