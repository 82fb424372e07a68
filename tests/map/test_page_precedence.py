"""After a step the page re-reads what the step changed, also a request moved only by a precedence (`after`) with
the request acted on: no conflict joins the two, yet approving the predecessor places the successor's provisional
slot again behind it. In a real browser (Debian's Chromium, headless) against a real server; and the page's
`/map/linked/{id}` (the sites linked by a precedence, either way, as far as the caller sees them)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.requests.models import RequestPrecedence
from service.slots.models import Slot
from tests.map.browser import get_request, open_map, select_site, with_key
from tests.map.conftest import Ruhr
from tests.map.helpers import add_site


def add_ordered_pair(engine: Engine) -> dict[str, str]:
    """Two sites of a city in Hattingen, 2 km apart (no conflict): a resurfacing that comes after a trench
    (`after`), both with a slot proposed in April 2027; the resurfacing's is provisional (placed at once), so an
    approval of the trench places it again behind the trench. And a draft of another city that comes after the
    trench, too (invisible to the public)."""
    with Session(engine) as session:
        city = auth.get_or_create_organisation(session, name="Stadt Hattingen", kind="city")
        other = auth.get_or_create_organisation(session, name="Stadt Sprockhövel", kind="city")
        common = {"diversions": [], "impact": "lane_reduction", "duration_days": 30, "preferred_start": "2027-04-01"}
        trench = add_site(session, city.id, title="Leitungsgraben Bahnhofstraße Hattingen", earliest_start="2027-03-01",
                          latest_end="2027-06-30",
                          geometry={"type": "LineString", "coordinates": [[7.1700, 51.3990], [7.1720, 51.3995]]},
                          **common)
        resurfacing = add_site(session, city.id, title="Deckenerneuerung Hattingen", kind="road_maintenance",
                               earliest_start="2027-03-01", latest_end="2027-12-31",
                               geometry={"type": "LineString", "coordinates": [[7.2000, 51.3990], [7.2020, 51.3995]]},
                               **common)
        draft = add_site(session, other.id, status="draft", title="Entwurf: Gehweg Sprockhövel",
                         earliest_start="2027-03-01", latest_end="2027-12-31",
                         geometry={"type": "LineString", "coordinates": [[7.2500, 51.3500], [7.2520, 51.3505]]},
                         **common)
        session.add(Slot(request_id=trench.id, start=date(2027, 4, 1), end=date(2027, 4, 30), status="proposed",
                         provisional=False, explanation={"summary": "Vorzugsbeginn frei / preferred start is free"}))
        session.add(Slot(request_id=resurfacing.id, start=date(2027, 4, 1), end=date(2027, 4, 30), status="proposed",
                         provisional=True, explanation={"summary": "Vorzugsbeginn frei / preferred start is free"}))
        trench.status = "slot_proposed"
        for successor in (resurfacing, draft):
            session.add(RequestPrecedence(request_id=successor.id, predecessor_id=trench.id, position=0,
                                          min_gap_days=0))
        session.commit()
        return {"trench": str(trench.id), "resurfacing": str(resurfacing.id), "draft": str(draft.id)}


def test_linked_sites_both_ways_as_far_as_the_caller_sees(live_server: str, ruhr: Ruhr,
                                                          clean_database: Engine) -> None:
    ids = add_ordered_pair(clean_database)
    coordinator = {"Authorization": f"Bearer {ruhr.coordinator_key}"}
    r = httpx.get(f"{live_server}/map/linked/{ids['trench']}", headers=coordinator)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["linked"]) == sorted([ids["resurfacing"], ids["draft"]])
    # the public: not the draft
    assert httpx.get(f"{live_server}/map/linked/{ids['trench']}").json()["linked"] == [ids["resurfacing"]]
    # the other way round: the predecessor
    assert httpx.get(f"{live_server}/map/linked/{ids['resurfacing']}").json()["linked"] == [ids["trench"]]
    # a site the caller cannot see, or none: 404
    assert httpx.get(f"{live_server}/map/linked/{ids['draft']}").status_code == 404
    assert httpx.get(f"{live_server}/map/linked/{ids['draft']}", headers=coordinator).json()["linked"] == \
        [ids["trench"]]
    assert httpx.get(f"{live_server}/map/linked/{uuid.uuid4()}").status_code == 404


def test_a_successor_moved_by_an_approval_shows_its_new_dates(live_server: str, ruhr: Ruhr, page: Page,
                                                               clean_database: Engine) -> None:
    ids = add_ordered_pair(clean_database)
    trench, resurfacing = ids["trench"], ids["resurfacing"]
    with_key(page, ruhr.coordinator_key)
    open_map(page, live_server)
    held = "(id) => { const p = window.bst.state.sitesById.get(id).properties; return [p.slot_start, p.start]; }"
    assert page.evaluate(held, resurfacing) == ["2027-04-01", "2027-04-01"]
    select_site(page, trench)
    page.wait_for_selector("#d-more [data-action='approve']")
    page.locator("#d-more [data-action='approve']").click()
    page.wait_for_selector("#d-message .message.ok", timeout=15_000)

    # the API placed the resurfacing again, behind the approved trench (no conflict joins the two)
    moved = get_request(live_server, resurfacing, ruhr.coordinator_key)["slot"]
    assert moved["start"] > "2027-04-30", moved
    assert not [c for c in httpx.get(f"{live_server}/ogc/collections/conflicts/items",
                                     params={"site": trench}).json()["features"]
                if resurfacing in (c["properties"]["site_a"], c["properties"]["site_b"])]
    # the page holds its new dates without a reload: map, list and details
    assert page.evaluate(held, resurfacing) == [moved["start"], moved["start"]]
    select_site(page, resurfacing)
    slot = page.locator("#d-slot").inner_text()
    assert slot.startswith(f"{moved['start'][8:10]}.{moved['start'][5:7]}.{moved['start'][:4]}"), slot
