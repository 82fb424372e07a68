"""A site that an edit takes out of a subscription's filter is noticed once to those told about it before:
"Baustelle betrifft Ihr Abo nicht mehr / Site no longer concerns your subscription", with why and what changed,
by email (or digest) and webhook. Not again while it stays out; anew, as usual, when it comes back."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook

from service.notices import jobs
from tests.conftest import site_body
from tests.notices.helpers import FAR_AWAY, notices_of, subscribe

LEFT = "site.left"
# The site of site_body moved to Dortmund, its diversion with it.
MOVED = {"geometry": {"type": "LineString", "coordinates": [FAR_AWAY, [FAR_AWAY[0] + 0.001, FAR_AWAY[1] - 0.003]]},
         "diversions": []}
BACK = {"geometry": site_body()["geometry"], "diversions": site_body()["diversions"]}


def _patch(client, owner, rid: str, body: dict) -> None:  # noqa: ANN001
    etag = client.get(f"/v1/requests/{rid}", headers=owner.headers).headers["etag"]
    r = client.patch(f"/v1/requests/{rid}", json=body, headers={**owner.headers, "If-Match": etag})
    assert r.status_code == 200, r.text


def _kinds(db, sub) -> list[str]:  # noqa: ANN001
    return [n.kind for n in notices_of(db, sub.id) if n.request_id is not None]


def _mails(inbox, address: str) -> list:  # noqa: ANN001
    return [m for m in inbox.to(address) if not m["Subject"].startswith(("Bitte", "Baustellen in Ihrem"))]


def test_a_site_moved_out_of_the_area_is_noticed_once_by_email_and_webhook(
        client, db, city, smtp, receiver, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    told = subscribe(client, db, email="baeckerei@example.de", webhooks=[{"url": receiver.url}])
    never_told = subscribe(client, db, email="gas@example.de", kinds=["gas"])  # in the area, filtered out always
    there = subscribe(client, db, email="dortmund@example.de", area={"point": FAR_AWAY, "radius_m": 500})
    secret = client.get(f"/v1/subscriptions/{told.token}").json()["webhooks"][0]["secret"]
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    run_jobs()
    assert _kinds(db, told) == ["request.created"] and len(receiver.requests) == 1
    inbox.clear()

    _patch(client, city, rid, MOVED)
    run_jobs()
    assert _kinds(db, told) == ["request.created", LEFT]
    assert _kinds(db, never_told) == []  # never told about it: nothing to take back
    assert _kinds(db, there) == ["request.updated"]  # moved in: noticed as usual
    [mail] = _mails(inbox, "baeckerei@example.de")
    assert mail["Subject"] == "Baustelle betrifft Ihr Abo nicht mehr: Kanalerneuerung Rüttenscheider Straße"
    german, english = mail.get_content().split("English version below")
    assert german.lstrip().startswith(
        "Baustelle betrifft Ihr Abo nicht mehr\n\nGrund: liegt nicht mehr in Ihrem Gebiet")
    assert "Bereich: geändert, siehe Karte" in german
    assert "erst wieder, wenn sie Ihr Abo wieder betrifft" in german
    assert english.lstrip().startswith("Site no longer concerns your subscription\n\nReason: no longer in your area")
    assert "Area: changed, see the map" in english
    assert len(receiver.requests) == 2
    payload = Webhook(secret).verify(receiver.requests[1]["body"], receiver.requests[1]["headers"])
    assert payload["type"] == "notice.site.left"
    assert payload["data"]["headline"] == {"de": "Baustelle betrifft Ihr Abo nicht mehr",
                                           "en": "Site no longer concerns your subscription"}
    assert payload["data"]["site"]["id"] == rid and payload["data"]["site"]["left"] == ["area"]
    assert "contact" not in payload["data"]["site"]

    # never twice: further edits while the site stays out tell this subscriber nothing
    inbox.clear()
    _patch(client, city, rid, {"title": "Kanalerneuerung Rheinlanddamm"})
    _patch(client, city, rid, {"preferred_start": "2027-05-01"})
    run_jobs()
    assert _kinds(db, told) == ["request.created", LEFT]
    assert _mails(inbox, "baeckerei@example.de") == [] and len(receiver.requests) == 2

    # back in the area: noticed as usual again, and told again when it leaves again
    _patch(client, city, rid, BACK)
    run_jobs()
    assert _kinds(db, told) == ["request.created", LEFT, "request.updated"]
    [mail] = _mails(inbox, "baeckerei@example.de")
    assert mail["Subject"] == ("Baustelle geändert – Termine, Bereich und Angaben: "
                               "Kanalerneuerung Rheinlanddamm")  # compared with what it was when it left
    _patch(client, city, rid, MOVED)
    run_jobs()
    assert _kinds(db, told) == ["request.created", LEFT, "request.updated", LEFT]
    assert len(receiver.requests) == 4


def test_impact_kind_and_modes_that_no_longer_match_say_why_and_what_it_was(
        client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subs = {
        "impact": subscribe(client, db, email="impact@example.de", min_impact="one_way"),
        "kinds": subscribe(client, db, email="kinds@example.de", kinds=["sewer"]),
        "bus": subscribe(client, db, email="bus@example.de", modes=["bus"]),
        "all": subscribe(client, db, email="all@example.de"),
    }
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]  # full closure, car+cycle
    run_jobs()
    assert all(_kinds(db, sub) == ["request.created"] for sub in subs.values())
    inbox.clear()

    _patch(client, city, rid, {"impact": "lane_reduction"})
    run_jobs()
    [mail] = _mails(inbox, "impact@example.de")
    german, english = mail.get_content().split("English version below")
    assert "Grund: Einschränkung jetzt geringer als Ihre Mindestangabe" in german
    assert "Einschränkung: Fahrstreifen eingeengt\nBisher: Vollsperrung" in german
    assert "Reason: restriction now below your minimum" in english
    assert "Impact: lane reduction\nPreviously: full closure" in english
    assert [m["Subject"].split(":")[0] for m in _mails(inbox, "all@example.de")] == ["Verkehrseinschränkung geändert"]

    _patch(client, city, rid, {"kind": "gas"})
    # a closed footway only: the buses drive on (the GTFS-RT feed's rule), the bus operator is told
    _patch(client, city, rid, {"modes": ["pedestrian"], "impact": "full_closure"})
    run_jobs()
    assert [n.payload["site"]["left"] for n in notices_of(db, subs["kinds"].id) if n.kind == LEFT] == [["kinds"]]
    assert [n.payload["site"]["left"] for n in notices_of(db, subs["bus"].id) if n.kind == LEFT] == [["modes"]]
    [mail] = [m for m in _mails(inbox, "bus@example.de") if m["Subject"].startswith("Baustelle betrifft")]
    assert "Grund: betrifft die gewählten Verkehrsarten nicht mehr" in mail.get_content()
    # the bus operator was told its buses were affected (a lane closure for cars and cycles); now they are not
    assert "Betroffen: Fußverkehr\nBisher: Bus, Autoverkehr, Radverkehr" in mail.get_content()
    # the full closure is back: the impact subscriber hears of the site as usual again
    assert _kinds(db, subs["impact"]) == ["request.created", LEFT, "request.updated"]
    assert LEFT not in _kinds(db, subs["all"])


def test_a_site_listed_in_the_welcome_is_told_about_too_and_digests_carry_it(
        client, db, city, smtp, run_jobs, mail_settings) -> None:  # noqa: ANN001
    inbox, _ = smtp
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    run_jobs()
    sub = subscribe(client, db, email="spaet@example.de", delivery="daily")  # welcomed with the site
    run_jobs()
    assert [n.kind for n in notices_of(db, sub.id)] == ["confirmation", "welcome"]
    _patch(client, city, rid, MOVED)
    run_jobs()
    [left] = [n for n in notices_of(db, sub.id) if n.kind == LEFT]
    assert left.digest_pending  # a daily subscriber hears of it with the next digest
    assert jobs.queue_digests(db, mail_settings, now=datetime(2027, 3, 2, 8, 0, tzinfo=UTC)) == 1
    run_jobs()
    [digest] = [m for m in inbox.to("spaet@example.de") if "Übersicht" in m["Subject"]]
    text = digest.get_content()
    assert "Tägliche Übersicht: 1 Hinweis\n" in text
    assert "Baustelle betrifft Ihr Abo nicht mehr\n\nGrund: liegt nicht mehr in Ihrem Gebiet" in text
    assert "Site no longer concerns your subscription\n\nReason: no longer in your area" in text


def test_a_subscriber_that_changed_its_own_filter_is_not_told(client, db, city, run_jobs) -> None:  # noqa: ANN001
    """The site leaves the filter because the subscriber narrowed it: it knows. Only a change of the site that
    the failing part of the filter reads is a reason to tell it."""
    sub = subscribe(client, db, email="umzug@example.de")
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    run_jobs()
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"area": {"point": FAR_AWAY, "radius_m": 500},
                                                            "min_impact": "one_way"})
    assert r.status_code == 200, r.text
    _patch(client, city, rid, {"title": "Kanalerneuerung Rüttenscheider Straße, 2. Abschnitt"})
    _patch(client, city, rid, {"impact": "one_way"})  # still passes min_impact
    run_jobs()
    assert _kinds(db, sub) == ["request.created"]
    _patch(client, city, rid, {"impact": "lane_reduction"})  # now the site's own change takes it out
    run_jobs()
    assert _kinds(db, sub) == ["request.created", LEFT]
    [left] = [n for n in notices_of(db, sub.id) if n.kind == LEFT]
    assert left.payload["site"]["left"] == ["impact"]
