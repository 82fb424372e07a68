"""Texts and answers the workflow generates about another request on a request of a different organisation (an
emergency's displacement summary, the clashing slots of a 409, the precedences broken) name that other request by
its public title (no names, phone numbers or e-mail addresses); a request of the same owner by its title as
written."""

from __future__ import annotations

from service.requests.models import public_title_of
from tests.conftest import site_body
from tests.workflow.flow import act, approved, body_now, d, ok

SECRET = "Gleisreparatur Testweg – Bauleiter Herr Klaus Müller, Tel. 0201 1234567"
PUBLIC = public_title_of(SECRET)
PROBLEM = "application/problem+json"
LINE = {"type": "LineString", "coordinates": [[6.91, 51.53], [6.912, 51.529]]}


def _leaks(text: str) -> bool:
    return "Müller" in text or "1234567" in text


def refused(r, kind: str) -> dict:  # noqa: ANN001
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"].endswith(f"/{kind}"), r.json()
    return r.json()


def test_an_emergency_displacing_another_owners_slot_is_named_by_its_public_title(  # noqa: ANN001
        client, db, city, coordinator, make_caller) -> None:
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    victim = approved(client, city, coordinator, start_offset=0)["id"]
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title=SECRET, kind="water",
                                                  duration_days=15, latest_end=d(30)), headers=water.headers)
    assert r.status_code == 201, r.text
    got = client.get(f"/v1/requests/{victim}", headers=city.headers)
    assert got.json()["status"] == "approved"  # moved, the approval kept at the new dates
    summary = got.json()["slot"]["explanation"]["summary"]
    assert summary["de"].startswith(f"Wegen der Notfall-Baustelle „{PUBLIC}“ verschoben"), summary
    assert summary["en"].startswith(f"Moved for the emergency works “{PUBLIC}”"), summary
    history = client.get(f"/v1/requests/{victim}/history", headers=city.headers)
    assert not _leaks(got.text) and not _leaks(history.text)


def test_a_refused_change_names_another_owners_clashing_slot_by_its_public_title(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    mine = approved(client, city, coordinator, 0)["id"]  # days 0..9
    assert ok(client, city, mine, "start")["status"] == "active"  # it cannot move any more
    theirs = approved(client, utility, coordinator, 10, kind="water", title=SECRET)["id"]  # days 10..19
    r = client.post(f"/v1/requests/{mine}/changes", json={"duration_days": 12}, headers=city.headers)
    problem = refused(r, "no-slot")
    assert [c["request_id"] for c in problem["conflicts"]] == [theirs]
    assert problem["conflicts"][0]["title"] == PUBLIC
    assert not _leaks(r.text)


def test_a_clash_with_a_slot_of_the_same_owner_keeps_its_title_as_written(  # noqa: ANN001
        client, city, coordinator) -> None:
    """A one-site-at-a-time corridor clashes sites of any owner: the owner's own site is named as written."""
    mine = approved(client, city, coordinator, 0)["id"]
    assert ok(client, city, mine, "start")["status"] == "active"
    corridor = client.post("/v1/corridors", headers=coordinator.headers, json={
        "name": "Rüttenscheider Straße", "kind": "arterial", "max_concurrent": 1, "buffer_m": 50,
        "geometry": {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]}})
    assert corridor.status_code == 201, corridor.text
    own = approved(client, city, coordinator, 10, kind="water", title=SECRET)["id"]
    r = client.post(f"/v1/requests/{mine}/changes", json={"duration_days": 12}, headers=city.headers)
    problem = refused(r, "no-slot")
    assert [(c["request_id"], c["title"]) for c in problem["conflicts"]] == [(own, SECRET)]


