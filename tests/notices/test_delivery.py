"""Matching, content, dedupe, webhooks with retries and disabling, lead time and digests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select
from standardwebhooks import Webhook

from service.notices import jobs
from service.notices.models import Attempt, EventLog, WebhookEndpoint
from service.worker import WorkerContext
from tests.conftest import site_body
from tests.notices.helpers import deliveries, notices_of, subscribe
from tests.workflow.flow import ok


def _kinds(db, sub) -> list[str]:  # noqa: ANN001
    return [n.kind for n in notices_of(db, sub.id) if n.kind != "confirmation"]


def test_area_and_filters_decide_who_hears_of_a_site(client, db, city, run_jobs) -> None:
    diversion_only = {"type": "Polygon", "coordinates": [[[7.0025, 51.4380], [7.0050, 51.4380], [7.0050, 51.4395],
                                                          [7.0025, 51.4395], [7.0025, 51.4380]]]}
    subs = {
        "circle": subscribe(client, db, email="a@example.de"),
        "street": subscribe(client, db, email="b@example.de",
                            area={"street": "Rüttenscheider Str.", "city": "Essen"}),
        "other_street": subscribe(client, db, email="c@example.de",
                                  area={"street": "Kettwiger Straße", "city": "Essen"}),
        "street_other_city": subscribe(client, db, email="d@example.de",
                                       area={"street": "Rüttenscheider Straße", "city": "Dortmund"}),
        "diversion": subscribe(client, db, email="e@example.de", area=diversion_only),
        "gas_only": subscribe(client, db, email="f@example.de", kinds=["gas"]),
        "sewer": subscribe(client, db, email="g@example.de", kinds=["sewer", "water"]),
        "closure_needed": subscribe(client, db, email="h@example.de", min_impact="full_closure"),
        "transit_only": subscribe(client, db, email="i@example.de", modes=["transit"]),
        "cycle": subscribe(client, db, email="j@example.de", modes=["cycle", "transit"]),
    }
    body = site_body(impact="one_way", modes=["car", "cycle"])
    assert client.post("/v1/requests", json=body, headers=city.headers).status_code == 201
    client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers)  # drafts are not noticed
    run_jobs()
    heard = {name for name, sub in subs.items() if _kinds(db, sub)}
    # transit_only: a one-way street for cars and cycles makes the buses divert (as the GTFS-RT feed says)
    assert heard == {"circle", "street", "diversion", "sewer", "cycle", "transit_only"}
    assert all(_kinds(db, subs[n]) == ["request.created"] for n in heard)


def test_mode_filters_tell_trams_from_buses_and_transit_means_both(client, db, city, run_jobs) -> None:  # noqa: ANN001
    """A bus company hears of works that stop its buses, not of tram-only works; `transit` covers both. A full
    closure of the road for cars makes the buses detour, one of the cycle lane alone leaves their lanes open (the
    feeds' rule, test_mode_parity.py); a footway closure touches no transit."""
    subs = {name: subscribe(client, db, email=f"{name}@example.de", modes=modes) for name, modes in
            (("transit", ["transit"]), ("tram", ["tram"]), ("bus", ["bus"]))}
    heard: dict[str, set[str]] = {name: set() for name in subs}
    for title, modes, impact in (("Gleiserneuerung", ["tram"], "full_closure"),
                                 ("Haltestellenumbau", ["bus"], "full_closure"),
                                 ("Ampelumbau", ["transit"], "full_closure"), ("Fahrbahn", ["car"], "full_closure"),
                                 ("Radweg", ["cycle"], "full_closure"), ("Gehweg", ["pedestrian"], "footway")):
        body = site_body(title=f"{title} Rüttenscheider Straße", modes=modes, impact=impact)
        assert client.post("/v1/requests", json=body, headers=city.headers).status_code == 201
        before = {name: len(_kinds(db, sub)) for name, sub in subs.items()}
        run_jobs()
        heard = {name: heard[name] | ({title} if len(_kinds(db, sub)) > before[name] else set())
                 for name, sub in subs.items()}
    assert heard == {"transit": {"Gleiserneuerung", "Haltestellenumbau", "Ampelumbau", "Fahrbahn"},
                     "tram": {"Gleiserneuerung", "Ampelumbau"}, "bus": {"Haltestellenumbau", "Ampelumbau", "Fahrbahn"}}


def test_notice_says_where_what_who_when_impact_and_links_the_map(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()
    [msg] = [m for m in inbox.messages if not m["Subject"].startswith("Bitte")]
    assert msg["Subject"] == "Neue Baustelle geplant: Kanalerneuerung Rüttenscheider Straße"
    text = msg.get_content()
    german, english = text.split("English version below")
    for expected in ("Wo: Kanalerneuerung Rüttenscheider Straße", "Was: Kanalbau",
                     f"Wer baut: {city.name}\n",  # the organisation, not its contact person (private)
                     "Wann: 01.04.2027 bis 30.05.2027", "Einschränkung: Vollsperrung",
                     "Betroffen: Autoverkehr, Radverkehr", "Umleitung: ja",
                     f"Karte: https://baustellen.example/map/#request={site['id']}"):
        assert expected in german, expected
    for expected in ("Where: Kanalerneuerung", "What: sewer works", f"Who builds: {city.name}\n",
                     "When: 2027-04-01 to 2027-05-30",
                     "Impact: full closure", "Diversion: yes"):
        assert expected in english, expected
    assert f"https://baustellen.example/v1/subscriptions/{sub.token}/unsubscribe" in text
    assert msg["List-Unsubscribe"] == f"<https://baustellen.example/v1/subscriptions/{sub.token}/unsubscribe>"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@baustellen.example>")


CONTACT = {"name": "Bauleitung Tiefbau, Amt 66", "phone": "+49 201 88 66 123",
           "email": "bauleitung.tiefbau@example.org"}


def test_no_channel_tells_the_contact_of_the_site(client, db, city, smtp, receiver, factory, mail_settings
                                                   ) -> None:
    """Who builds is the owner organisation. The request's contact person, phone and email are private to the
    owner and the coordination office (request API, map, open data): an anonymous subscriber must not get
    them by email, webhook, calendar or Atom, also not from a notice queued before they were left out."""
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    site = client.post("/v1/requests", json=site_body(contact=CONTACT), headers=city.headers).json()
    jobs.process_events(db, mail_settings)
    db.flush()
    [notice] = [n for n in notices_of(db, sub.id) if n.kind == "request.created"]
    assert notice.payload["site"]["owner"] == city.name
    assert "contact" not in notice.payload["site"]  # the snapshot does not carry it
    # A notice the previous version queued still holds the contact in its snapshot: it is not passed on.
    notice.payload = {**notice.payload, "site": {**notice.payload["site"], "contact": CONTACT}}
    db.flush()
    assert jobs.deliver_batch(factory, mail_settings).delivered == 3  # confirmation, email, webhook

    [mail] = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    text = mail.get_content()
    assert f"Wer baut: {city.name}\n" in text and f"Who builds: {city.name}\n" in text
    [hook] = receiver.requests
    assert receiver.json(0)["data"]["site"]["owner"] == city.name
    assert "contact" not in receiver.json(0)["data"]["site"]
    ics = client.get(f"/v1/subscriptions/{sub.token}/calendar.ics")
    atom = client.get(f"/v1/subscriptions/{sub.token}/feed.atom")
    assert ics.status_code == atom.status_code == 200
    ics_text = ics.content.replace(b"\r\n ", b"").decode()  # unfold RFC 5545 lines
    assert f"Wer baut: {city.name}\\n" in ics_text and site["id"] in ics_text
    assert f"Wer baut: {city.name}\n" in atom.text
    channels = {"email": text, "webhook": hook["body"].decode(), "calendar": ics_text, "atom": atom.text}
    for channel, content in channels.items():
        for value in ("Bauleitung", "88 66 123", "bauleitung.tiefbau", "Amt 66"):
            assert value not in content, (channel, value)


def test_english_subscribers_read_english_first(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    subscribe(client, db, language="en")
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    [msg] = [m for m in inbox.messages if not m["Subject"].startswith("Please confirm")]
    assert msg["Subject"].startswith("New site planned")
    assert msg.get_content().index("Where:") < msg.get_content().index("Wo:")


def test_never_two_notices_for_the_same_change_to_the_same_inbox(client, db, city, smtp, run_jobs,
                                                                 mail_settings) -> None:
    inbox, _ = smtp
    # The same inbox subscribed twice (circle and street), both match the site.
    a = subscribe(client, db)
    b = subscribe(client, db, email="INFO@baeckerei-example.de", area={"street": "Rüttenscheider Straße",
                                                                     "city": "Essen"})
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    assert _kinds(db, a) == ["request.created"] and _kinds(db, b) == ["request.created"]
    site_mails = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    assert len(site_mails) == 1

    # Processing the same events again (e.g. after a crash before the log was written) queues nothing new.
    db.execute(delete(EventLog))
    db.flush()
    before = len(deliveries(db))
    assert jobs.process_events(db, mail_settings) == 0
    assert len(deliveries(db)) == before
    run_jobs()
    assert len([m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]) == 1


def test_withdrawal_sends_a_cancellation(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()
    assert client.delete(f"/v1/requests/{site['id']}", headers=city.headers).status_code == 200
    run_jobs()
    assert _kinds(db, sub) == ["request.created", "request.withdrawn"]
    [last] = [m for m in inbox.messages if m["Subject"].startswith("Baustelle abgesagt")]
    assert "findet nicht wie angekündigt statt" in last.get_content()
    # A withdrawn draft was never public: nobody hears of it.
    draft = client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers).json()
    client.delete(f"/v1/requests/{draft['id']}", headers=city.headers)
    run_jobs()
    assert _kinds(db, sub) == ["request.created", "request.withdrawn"]


def test_webhook_is_signed_and_retried_with_the_same_id(client, db, city, receiver, factory, mail_settings,
                                                        run_jobs) -> None:
    sub = subscribe(client, db, webhooks=[{"url": receiver.url}])
    secret = client.get(f"/v1/subscriptions/{sub.token}").json()["webhooks"][0]["secret"]
    assert secret.startswith("whsec_")
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    receiver.statuses = [500]
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    jobs.process_events(db, mail_settings)
    first = jobs.deliver_batch(factory, mail_settings, now=t0)
    assert first.retried == 1 and len(receiver.requests) == 1
    # Not yet due again:
    assert jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(seconds=5)).claimed == 0
    second = jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(seconds=31))
    assert second.delivered == 1 and len(receiver.requests) == 2

    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[1] and ids[0].startswith("msg_")
    for r in receiver.requests:
        payload = Webhook(secret).verify(r["body"], r["headers"])  # raises if the signature is wrong
        assert payload["type"] == "notice.request.created"
        assert payload["data"]["site"]["title"] == "Kanalerneuerung Rüttenscheider Straße"
        assert payload["data"]["headline"] == {"de": "Neue Baustelle geplant", "en": "New site planned"}
    try:
        Webhook("whsec_" + "QUJD" * 8).verify(receiver.requests[0]["body"], receiver.requests[0]["headers"])
        raise AssertionError("a wrong secret must not verify")
    except Exception as exc:  # noqa: BLE001
        assert "signature" in str(exc).lower()
    hook = next(d for d in deliveries(db) if d.channel == "webhook")
    attempts = db.scalars(select(Attempt).where(Attempt.delivery_id == hook.id).order_by(Attempt.id)).all()
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500), (True, 204)]


