"""Changing a subscription's delivery rhythm loses nothing and repeats nothing: switching from a daily or
weekly digest back to immediate delivery sends what waited for the digest at once, as one "digest up to the
switch"; switching between immediate, daily and weekly carries every waiting notice into exactly one email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.notices import jobs, service
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe

ADDRESS = "info@baeckerei-example.de"
TITLES = ("Kanalerneuerung Rüttenscheider Straße", "Gasleitung Rüttenscheider Straße",
          "Wasserleitung Rüttenscheider Straße", "Fernwärme Rüttenscheider Straße")


def _site(client, city, title: str) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(title=title), headers=city.headers)
    assert r.status_code == 201, r.text


def _mails(inbox, address: str = ADDRESS) -> list:  # noqa: ANN001
    return [m for m in inbox.to(address) if not m["Subject"].startswith("Bitte bestätigen")]


def _told(inbox, title: str, address: str = ADDRESS) -> int:  # noqa: ANN001
    """In how many emails to ``address`` the site ``title`` appears."""
    return sum(f"Wo: {title}\n" in m.get_content() for m in _mails(inbox, address))


def _waiting(db, sub) -> list[str]:  # noqa: ANN001
    return [n.payload["site"]["title"] for n in notices_of(db, sub.id) if n.digest_pending]


def _next(period: str, settings) -> datetime:  # noqa: ANN001
    """The next regular digest time after the real clock (a switch counts from the real clock)."""
    step = timedelta(days=7 if period == "weekly" else 1)
    return service.digest_boundary(period, datetime.now(UTC), settings) + step


def test_switching_back_to_immediate_sends_what_waited_for_the_digest(client, db, city, receiver, smtp,  # noqa: ANN001
                                                                       run_jobs, mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="daily", webhooks=[receiver.url])
    _site(client, city, TITLES[0])
    _site(client, city, TITLES[1])
    run_jobs()
    assert _mails(inbox) == [] and _waiting(db, sub) == list(TITLES[:2])  # the email waits for the digest
    assert len(receiver.requests) == 2  # webhooks are immediate anyway

    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "immediate"})
    assert r.status_code == 200 and r.json()["delivery"] == "immediate"
    assert _waiting(db, sub) == []
    run_jobs()  # the next delivery round
    [catch_up] = _mails(inbox)
    assert catch_up["Subject"] == "Baustellenhinweise: Übersicht bis zur Umstellung"
    text = catch_up.get_content()
    assert text.startswith("Übersicht bis zur Umstellung: 2 Hinweise\nSie erhalten Hinweise jetzt sofort.")
    assert "\nDigest up to the switch: 2 notices\nYou now receive notices immediately." in text
    assert text.index("Übersicht bis zur Umstellung") < text.index("Digest up to the switch")  # German first
    assert text.index(f"Wo: {TITLES[0]}") < text.index(f"Wo: {TITLES[1]}")  # in the order they were queued
    assert catch_up["List-Unsubscribe"]
    assert len(receiver.requests) == 2  # the catch-up is email only: no webhook twice

    # Immediate from now on; the digest times that follow find nothing to send again.
    _site(client, city, TITLES[2])
    run_jobs()
    assert _mails(inbox)[-1]["Subject"] == f"Neue Baustelle geplant: {TITLES[2]}"
    for period in ("daily", "weekly"):
        assert jobs.queue_digests(db, mail_settings, now=_next(period, mail_settings)) == 0
    run_jobs()
    assert [_told(inbox, t) for t in TITLES[:3]] == [1, 1, 1]  # each site in exactly one email
    assert len(_mails(inbox)) == 2
    assert [n.kind for n in notices_of(db, sub.id)].count("digest.catch_up") == 1


def test_switching_to_immediate_before_confirming_a_new_address(client, db, city, smtp, run_jobs,  # noqa: ANN001
                                                                  mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="weekly")
    _site(client, city, TITLES[0])
    run_jobs()
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"email": "neu@baeckerei-example.de",
                                                              "delivery": "immediate"})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    run_jobs()
    assert _mails(inbox) == [] and _mails(inbox, "neu@baeckerei-example.de") == []  # nothing before confirming
    db.refresh(sub)
    assert client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token}).status_code == 200
    run_jobs()
    [catch_up] = _mails(inbox, "neu@baeckerei-example.de")
    assert catch_up.get_content().startswith("Übersicht bis zur Umstellung: 1 Hinweis\n")
    assert _told(inbox, TITLES[0], "neu@baeckerei-example.de") == 1 and _mails(inbox) == []


def test_a_notice_left_waiting_by_an_immediate_subscription_goes_out_with_the_next_digest_round(  # noqa: ANN001
        client, db, city, smtp, run_jobs, mail_settings) -> None:
    """A notice queued for the digest while the switch to immediate was being saved (the outbox step read the
    old rhythm), or left waiting from before switches collected them, is not stranded: the digest job, every
    few minutes, sends it as the digest up to the switch."""
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="daily")
    _site(client, city, TITLES[0])
    run_jobs()
    sub.delivery = "immediate"  # switched without the PATCH collecting the waiting notice
    db.flush()
    assert _waiting(db, sub) == [TITLES[0]]
    assert jobs.queue_digests(db, mail_settings, now=datetime.now(UTC)) == 1
    assert jobs.queue_digests(db, mail_settings, now=datetime.now(UTC)) == 0  # once
    run_jobs()
    [catch_up] = _mails(inbox)
    assert catch_up["Subject"] == "Baustellenhinweise: Übersicht bis zur Umstellung"
    assert _told(inbox, TITLES[0]) == 1 and _waiting(db, sub) == []


def test_switching_between_immediate_daily_and_weekly_loses_and_repeats_nothing(client, db, city, smtp,  # noqa: ANN001
                                                                                 run_jobs, mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    _site(client, city, TITLES[0])  # immediate
    run_jobs()
    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "daily"}).status_code == 200
    _site(client, city, TITLES[1])  # waits for the daily digest ...
    run_jobs()
    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "weekly"}).status_code == 200
    _site(client, city, TITLES[2])  # ... which is now a weekly one
    run_jobs()
    assert _waiting(db, sub) == list(TITLES[1:3])
    monday = _next("weekly", mail_settings)
    assert jobs.queue_digests(db, mail_settings, now=monday - timedelta(seconds=1)) == 0  # no daily digest
    assert jobs.queue_digests(db, mail_settings, now=monday) == 1
    run_jobs()
    weekly = _mails(inbox)[-1]
    assert weekly["Subject"] == "Baustellenhinweise: wöchentliche Übersicht"
    assert weekly.get_content().startswith("Wöchentliche Übersicht: 2 Hinweise\n")

    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "daily"}).status_code == 200
    _site(client, city, TITLES[3])
    run_jobs()
    assert jobs.queue_digests(db, mail_settings, now=_next("daily", mail_settings)) == 1
    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "immediate"}).status_code == 200
    run_jobs()
    daily = _mails(inbox)[-1]
    assert daily.get_content().startswith("Tägliche Übersicht: 1 Hinweis\n")
    # Nothing waited any more when switching back to immediate: no empty catch-up.
    assert [n.kind for n in notices_of(db, sub.id)].count("digest.catch_up") == 0
    assert [_told(inbox, t) for t in TITLES] == [1, 1, 1, 1]
    assert len(_mails(inbox)) == 3  # one immediate notice, one weekly and one daily digest


def test_two_digest_subscriptions_of_one_address_each_get_their_digest(client, db, city, smtp,  # noqa: ANN001
                                                                       run_jobs, mail_settings) -> None:
    """A shop with two areas (shop and warehouse) on the same address and rhythm: neither digest swallows the
    other's items."""
    inbox, _ = smtp
    shop = subscribe(client, db, delivery="daily")
    store = subscribe(client, db, delivery="daily", area={"point": [7.0045, 51.4365], "radius_m": 2000})
    _site(client, city, TITLES[0])
    run_jobs()
    assert _waiting(db, shop) == [TITLES[0]] and _waiting(db, store) == [TITLES[0]]
    assert jobs.queue_digests(db, mail_settings, now=_next("daily", mail_settings)) == 2
    run_jobs()
    assert _waiting(db, shop) == [] and _waiting(db, store) == []
    digests = _mails(inbox)
    assert [m["Subject"] for m in digests] == ["Baustellenhinweise: tägliche Übersicht"] * 2
    assert _told(inbox, TITLES[0]) == 2  # once per subscription, each with its own unsubscribe link
    assert digests[0]["List-Unsubscribe"] != digests[1]["List-Unsubscribe"]
