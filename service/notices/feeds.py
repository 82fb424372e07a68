"""Pull channels of a subscription: an iCalendar feed (RFC 5545) and an Atom feed (RFC 4287)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event, vGeo

from service.geo.rules import SHIFT_HOURS
from service.notices import render
from service.notices.models import Notice, Subscription

UID_DOMAIN = "baustellen.ruhr"
CANCELLED = {"withdrawn", "rejected"}
CONFIRMED = {"approved", "active", "completed"}


def last_day(site: dict[str, Any]) -> date:
    """The last calendar day the works occupy: the end date, or for night work (``SHIFT_HOURS``: 20:00 to 07:00)
    the morning after it, when its last night ends, as the open data feeds end it (``feeds.common.site_end``)."""
    end = date.fromisoformat(site["end"])
    hours = SHIFT_HOURS.get(site.get("shift") or "continuous")
    return end + timedelta(days=1) if hours is not None and hours[1] <= hours[0] else end


def calendar(sub: Subscription, sites: list[dict[str, Any]], links: dict[str, str],
             told: Collection[str] | None = None) -> bytes:
    """One all-day VEVENT per site: stable UID, SEQUENCE rising with every change of the site (the number of
    its outbox events), GEO, LOCATION, STATUS CANCELLED when withdrawn or rejected. DTSTAMP is the site's last
    change, as LAST-MODIFIED, not the time of the request: the same sites give the same bytes (and ETag), so a
    calendar client polling the feed gets 304 until something changed.

    DTEND is exclusive: the day after the last day, for night work the day after the morning its last night ends
    (:func:`last_day`). ``told``: the ids of the sites the subscription was told of (a notice of the site, or a
    welcome listing it); a withdrawn or rejected site not among them is left out, as its cancellation notice is
    (never announced, nothing to call off; a calendar client drops an event no longer in the feed). None: all."""
    lang = sub.language
    cal = Calendar()
    cal.add("prodid", "-//Baustellenmanagement Ruhr//Baustellenhinweise//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Baustellen in Ihrem Gebiet" if lang == "de" else "Construction sites in your area")
    cal.add("x-wr-timezone", "Europe/Berlin")
    for site in sites:
        cancelled = site["status"] in CANCELLED
        if cancelled and told is not None and str(site["id"]) not in told:
            continue
        ev = Event()
        ev.add("uid", f"{site['id']}@{UID_DOMAIN}")
        modified = datetime.fromisoformat(site["updated_at"]).astimezone(UTC)
        ev.add("dtstamp", modified)
        ev.add("last-modified", modified)
        ev.add("sequence", int(site["sequence"]))
        ev.add("summary", f"{render.kind_label(site['kind'], lang)}: {site['title']}")  # the subscriber's language
        ev.add("dtstart", date.fromisoformat(site["start"]))
        ev.add("dtend", last_day(site) + timedelta(days=1))  # DTEND is exclusive
        ev.add("location", site["title"])
        ev["geo"] = vGeo((site["lat"], site["lon"]))
        ev.add("url", site["map_url"])
        ev.add("transp", "TRANSPARENT")
        status = "CANCELLED" if cancelled else ("CONFIRMED" if site["status"] in CONFIRMED else "TENTATIVE")
        ev.add("status", status)
        kind = render.state_kind(site)  # headed by what the site is now: new, changed, approved, cancelled, ...
        first, second = render.languages(lang)
        ev.add("description", render.site_block(kind, site, first) + "\n\n" + render.site_block(kind, site, second))
        cal.add_component(ev)
    return cal.to_ical()


def atom(sub: Subscription, notices: list[Notice], links: dict[str, str], empty_updated: datetime) -> bytes:
    """The subscription's notices, newest first; its welcome (the sites already in the area when it was
    confirmed) as one entry listing them."""
    lang = sub.language
    fg = FeedGenerator()
    fg.id(f"urn:uuid:{sub.id}")
    fg.title("Baustellenhinweise" if lang == "de" else "Construction site notices")
    fg.author({"name": "Baustellenmanagement Ruhr"})
    fg.link(href=links["atom"], rel="self")
    fg.link(href=links["manage"], rel="alternate")
    fg.language(lang)
    fg.updated(max((n.created_at for n in notices), default=empty_updated))
    first, second = render.languages(lang)
    for n in reversed(notices):  # feedgen prepends: add oldest first so the newest ends up on top
        site = n.payload.get("site")
        if n.kind == "welcome":
            title, href = render.welcome_subject(n.payload, lang), links["manage"]
            content = (render.welcome_block(n.payload, first, links) + "\n\n"
                       + render.welcome_block(n.payload, second, links))
        elif site:
            title, href = render.subject(n.kind, site, lang), site["map_url"]
            content = render.site_block(n.kind, site, first) + "\n\n" + render.site_block(n.kind, site, second)
        else:
            continue
        entry = fg.add_entry()
        entry.id(f"urn:uuid:{n.id}")
        entry.title(title)
        entry.link(href=href)
        entry.updated(n.created_at)
        entry.published(n.created_at)
        entry.content(content, type="text")
    return fg.atom_str(pretty=True)
