"""Anyone may subscribe to notices, so a site's title reaches subscribers as the open data feeds publish it: no
personal names, telephone numbers or e-mail addresses of the owner's staff (``service.feeds.common.scrub``), in
the email, the calendar and the Atom feed. The street stays, so the shop owner still knows where."""

from __future__ import annotations

from icalendar import Calendar

from tests.conftest import site_body
from tests.notices.helpers import subscribe

TITLE = "Kanalerneuerung Rüttenscheider Straße, Bauleitung: Herr Jens Becker, 0201 8812345, j.becker@example.de"
PRIVATE = ("Becker", "8812345", "j.becker@example.de")


def test_notices_publish_the_title_without_names_phones_and_addresses(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db)
    r = client.post("/v1/requests", json=site_body(title=TITLE), headers=city.headers)
    assert r.status_code == 201, r.text
    run_jobs()
    [msg] = [m for m in inbox.to("info@baeckerei-example.de") if "Rüttenscheider Straße" in m["Subject"]]
    texts = {"mail": msg["Subject"] + msg.get_content(),
             "calendar": "".join(str(ev.get(k, "")) for ev in Calendar.from_ical(
                 client.get(f"/v1/subscriptions/{sub.token}/calendar.ics").content).walk("VEVENT")
                 for k in ("SUMMARY", "LOCATION", "DESCRIPTION")),
             "atom": client.get(f"/v1/subscriptions/{sub.token}/feed.atom").text}
    for where, text in texts.items():
        assert "Kanalerneuerung Rüttenscheider Straße" in text, where
        for private in PRIVATE:
            assert private not in text, (where, private)
    assert "Bauleitung: […]" in texts["mail"]