def test_failing_endpoint_is_disabled_and_its_owner_emailed(client, db, city, receiver, smtp, factory,
                                                           mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    receiver.statuses = [503] * 10
    jobs.process_events(db, mail_settings)
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    jobs.deliver_batch(factory, mail_settings, now=t0)
    jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(hours=1))
    endpoint = db.scalar(select(WebhookEndpoint))
    db.refresh(endpoint)
    assert endpoint.enabled and endpoint.failing_since is not None
    stats = jobs.deliver_batch(factory, mail_settings,
                               now=t0 + timedelta(seconds=mail_settings.webhook_disable_after_s + 60))
    assert stats.disabled_endpoints == [receiver.url]
    db.refresh(endpoint)
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert len(receiver.requests) == 3
    jobs.deliver_batch(factory, mail_settings)  # the owner's warning was queued by the disabling
    warning = [m for m in inbox.messages if m["Subject"] == "Webhook abgeschaltet"]
    assert len(warning) == 1 and receiver.url in warning[0].get_content()
    assert {d.status for d in deliveries(db) if d.channel == "webhook"} == {"cancelled"}

    # Saving the URL again re-enables it.
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"webhooks": [receiver.url]})
    assert r.json()["webhooks"][0]["enabled"] is True


def _approved_site(client, city, coordinator, start: str = "2027-04-01") -> str:  # noqa: ANN001
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    ok(client, coordinator, rid, "propose", {"start": start})
    ok(client, city, rid, "accept")
    ok(client, coordinator, rid, "approve")
    return rid


