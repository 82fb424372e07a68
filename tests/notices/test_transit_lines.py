"""A transit operator's notices say which of its modes a site affects and name the lines, as the GTFS-RT feed does
(``gtfsrt.transit_modes`` and ``gtfsrt.affected_lines``): a utility's lane reduction for cars on bus 142's street is
"Betroffen: Bus (Linie 142), Autoverkehr", not "Autoverkehr" alone. Email, webhook (``site.affected``), welcome,
calendar and Atom alike."""

from __future__ import annotations

import json

from service.notices import render
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe

STREET = [[7.0001, 51.4402], [7.0012, 51.4371]]  # the works of ``site_body`` lie along it
TITLE = "Hausanschluss Wasser Rüttenscheider Straße"
CORRIDOR = "Buslinie 142 Rüttenscheider Straße"


def _bus_142_and_lane_reduction(client, coordinator, utility) -> str:  # noqa: ANN001
    r = client.post("/v1/corridors", headers=coordinator.headers, json={
        "name": CORRIDOR, "kind": "bus", "buffer_m": 30, "routes": ["142"],
        "geometry": {"type": "LineString", "coordinates": STREET}})
    assert r.status_code == 201, r.text
    r = client.post("/v1/requests", headers=utility.headers, json=site_body(
        title=TITLE, kind="water", impact="lane_reduction", modes=["car"], diversions=[]))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_transit_subscriber_hears_which_of_its_modes_and_lines_a_car_lane_reduction_affects(  # noqa: PLR0913
        client, db, coordinator, utility, smtp, receiver, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    ruhrbahn = subscribe(client, db, email="baustellen@ruhrbahn-example.de", modes=["tram", "bus"],
                         webhooks=[{"url": receiver.url}])
    _bus_142_and_lane_reduction(client, coordinator, utility)
    run_jobs()

    [mail] = [m for m in inbox.to("baustellen@ruhrbahn-example.de") if m["Subject"].startswith("Neue Baustelle")]
    text = mail.get_content()
    assert "\nBetroffen: Bus (Linie 142), Autoverkehr\n" in text, text
    assert "\nAffected: buses (line 142), cars\n" in text, text
    assert text.index("Betroffen:") < text.index("Affected:")

    [hook] = [json.loads(r["body"]) for r in receiver.requests]
    site = hook["data"]["site"]
    assert site["affected"] == [{"mode": "bus", "routes": ["142"], "corridors": [CORRIDOR]},
                                {"mode": "car", "routes": [], "corridors": []}]
    assert site["modes"] == ["car"] and "touched" not in site

    ics = client.get(f"/v1/subscriptions/{ruhrbahn.token}/calendar.ics").text.replace("\r\n ", "")
    assert "Betroffen: Bus (Linie 142)\\, Autoverkehr" in ics, ics
    atom = client.get(f"/v1/subscriptions/{ruhrbahn.token}/feed.atom").text
    assert "Betroffen: Bus (Linie 142), Autoverkehr" in atom and "Affected: buses (line 142), cars" in atom

    # subscribed after the site was planned: the welcome says the same
    later = subscribe(client, db, email="leitstelle@ruhrbahn-example.de", modes=["bus"])
    run_jobs()
    [welcome] = [n for n in notices_of(db, later.id) if n.kind == "welcome"]
    assert [render._modes(item["site"], "de") for item in welcome.payload["items"]] == ["Bus (Linie 142), Autoverkehr"]
    [mail] = inbox.to("leitstelle@ruhrbahn-example.de")[1:]
    assert "\nBetroffen: Bus (Linie 142), Autoverkehr\n" in mail.get_content()


def test_a_business_hears_of_the_bus_line_too_and_a_tram_only_subscriber_not_at_all(  # noqa: PLR0913
        client, db, coordinator, utility, smtp, run_jobs) -> None:  # noqa: ANN001
    """A subscription for every mode is told the bus line the works affect (the feed's alert for it exists too);
    a subscription for trams only does not match: the trams run on."""
    inbox, _ = smtp
    business = subscribe(client, db, email="info@baeckerei-example.de")
    trams = subscribe(client, db, email="tram@example.de", modes=["tram"])
    _bus_142_and_lane_reduction(client, coordinator, utility)
    run_jobs()
    [mail] = [m for m in inbox.to("info@baeckerei-example.de") if m["Subject"].startswith("Neue Baustelle")]
    assert "\nBetroffen: Bus (Linie 142), Autoverkehr\n" in mail.get_content()
    assert [n for n in notices_of(db, business.id) if n.request_id is not None]
    assert not [n for n in notices_of(db, trams.id) if n.request_id is not None]


def test_the_subscribers_modes_come_first_and_a_street_without_a_line_names_the_mode_alone() -> None:
    site = {"modes": ["car", "cycle"], "touched": {"bus": {"routes": [], "corridors": []}}}
    assert render._modes({"affected": render.affected(site, ["tram", "bus"]), **site}, "de") == \
        "Bus, Autoverkehr, Radverkehr"
    assert render._modes({"affected": render.affected(site, []), **site}, "de") == "Autoverkehr, Radverkehr"
    transit = {"modes": ["transit"], "touched": {"tram": {"routes": ["107", "108"], "corridors": ["Tram"]},
                                                 "bus": {"routes": [], "corridors": ["Busspur Hbf"]}}}
    assert render._modes({"affected": render.affected(transit, ["bus"]), **transit}, "en") == \
        "buses (Busspur Hbf), trams (lines 107, 108)"
    # a notice queued before notices named the lines reads as it did
    assert render._modes({"modes": ["car"]}, "de") == "Autoverkehr"
