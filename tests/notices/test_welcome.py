"""The welcome notice: right after confirming, the sites already under way or planned in the area, once, by
email and in the Atom feed (not by webhook); none when nothing matches (the confirmation page says so)."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select

from service.notices import service
from service.notices.models import Delivery
from tests.conftest import site_body
from tests.notices.helpers import FAR_AWAY, notices_of, subscribe
from tests.notices.test_feeds import ATOM
from tests.workflow.flow import ok

# Five sites on Rüttenscheider Straße (tests/conftest.site_body lies there); the first is approved.
STREET = "Rüttenscheider Straße"
SITES = [
    ("Kanalerneuerung", {"kind": "sewer", "impact": "full_closure"}),
    ("Gasleitung", {"kind": "gas", "impact": "lane_reduction", "preferred_start": "2027-05-01"}),
    ("Fernwärme", {"kind": "district_heating", "impact": "one_way", "preferred_start": "2027-06-01"}),
    ("Glasfaser", {"kind": "telecom", "impact": "footway", "modes": ["pedestrian"], "preferred_start": "2027-07-01"}),
    ("Fahrbahnsanierung", {"kind": "road_maintenance", "impact": "lane_reduction", "preferred_start": "2027-08-01"}),
]
DORTMUND = {"type": "LineString", "coordinates": [[7.4640, 51.5130], [7.4660, 51.5150]]}


def _street_with_five_sites(client, city, coordinator) -> dict[str, str]:  # noqa: ANN001
    """The bakery's street: five current or planned sites (the first an approved full closure), plus what a
    welcome leaves out: a draft, a withdrawn site and a site in Dortmund."""
    ids = {}
    for title, fields in SITES:
        r = client.post("/v1/requests", json=site_body(title=f"{title} {STREET}", **fields), headers=city.headers)
        assert r.status_code == 201, r.text
        ids[title] = r.json()["id"]
    first = ids["Kanalerneuerung"]
    ok(client, coordinator, first, "propose", {"start": "2027-04-01"})
    ok(client, city, first, "accept")
    ok(client, coordinator, first, "approve")
    client.post("/v1/requests", json=site_body(title=f"Entwurf {STREET}", status="draft"), headers=city.headers)
    withdrawn = client.post("/v1/requests", json=site_body(title=f"Wasserleitung {STREET}", kind="water"),
                            headers=city.headers).json()["id"]
    assert client.delete(f"/v1/requests/{withdrawn}", headers=city.headers).status_code in (200, 204)
    far = client.post("/v1/requests", json=site_body(title="Kanalbau Rheinlanddamm", geometry=DORTMUND,
                                                     diversions=[]), headers=city.headers)
    assert far.status_code == 201, far.text
    return ids


def test_confirming_sends_one_welcome_listing_the_sites_in_the_area(client, db, city, coordinator, smtp,
                                                                     run_jobs) -> None:
    inbox, _ = smtp
    ids = _street_with_five_sites(client, city, coordinator)
    run_jobs()  # the sites' own events: the subscription does not exist yet
    inbox.clear()

    sub = subscribe(client, db, confirm=False)
    page = client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token})
    assert page.status_code == 200
    assert "Baustellen in Ihrem Gebiet: 5" in page.text and "Construction sites in your area: 5" in page.text
    assert "Zurzeit keine Baustellen" not in page.text
    run_jobs()
    run_jobs()  # a second round sends nothing again
    [welcome] = inbox.to("info@baeckerei-example.de")[1:]  # after the confirmation email
    assert welcome["Subject"] == "Baustellen in Ihrem Gebiet: 5"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = welcome.get_content()
    german, english = text.split("English version below")
    assert german.lstrip().startswith("Baustellen in Ihrem Gebiet: 5\nDiese Baustellen laufen schon oder sind geplant")
    assert english.lstrip().startswith("Construction sites in your area: 5\nThese sites are under way or planned")
    for title, _ in SITES:
        assert f"Wo: {title} {STREET}\n" in german and f"Where: {title} {STREET}\n" in english
        assert f"/map/#request={ids[title]}" in german
    # Each site as in a digest: where it stands, its dates marked as usual.
    approved = german[german.index("Wo: Kanalerneuerung") - 60:german.index("Wo: Gasleitung")]
    assert "Baustelle genehmigt\n" in approved
    assert "Wann: 01.04.2027 bis 30.05.2027\n" in approved and "Einschränkung: Vollsperrung" in approved
    assert "Wann: 01.05.2027 bis 29.06.2027 (" in german  # not approved: provisional or requested dates
    for left_out in ("Entwurf", "Wasserleitung", "Rheinlanddamm"):
        assert left_out not in text
    assert german.index("Kanalerneuerung") < german.index("Gasleitung") < german.index("Fahrbahnsanierung")
    assert f"https://baustellen.example/v1/subscriptions/{sub.token}/calendar.ics" in german
    assert f"https://baustellen.example/v1/subscriptions/{sub.token}/unsubscribe" in text

    [notice] = [n for n in notices_of(db, sub.id) if n.kind == "welcome"]
    assert notice.dedupe_key == f"welcome:{sub.id}"
    [delivery] = db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)).all()
    assert (delivery.channel, delivery.status, delivery.dedupe_key) == ("email", "delivered", f"welcome:{sub.id}")
    assert welcome["Message-ID"] == f"<{delivery.id}@baustellen.example>"

    # The Atom feed shows it too (it was empty until something changed).
    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Baustellen in Ihrem Gebiet: 5"
    content = entry.findtext(f"{ATOM}content")
    assert all(f"{title} {STREET}" in content for title, _ in SITES) and "Rheinlanddamm" not in content


def test_no_welcome_when_nothing_matches_the_confirmation_page_says_so(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    sub = subscribe(client, db, confirm=False, area={"point": FAR_AWAY, "radius_m": 300})
    page = client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token})
    assert page.status_code == 200
    assert "Zurzeit keine Baustellen in Ihrem Gebiet" in page.text
    assert "No construction sites in your area at the moment" in page.text
    run_jobs()
    assert [m["Subject"] for m in inbox.messages] == ["Bitte bestätigen: Baustellenhinweise"]
    assert [n.kind for n in notices_of(db, sub.id)] == ["confirmation"]
    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    assert feed.findall(f"{ATOM}entry") == []


def test_welcome_goes_out_at_once_by_email_only_and_never_again(client, db, city, smtp, receiver, run_jobs
                                                                 ) -> None:
    """A daily subscriber is welcomed at once, not with the next digest. A webhook gets no welcome: it tells a
    machine that something changed, and a machine reads the current sites from the calendar. A new address
    confirming again is not welcomed a second time."""
    inbox, _ = smtp
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    sub = subscribe(client, db, delivery="daily", webhooks=[receiver.url])
    run_jobs()
    assert [m["Subject"] for m in inbox.to("info@baeckerei-example.de")][1:] == ["Baustellen in Ihrem Gebiet: 1"]
    assert receiver.requests == []

    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"email": "neu@baeckerei-example.de"})
    assert r.json()["status"] == "pending"
    db.refresh(sub)
    page = client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token})
    assert page.status_code == 200 and "Baustellen in Ihrem Gebiet" not in page.text
    run_jobs()
    assert [m["Subject"] for m in inbox.to("neu@baeckerei-example.de")] == ["Bitte bestätigen: Baustellenhinweise"]
    assert [n.kind for n in notices_of(db, sub.id)].count("welcome") == 1


def test_a_long_welcome_lists_the_first_sites_and_points_to_the_calendar(client, db, city, smtp, run_jobs,
                                                                         monkeypatch) -> None:
    inbox, _ = smtp
    monkeypatch.setattr(service, "WELCOME_LIMIT", 2)
    for title, fields in SITES[1:4]:
        client.post("/v1/requests", json=site_body(title=f"{title} {STREET}", **fields), headers=city.headers)
    run_jobs()
    sub = subscribe(client, db)
    run_jobs()
    [welcome] = inbox.to("info@baeckerei-example.de")[1:]
    assert welcome["Subject"] == "Baustellen in Ihrem Gebiet: 3"
    text = welcome.get_content()
    assert "Gasleitung" in text and "Fernwärme" in text and "Glasfaser" not in text  # the first two by date
    assert f"… und 1 weitere: alle im Kalender https://baustellen.example/v1/subscriptions/{sub.token}/calendar.ics" \
        in text
    assert "… and 1 more: all of them in the calendar" in text


def test_english_subscribers_are_welcomed_in_english_first(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    subscribe(client, db, language="en")
    run_jobs()
    [welcome] = inbox.to("info@baeckerei-example.de")[1:]
    assert welcome["Subject"] == "Construction sites in your area: 1"
    text = welcome.get_content()
    assert text.index("Construction sites in your area: 1") < text.index("Deutsche Fassung unten") < text.index(
        "Baustellen in Ihrem Gebiet: 1")