def test_lead_time_notice_is_queued_once(client, db, city, coordinator, smtp, run_jobs, mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, lead_days=14)
    _approved_site(client, city, coordinator)  # approved from 2027-04-01
    run_jobs()
    assert jobs.queue_lead_notices(db, mail_settings, on=date(2027, 3, 1)) == 0  # 31 days ahead: not yet
    assert jobs.queue_lead_notices(db, mail_settings, on=date(2027, 3, 20)) == 1
    assert jobs.queue_lead_notices(db, mail_settings, on=date(2027, 3, 21)) == 0  # once
    assert jobs.queue_lead_notices(db, mail_settings, on=date(2027, 4, 2)) == 0  # started already
    run_jobs()
    assert _kinds(db, sub) == ["request.created", "request.approved", "lead_time"]
    subjects = [m["Subject"] for m in inbox.messages]
    assert "Baustelle beginnt in 12 Tagen: Kanalerneuerung Rüttenscheider Straße" in subjects


def test_lead_time_notice_the_day_before_says_tomorrow(client, db, city, coordinator, smtp, run_jobs,
                                                       mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, lead_days=1)
    _approved_site(client, city, coordinator)  # approved from 2027-04-01
    run_jobs()
    assert jobs.queue_lead_notices(db, mail_settings, on=date(2027, 3, 31)) == 1
    run_jobs()
    assert _kinds(db, sub) == ["request.created", "request.approved", "lead_time_tomorrow"]
    subjects = [m["Subject"] for m in inbox.messages]
    assert "Baustelle beginnt morgen: Kanalerneuerung Rüttenscheider Straße" in subjects