def _trench_and_surface(client, coordinator, utility, trench_title: str, surface_owner) -> tuple[dict, dict]:  # noqa: ANN001
    """A trench approved on 2027-04-01..04-20, and a resurfacing (of ``surface_owner``) that must follow it."""
    trench = client.post("/v1/requests", headers=utility.headers, json=site_body(
        geometry=LINE, diversions=[], title=trench_title, kind="gas", earliest_start="2027-03-01",
        latest_end="2027-10-31", duration_days=20, preferred_start="2027-04-01"))
    assert trench.status_code == 201, trench.text
    surface = client.post("/v1/requests", headers=surface_owner.headers, json=site_body(
        geometry={"type": "LineString", "coordinates": [[6.95, 51.50], [6.952, 51.499]]}, diversions=[],
        title="Deckschicht", kind="road_maintenance", earliest_start="2027-03-01", latest_end="2027-12-31",
        duration_days=10, preferred_start="2027-06-01"))
    assert surface.status_code == 201, surface.text
    sid = surface.json()["id"]
    etag = client.get(f"/v1/requests/{sid}", headers=coordinator.headers).headers["etag"]
    r = client.patch(f"/v1/requests/{sid}", headers={**coordinator.headers, "If-Match": etag},
                     json={"after": [{"request": trench.json()["id"], "min_gap_days": 0, "max_gap_days": None}]})
    assert r.status_code == 200, r.text
    return trench.json(), surface.json()


def test_a_precedence_refusal_names_another_owners_site_by_its_public_title(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = _trench_and_surface(client, coordinator, utility, SECRET, city)
    ok(client, coordinator, trench["id"], "approve", {"start": "2027-04-01"})
    r = act(client, coordinator, surface["id"], "propose", {"start": "2027-04-10"})
    problem = refused(r, "precedence")
    (link,) = problem["precedences"]
    assert link["request_id"] == trench["id"] and link["title"] == PUBLIC
    assert f"„{PUBLIC}“" in link["de"] and f"“{PUBLIC}”" in link["en"]
    assert not _leaks(r.text)


def test_a_precedence_refusal_names_the_same_owners_site_as_written(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = _trench_and_surface(client, coordinator, utility, SECRET, utility)
    ok(client, coordinator, trench["id"], "approve", {"start": "2027-04-01"})
    problem = refused(act(client, coordinator, surface["id"], "propose", {"start": "2027-04-10"}), "precedence")
    (link,) = problem["precedences"]
    assert link["title"] == SECRET and f"„{SECRET}“" in link["de"]


def test_a_provisional_slot_placed_again_for_another_owners_dates_names_them_by_the_public_title(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    """The trench is provisional; the coordination office orders the city's resurfacing after it, then approves
    the trench at other dates: the resurfacing is placed again, and its texts name the trench."""
    trench = client.post("/v1/requests", headers=utility.headers, json=site_body(
        geometry=LINE, diversions=[], title=SECRET, kind="gas", earliest_start="2027-03-01",
        latest_end="2027-10-31", duration_days=20, preferred_start="2027-04-01")).json()
    surface = client.post("/v1/requests", headers=city.headers, json=site_body(
        geometry=LINE, diversions=[], title="Deckschicht", kind="road_maintenance", earliest_start="2027-03-01",
        latest_end="2027-12-31", duration_days=10, preferred_start="2027-04-01")).json()
    etag = client.get(f"/v1/requests/{surface['id']}", headers=coordinator.headers).headers["etag"]
    r = client.patch(f"/v1/requests/{surface['id']}", headers={**coordinator.headers, "If-Match": etag},
                     json={"after": [{"request": trench["id"], "min_gap_days": 0, "max_gap_days": 30}]})
    assert r.status_code == 200, r.text
    etag = client.get(f"/v1/requests/{trench['id']}", headers=coordinator.headers).headers["etag"]
    r = act(client, coordinator, trench["id"], "approve", {"start": "2027-04-15"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    got = client.get(f"/v1/requests/{surface['id']}", headers=city.headers)
    slot = got.json()["slot"]
    assert slot["explanation"]["fixed_by"] == trench["id"]
    assert f"„{PUBLIC}“" in slot["explanation"]["placed_again"]["de"]
    history = client.get(f"/v1/requests/{surface['id']}/history", headers=city.headers)
    assert history.json()[-1]["action"] == "slot.placed"
    assert not _leaks(got.text) and not _leaks(history.text)
