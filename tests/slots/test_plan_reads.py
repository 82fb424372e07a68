"""What a coordinator reads about plan runs: the kept slots that break a hard rule, the list of runs, the requests a
run moved or left unplaced, a dry run, and a locked slot's explanation marked with the run it was written for.
Real PostGIS, through the API."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text

from service.slots import adapter, repository
from service.slots.service import run_plan
from tests.conftest import TODAY, site_body
from tests.slots.helpers import ESSEN, plan, post_site, read_site


def _blackout(client, coordinator) -> None:  # noqa: ANN001
    r = client.post("/v1/blackouts", json={"name": "Weihnachtsmarkt", "geometry": None, "start": "2027-12-20",
                                           "end": "2028-01-06", "max_impact": "lane_reduction"},
                    headers=coordinator.headers)
    assert r.status_code == 201, r.text


def test_a_kept_slot_that_breaks_a_blackout_or_clashes_with_a_fixed_slot_is_named(
        client, city, utility, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    # K may run until June 2028 and holds December 2027 – January 2028: a plan of 2027 keeps that slot
    k = post_site(client, city, site_body(earliest_start="2027-03-01", latest_end="2028-06-30",
                                          preferred_start="2027-12-01"))["id"]
    # L, another owner's works on the same street, locked on days of K's slot
    lane = post_site(client, utility, site_body(kind="water", impact="lane_reduction", earliest_start="2027-11-01",
                                                latest_end="2027-12-31", duration_days=30,
                                                preferred_start="2027-11-01"))["id"]
    _blackout(client, coordinator)  # added after K got its slot
    repository.put_slot(db, uuid.UUID(k), start=date(2027, 12, 1), end=date(2028, 1, 29), status="proposed",
                        provisional=False, explanation={}, unplaced=None, plan_id=None)
    repository.put_slot(db, uuid.UUID(lane), start=date(2027, 12, 1), end=date(2027, 12, 30), status="locked",
                        provisional=False, explanation={}, unplaced=None, plan_id=None)
    db.flush()
    got = plan(client, coordinator, factory, settings, start="2027-01-01", end="2027-12-31")
    s = got["statistics"]
    assert got["status"] == "done", got["error"]
    assert s["skipped_requests"] == {k: adapter.SKIP_BEYOND}
    assert s["skipped_by_reason"] == {adapter.SKIP_BEYOND: 1}
    assert s["violations"] == 0  # the checker's count over what the run wrote: the kept slot is not
    assert s["kept_breaking_rules"] == 1
    found = s["kept_breaking_rules_requests"][k]
    assert (found["start"], found["end"], found["reason"]) == ("2027-12-01", "2028-01-29", adapter.SKIP_BEYOND)
    assert {(r["kind"], r.get("name"), r.get("request_id")) for r in found["rules"]} == {
        ("blackout", "Weihnachtsmarkt", None), ("space", None, lane)}
    # the list of runs keeps the count, not the list
    listed = client.get("/v1/plans", headers=coordinator.headers).json()["items"][0]["statistics"]
    assert listed["kept_breaking_rules"] == 1 and "kept_breaking_rules_requests" not in listed


def test_plans_are_listed_newest_first_and_name_what_they_moved_or_left_unplaced(
        client, city, utility, make_caller, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    a = post_site(client, city, site_body())["id"]
    first = plan(client, coordinator, factory, settings)
    assert client.post(f"/v1/requests/{a}/slot/lock", headers=coordinator.headers).status_code == 200
    b = post_site(client, utility, site_body(kind="water", impact="lane_reduction", title="Wasserleitung B"))["id"]
    c = post_site(client, make_caller("utility"), site_body(
        kind="gas", title="Gasleitung C", earliest_start="2027-04-10", latest_end="2027-05-20", duration_days=30,
        preferred_start="2027-04-10"))["id"]
    second = plan(client, coordinator, factory, settings)
    # runs queued in one transaction (as here) share created_at; the first was queued an hour earlier
    db.execute(text("update plan_runs set created_at = created_at - interval '1 hour' where id = :id"),
               {"id": first["id"]})

    page = client.get("/v1/plans?limit=1", headers=coordinator.headers)
    assert page.status_code == 200, page.text
    assert [x["id"] for x in page.json()["items"]] == [second["id"]]
    (link,) = page.json()["links"]
    assert link["rel"] == "next" and link["href"].startswith("http") and "cursor=" in link["href"]
    rest = client.get("/v1/plans", params={"limit": 1, "cursor": page.json()["next_cursor"]},
                      headers=coordinator.headers).json()
    assert [x["id"] for x in rest["items"]] == [first["id"]] and rest["next_cursor"] is None and rest["links"] == []
    assert "skipped_requests" not in rest["items"][0]["statistics"]
    assert client.get("/v1/plans", headers=city.headers).status_code == 403
    assert client.get("/v1/plans?stauts=done", headers=coordinator.headers).status_code == 422
    assert client.get("/v1/plans?cursor=nonsense", headers=coordinator.headers).json()["errors"][0]["field"] == "cursor"

    # the run's own read stays small: the requests are a sub-resource
    assert "outcomes" not in client.get(f"/v1/plans/{second['id']}", headers=coordinator.headers).json()["statistics"]
    got = client.get(f"/v1/plans/{second['id']}/requests", headers=coordinator.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["counts"] == {"unplaced": 1, "moved": 1} and body["next_cursor"] is None
    unplaced, moved = body["items"]
    assert (unplaced["outcome"], unplaced["request_id"], unplaced["title"]) == ("unplaced", c, "Gasleitung C")
    assert unplaced["reason"]["de"] and unplaced["reason"]["en"]
    assert (moved["outcome"], moved["request_id"], moved["title"], moved["status"]) == (
        "moved", b, "Wasserleitung B", "slot_proposed")
    slot = read_site(client, coordinator, b)["slot"]
    assert (moved["start"], moved["end"]) == (slot["start"], slot["end"])
    assert moved["preferred_start"] == "2027-04-01" and moved["deviation_days"] == slot["explanation"][
        "deviation_days"] > 0
    assert moved["previous_start"] is not None  # its provisional slot
    one = client.get(f"/v1/plans/{second['id']}/requests?limit=1", headers=coordinator.headers).json()
    assert [x["request_id"] for x in one["items"]] == [c]
    more = client.get(f"/v1/plans/{second['id']}/requests", params={"limit": 1, "cursor": one["next_cursor"]},
                      headers=coordinator.headers).json()
    assert [x["request_id"] for x in more["items"]] == [b] and more["next_cursor"] is None
    only = client.get(f"/v1/plans/{second['id']}/requests?outcome=moved", headers=coordinator.headers).json()
    assert [x["request_id"] for x in only["items"]] == [b]
    assert client.get(f"/v1/plans/{first['id']}/requests", headers=coordinator.headers).json()["items"] == []
    assert client.get(f"/v1/plans/{second['id']}/requests", headers=city.headers).status_code == 403
    assert client.get(f"/v1/plans/{uuid.UUID(int=3)}/requests", headers=coordinator.headers).status_code == 404


def test_a_dry_run_computes_the_plan_and_writes_no_slot(client, city, utility, coordinator, factory,
                                                        settings) -> None:  # noqa: ANN001
    ids = [post_site(client, city, site_body())["id"],
           post_site(client, utility, site_body(kind="water", impact="lane_reduction"))["id"]]
    before = [client.get(f"/v1/requests/{rid}", headers=coordinator.headers) for rid in ids]
    r = client.post("/v1/plans", json={"bbox": ESSEN, "from": "2027-01-01", "to": "2028-12-31", "dry_run": True},
                    headers=coordinator.headers)
    assert r.status_code == 202, r.text
    assert run_plan(factory, r.json()["id"], settings) == "done"
    got = client.get(f"/v1/plans/{r.json()['id']}", headers=coordinator.headers).json()
    assert got["params"]["dry_run"] is True and got["statistics"]["dry_run"] is True
    assert got["statistics"]["placed"] == 2 and got["statistics"]["slots"] == {}
    after = [client.get(f"/v1/requests/{rid}", headers=coordinator.headers) for rid in ids]
    assert [(x.json(), x.headers["etag"]) for x in after] == [(x.json(), x.headers["etag"]) for x in before]
    assert all(x.json()["status"] == "submitted" and x.json()["slot"]["provisional"] for x in after)
    listed = client.get(f"/v1/plans/{r.json()['id']}/requests", headers=coordinator.headers).json()
    assert listed["counts"]["moved"] >= 1  # what the run would have done


def test_a_locked_slot_keeps_its_explanation_marked_with_the_run_it_was_written_for(
        client, city, utility, coordinator, factory, settings) -> None:  # noqa: ANN001
    post_site(client, city, site_body())
    b = post_site(client, utility, site_body(kind="water", impact="lane_reduction"))["id"]
    got = plan(client, coordinator, factory, settings)
    proposed = read_site(client, coordinator, b)["slot"]["explanation"]
    assert proposed["blockers"] and "as_of" not in proposed
    r = client.post(f"/v1/requests/{b}/slot/lock", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    ex = r.json()["slot"]["explanation"]
    assert ex["as_of"]["plan_id"] == got["id"] and ex["as_of"]["locked_on"] == TODAY
    assert ex["blockers"] == proposed["blockers"]  # kept, as the run saw them
    assert ex["summary"]["de"] == (f"{proposed['summary']['de']} (Begründung des Planungslaufs, der diesen Zeitraum "
                                   "vorgeschlagen hat; seit der Sperre am 21.11.2026 nicht aktualisiert: die "
                                   "genannten Hindernisse können sich inzwischen verschoben haben.)")
    assert ex["summary"]["en"].startswith(proposed["summary"]["en"])
    assert "not updated since the lock on 21 Nov 2026" in ex["summary"]["en"]
    # unlocked and locked again: the same mark, once
    assert client.post(f"/v1/requests/{b}/slot/unlock", headers=coordinator.headers).status_code == 200
    again = client.post(f"/v1/requests/{b}/slot/lock", headers=coordinator.headers).json()["slot"]["explanation"]
    assert again["summary"] == ex["summary"] and again["as_of"] == ex["as_of"]
