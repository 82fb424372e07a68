"""Texts in the subscription's language, and both languages where the email is bilingual: the calendar names the
kind of works in the subscriber's language; the footers of every email carry both languages (German first); the
"webhook disabled" warning says its time on the clock of Europe/Berlin, dated as every notice dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from service.notices import jobs, render
from service.notices.models import WebhookEndpoint
from tests.conftest import site_body
from tests.notices.helpers import subscribe

WATER = site_body(title="Wasserleitung Rüttenscheider Straße", kind="water")


def test_the_calendar_names_the_kind_of_works_in_the_subscriber_s_language(client, db, city) -> None:  # noqa: ANN001
    subs = {lang: subscribe(client, db, email=f"{lang}@example.de", language=lang) for lang in ("de", "en")}
    client.post("/v1/requests", json=WATER, headers=city.headers)
    summaries = {}
    for lang, sub in subs.items():
        [ev] = Calendar.from_ical(client.get(f"/v1/subscriptions/{sub.token}/calendar.ics").content).walk("VEVENT")
        summaries[lang] = str(ev["SUMMARY"])
    assert summaries == {"de": "Wasserleitung: Wasserleitung Rüttenscheider Straße",
                         "en": "water main: Wasserleitung Rüttenscheider Straße"}


def test_every_email_s_footer_is_in_both_languages_german_first(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subs = {lang: subscribe(client, db, email=f"{lang}@example.de", language=lang) for lang in ("de", "en")}
    client.post("/v1/requests", json=WATER, headers=city.headers)
    run_jobs()
    for lang, sub in subs.items():
        mails = inbox.to(f"{lang}@example.de")
        assert len(mails) == 2  # the confirmation and the notice
        for msg in mails:
            text = msg.get_content()
            footer = text[text.rindex("\n--\n"):]
            assert footer == (
                f"\n--\nAbonnement verwalten / Manage your subscription: "
                f"https://baustellen.example/v1/subscriptions/{sub.token}\n"
                f"Abmelden mit einem Klick / Unsubscribe with one click: "
                f"https://baustellen.example/v1/subscriptions/{sub.token}/unsubscribe\n"), (lang, footer)


def test_the_time_a_webhook_failed_since_is_berlin_time_in_each_language() -> None:
    links = {"manage": "https://m", "unsubscribe": "https://u"}
    winter = render.endpoint_disabled_text("https://h.example/x", "2026-11-21T21:26+00:00", links, "de")
    assert "antwortet seit 21.11.2026, 22:26 Uhr nicht erfolgreich" in winter
    assert "failing since 2026-11-21, 22:26 (Berlin time) and was disabled" in winter
    summer = render.endpoint_disabled_text("https://h.example/x", "2027-07-01T10:00:00+00:00", links, "en")
    assert "seit 01.07.2027, 12:00 Uhr" in summer and "since 2027-07-01, 12:00 (Berlin time)" in summer
    assert summer.index("Your webhook endpoint") < summer.index("Ihr Webhook-Empfänger")  # English first
    assert "T10:00" not in summer and "+00:00" not in summer


def test_the_disabled_webhook_warning_email_says_when_in_berlin_time(client, db, city, receiver, smtp, factory,  # noqa: ANN001
                                                                     mail_settings) -> None:
    inbox, _ = smtp
    subscribe(client, db, webhooks=[receiver.url])
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    receiver.statuses = [503] * 5
    jobs.process_events(db, mail_settings)
    t0 = datetime(2030, 11, 21, 21, 26, 30, tzinfo=UTC)  # in the future: everything queued is due
    jobs.deliver_batch(factory, mail_settings, now=t0)
    jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(seconds=mail_settings.webhook_disable_after_s + 60))
    assert not db.scalar(select(WebhookEndpoint.enabled))
    jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(days=2))
    [warning] = [m for m in inbox.messages if m["Subject"] == "Webhook abgeschaltet"]
    text = warning.get_content()
    assert "antwortet seit 21.11.2030, 22:26 Uhr nicht erfolgreich" in text
    assert "failing since 2030-11-21, 22:26 (Berlin time)" in text