def test_daily_digest_collects_what_happened_since_the_last(client, db, city, smtp, run_jobs, mail_settings
                                                            ) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="daily")
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    client.post("/v1/requests", json=site_body(title="Gasleitung Rüttenscheider Straße", kind="gas"),
                headers=city.headers)
    run_jobs()
    assert [m["Subject"] for m in inbox.messages if not m["Subject"].startswith("Bitte")] == []  # waits

    morning = datetime(2027, 3, 2, 8, 0, tzinfo=UTC)
    assert jobs.queue_digests(db, mail_settings, now=morning) == 1
    assert jobs.queue_digests(db, mail_settings, now=morning + timedelta(hours=2)) == 0  # same day
    run_jobs()
    [digest] = [m for m in inbox.messages if "Übersicht" in m["Subject"]]
    text = digest.get_content()
    assert "Tägliche Übersicht: 2 Hinweise" in text
    assert "Kanalerneuerung Rüttenscheider Straße" in text and "Gasleitung Rüttenscheider Straße" in text

    client.post("/v1/requests", json=site_body(title="Wasserleitung Rüttenscheider Straße", kind="water"),
                headers=city.headers)
    run_jobs()
    assert jobs.queue_digests(db, mail_settings, now=morning + timedelta(days=1)) == 1
    run_jobs()
    second = [m for m in inbox.messages if "Übersicht" in m["Subject"]][-1]
    assert "Tägliche Übersicht: 1 Hinweis\n" in second.get_content()
    assert "Daily digest: 1 notice\n" in second.get_content()
    assert "Wasserleitung" in second.get_content() and "Gasleitung" not in second.get_content()
    assert _kinds(db, sub).count("digest.daily") == 2


def test_refused_email_is_not_retried_forever(client, db, city, smtp, factory, mail_settings) -> None:
    subscribe(client, db)
    jobs.deliver_batch(factory, mail_settings)  # the confirmation
    bad = mail_settings.model_copy(update={"smtp_port": 1})  # nothing listens: a temporary failure
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    jobs.process_events(db, bad)
    stats = jobs.deliver_batch(factory, bad, now=t0)
    assert stats.retried == 1 and stats.delivered == 0
    pending = next(d for d in deliveries(db) if d.status == "pending")
    assert pending.attempts == 1 and pending.next_attempt_at == t0 + timedelta(seconds=30)
    assert "ConnectionRefusedError" in pending.last_error
    later = jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(minutes=1))
    assert later.delivered == 1
    db.refresh(pending)
    assert pending.status == "delivered"


def test_worker_logs_a_delivery_round_only_when_it_did_something(client, db, city, smtp, factory, mail_settings,
                                                                 caplog) -> None:
    scheduler = BackgroundScheduler()
    jobs.register(scheduler, WorkerContext(settings=mail_settings, sessionmaker=factory))
    deliver = scheduler.get_job("notices.deliver").func
    subscribe(client, db)
    assert client.post("/v1/requests", json=site_body(), headers=city.headers).status_code == 201
    db.flush()
    with caplog.at_level("INFO", logger="baustellen.notices"):
        deliver()
        busy = [r.getMessage() for r in caplog.records if r.name == "baustellen.notices"]
        caplog.clear()
        deliver()  # nothing left to do: an idle worker stays quiet
        idle = [r.getMessage() for r in caplog.records if r.name == "baustellen.notices"]
    assert len(busy) == 1 and busy[0].startswith("deliver: DeliveryStats(claimed=") and "delivered=0" not in busy[0]
    assert idle == []
    assert smtp[0].messages  # the busy round really sent mail
