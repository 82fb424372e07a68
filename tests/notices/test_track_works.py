"""Works on a track of their own close the line, not the road: notices word their impact by the feeds' rule
(``feeds.common.in_road`` / ``vehicle_impact``) and the feeds' words ("Streckensperrung" / "line closed"), and
name the replacement buses; works that close only the footway say so. Works in the road still read
"Vollsperrung" / "full closure"."""

from __future__ import annotations

from icalendar import Calendar

from service.notices import render
from tests.conftest import site_body
from tests.notices.helpers import subscribe

BUS = {"type": "LineString", "coordinates": [[7.0045, 51.4405], [7.0060, 51.4380]]}
TITLE = "Gleiserneuerung Rüttenscheider Straße"


def _texts(inbox, to: str, title: str = TITLE) -> tuple[str, str]:  # noqa: ANN001
    """(German, English) of the one email to ``to`` about ``title``, whichever language comes first."""
    [msg] = [m for m in inbox.to(to) if m["Subject"].endswith(title)]
    text = msg.get_content()
    if "English version below" in text:
        german, english = text.split("English version below")
    else:
        english, german = text.split("Deutsche Fassung unten")
    return german, english


def test_track_works_close_the_line_not_the_road(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    """A tram operator renews its track at night, trams replaced by buses: the shop owner is told the line is
    closed and buses replace it, in German and in English, by email and in the calendar."""
    inbox, _ = smtp
    de_sub = subscribe(client, db, email="laden@example.de")
    subscribe(client, db, email="shop@example.de", language="en")
    body = site_body(title=TITLE, kind="tram_track", impact="full_closure", modes=["tram"], shift="night",
                     diversions=[], replacement_routes=[BUS])
    r = client.post("/v1/requests", json=body, headers=city.headers)
    assert r.status_code == 201, r.text
    run_jobs()
    for to in ("laden@example.de", "shop@example.de"):
        german, english = _texts(inbox, to)
        assert "Einschränkung: Streckensperrung, Ersatzverkehr mit Bussen\n" in german, german
        assert "Betroffen: Straßenbahn\n" in german and "Umleitung: nein\n" in german
        assert "Impact: line closed, replacement buses\n" in english, english
        assert "Vollsperrung" not in german and "full closure" not in english
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{de_sub.token}/calendar.ics").content)
    [ev] = cal.walk("VEVENT")
    description = str(ev["DESCRIPTION"])
    assert "Einschränkung: Streckensperrung, Ersatzverkehr mit Bussen" in description
    assert "Impact: line closed, replacement buses" in description and "Vollsperrung" not in description


def test_a_closed_footway_is_no_road_closure_and_the_road_stays_a_road(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subscribe(client, db)
    footway = "Gehwegsanierung Rüttenscheider Straße"
    client.post("/v1/requests", json=site_body(title=footway, kind="road_maintenance", modes=["pedestrian"]),
                headers=city.headers)
    client.post("/v1/requests", json=site_body(), headers=city.headers)  # full closure for cars and cycles
    run_jobs()
    german, english = _texts(inbox, "info@baeckerei-example.de", footway)
    assert "Einschränkung: Gehweg gesperrt\n" in german and "Impact: footway closed\n" in english
    german, english = _texts(inbox, "info@baeckerei-example.de", "Kanalerneuerung Rüttenscheider Straße")
    assert "Einschränkung: Vollsperrung\n" in german and "Impact: full closure\n" in english


def test_a_changed_impact_of_track_works_is_worded_for_the_track_now_and_before() -> None:
    site = {"id": "x", "title": TITLE, "kind": "tram_track", "impact": "full_closure", "modes": ["tram"],
            "replacement": True, "start": "2027-04-01", "end": "2027-04-10", "dates": "slot", "map_url": "m",
            "change": {"what": "effect", "effect": ["impact"]},
            "previous": {"impact": "one_way", "modes": ["tram"], "replacement": False}}
    german = render.site_block("change.approved", site, "de")
    english = render.site_block("change.approved", site, "en")
    assert "Verkehrseinschränkung geändert: jetzt Streckensperrung statt Eingleisiger Betrieb\n" in german
    assert "Traffic restrictions changed: now line closed instead of single-track operation\n" in english
    # a snapshot of before the rule (no kind in it) is read with the site's kind
    assert render.impact_labels("tram_track", "full_closure", ["tram"]) == ("Streckensperrung", "line closed")
    assert render.impact_labels("tram_track", "full_closure", ["car", "tram"]) == ("Vollsperrung", "full closure")
