"""What a notice says: plain German first, English second (or the other way round for ``language=en``).

Pure functions over the JSON snapshot of a site (``repository.site_snapshot``), so a notice reads the same
on every retry and in every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.feeds.common import impact_text, vehicle_impact
from service.geo.rules import SHIFT_HOURS, in_road
from service.kit.types import flatten_lines

BERLIN = ZoneInfo("Europe/Berlin")

KIND_LABELS = {
    "gas": ("Gasleitung", "gas main"),
    "water": ("Wasserleitung", "water main"),
    "sewer": ("Kanalbau", "sewer works"),
    "district_heating": ("Fernwärme", "district heating"),
    "power": ("Stromleitung", "power cable"),
    "telecom": ("Telekommunikation", "telecom"),
    "road_maintenance": ("Straßenunterhaltung", "road maintenance"),
    "road_construction": ("Straßenbau", "road construction"),
    "tram_track": ("Straßenbahngleise", "tram tracks"),
    "rail": ("Bahnanlagen", "railway"),
    "bridge": ("Brückenbau", "bridge works"),
    "building": ("Hochbau", "building works"),
    "event": ("Veranstaltung", "event"),
    "other": ("Sonstige Arbeiten", "other works"),
}

IMPACT_LABELS = {
    "none": ("keine Verkehrseinschränkung", "no traffic restriction"),
    "footway": ("Gehweg betroffen", "footway affected"),
    "lane_reduction": ("Fahrstreifen eingeengt", "lane reduction"),
    "one_way": ("Einbahnregelung", "one-way traffic"),
    "full_closure": ("Vollsperrung", "full closure"),
}
# Said after the impact when the works have replacement routes (the request's ``replacement_routes``).
REPLACEMENT_NOTE = ("Ersatzverkehr mit Bussen", "replacement buses")

# Working hours (the request's ``shift``): night work matters to the neighbours.
# Day and night work name their hours (``rules.SHIFT_HOURS``, as the DATEX II feed gives them).
_HOURS = {shift: f"{begin:%H:%M}–{end:%H:%M}" for shift, (begin, end) in SHIFT_HOURS.items()}
SHIFT_LABELS = {
    "continuous": ("durchgehend, Tag und Nacht", "continuous, day and night"),
    "day": (f"nur tagsüber, {_HOURS['day']} Uhr", f"daytime only, {_HOURS['day']}"),
    "night": (f"nachts, {_HOURS['night']} Uhr (Nachtarbeit)", f"at night, {_HOURS['night']} (night work)"),
}

MODE_LABELS = {
    "pedestrian": ("Fußverkehr", "pedestrians"),
    "cycle": ("Radverkehr", "cycling"),
    "car": ("Autoverkehr", "cars"),
    "tram": ("Straßenbahn", "trams"),
    "bus": ("Bus", "buses"),
    "transit": ("Bus und Straßenbahn", "buses and trams"),
    "rail": ("Bahn", "rail"),
}

# The transit modes whose service works can touch (``feeds.gtfsrt.transit_modes``), in the order a notice names them.
TRANSIT_ORDER = ("rail", "tram", "bus")
# The lines of a transit mode a site affects, after the mode: "Bus (Linie 142)" / "buses (line 142)".
LINE_WORDS = {False: ("Linie", "line"), True: ("Linien", "lines")}

# Event kinds that become notices, with their headlines. Anything else in the outbox is not for businesses.
HEADLINES = {
    "request.created": ("Neue Baustelle geplant", "New site planned"),
    "request.submitted": ("Neue Baustelle geplant", "New site planned"),
    "request.updated": ("Baustelle geändert", "Site changed"),
    "request.approved": ("Baustelle genehmigt", "Site approved"),
    "request.deemed_approved": ("Baustelle genehmigt", "Site approved"),
    "slot.displaced": ("Baustellentermin verschoben", "Site dates moved"),
    "approval.revoked": ("Genehmigung zurückgenommen, neuer Termin folgt", "Approval revoked, new dates to follow"),
    "request.started": ("Baustelle hat begonnen", "Works have started"),
    "change.approved": ("Baustelle geändert", "Site changed"),
    "request.completed": ("Baustelle abgeschlossen", "Works completed"),
    "request.emergency": ("Notfallbaustelle in Ihrer Nähe", "Emergency works nearby"),
    "request.withdrawn": ("Baustelle abgesagt", "Site cancelled"),
    "request.rejected": ("Baustelle findet nicht statt", "Site will not take place"),
    "lead_time": ("Baustelle beginnt in {days} Tagen", "Works start in {days} days"),
    "lead_time_today": ("Baustelle beginnt heute", "Works start today"),
    "lead_time_tomorrow": ("Baustelle beginnt morgen", "Works start tomorrow"),
}
CANCELLING = {"request.withdrawn", "request.rejected"}
# A ``slot.displaced`` that gave a site its first dates (it had none: left unplaced until its blocker gave its slot
# back, ``slots.service.place_unblocked``; the site carries ``first_dates``) is no move.
FIRST_DATES_HEADLINE = ("Baustellentermin vorläufig festgelegt", "Site dates provisionally set")
# A ``slot.displaced`` that left a site without a slot (an emergency took its dates and its window has no other free
# start, ``workflow.service._displace``; the site's dates are then its window, ``repository._OPEN_SQL``): like a
# revoked approval, its dates are open and new ones follow (:func:`left_without_slot`).
NO_SLOT_HEADLINE = ("Baustellentermin verschoben, neuer Termin folgt", "Site dates moved, new dates to follow")
OPEN_DATES = ("noch offen, ein neuer Termin folgt", "open, new dates to follow")
# A site that no longer matches a subscription whose subscriber was told about it (``service.queue_left_notices``):
# no outbox event of its own, one notice once, saying why (the parts of the match it fails, ``LEFT_REASONS``).
SITE_LEFT = "site.left"
SITE_LEFT_HEADLINE = ("Baustelle betrifft Ihr Abo nicht mehr", "Site no longer concerns your subscription")
LEFT_REASONS = {
    "area": ("liegt nicht mehr in Ihrem Gebiet", "no longer in your area"),
    "kinds": ("Art der Arbeiten nicht mehr unter den gewählten", "kind of works no longer among those you chose"),
    "impact": ("Einschränkung jetzt geringer als Ihre Mindestangabe", "restriction now below your minimum"),
    "modes": ("betrifft die gewählten Verkehrsarten nicht mehr", "no longer affects the traffic you chose"),
    "street": ("nennt Ihre Straße nicht mehr", "no longer names your street"),
}
LEFT_NOTE = ("Über diese Baustelle informieren wir Sie erst wieder, wenn sie Ihr Abo wieder betrifft.",
             "You will hear of this site again only if it concerns your subscription again.")
CANCELLING_STATES = {"withdrawn", "rejected"}
# What an approved change after approval did (the slot explanation's ``change``, in the site's ``change``):
# a more telling headline than the generic one of change.approved.
CHANGE_HEADLINES = {
    "extended": ("Baustelle verlängert", "Works extended"),
    "shortened": ("Baustelle endet früher", "Works end earlier"),
    "moved": ("Baustellentermin verschoben", "Site dates moved"),
    "area": ("Baustellenbereich geändert", "Site area changed"),
}
DATE_CHANGES = ("extended", "shortened", "moved")
# Added to a date headline when an approved change also gave the works another place: "Baustellentermin
# verschoben, Bereich geändert".
AREA_TOO = ("Bereich geändert", "area changed")
# What an edit (request.updated) changed for the street, compared with what the subscriber was last told
# (``service.change_facts``): one aspect gets its own headline, several are named in one.
ASPECT_HEADLINES = {
    "dates": ("Baustellentermin geändert", "Site dates changed"),
    "hours": ("Arbeitszeiten geändert", "Working hours changed"),
    "area": CHANGE_HEADLINES["area"],
    "impact": ("Verkehrseinschränkung geändert", "Traffic restrictions changed"),
    "details": ("Baustellenangaben geändert", "Site details changed"),
}
ASPECT_WORDS = {
    "dates": ("Termine", "dates"), "hours": ("Arbeitszeiten", "working hours"), "area": ("Bereich", "area"),
    "impact": ("Einschränkung", "restrictions"), "details": ("Angaben", "details"),
}
# What an approved change after approval changed of the works' effect on traffic (the site's ``change.effect``,
# the workflow's ``EFFECT_FIELDS``). With the same dates and area (``change.what`` is ``effect``) one effect
# heads the notice ("Arbeitszeiten geändert"), several are named in one headline; each gets a line saying what it
# is now and, when the subscriber was told, what it was ("jetzt ... statt ...").
EFFECT_LABELS = {
    "impact": ("Verkehrseinschränkung", "Traffic restrictions"),
    "modes": ("Betroffene Verkehrsarten", "Traffic affected"),
    "shift": ("Arbeitszeiten", "Working hours"),
    "diversions": ("Umleitung", "Diversion"),
    "replacement_routes": ("Ersatzverkehr", "Replacement service"),
}
EFFECT_WORDS = {
    "impact": ASPECT_WORDS["impact"], "modes": ("Verkehrsarten", "traffic affected"), "shift": ASPECT_WORDS["hours"],
    "diversions": ("Umleitung", "diversion"), "replacement_routes": ("Ersatzverkehr", "replacement service"),
}
# How a route (a diversion, a replacement service) changed: added, removed, or another one.
ROUTE_CHANGES = {
    "diversions": {"added": ("jetzt ausgeschildert, siehe Karte", "now signposted, see the map"),
                   "removed": ("entfällt", "no longer in place"),
                   "other": ("neue Strecke, siehe Karte", "new route, see the map")},
    "replacement_routes": {"added": ("jetzt eingerichtet, siehe Karte", "now in place, see the map"),
                           "removed": ("entfällt", "discontinued"),
                           "other": ("neue Strecke, siehe Karte", "new route, see the map")},
}
# The site's fact each route effect shows (whether it has one).
ROUTE_FACTS = {"diversions": "diversion", "replacement_routes": "replacement"}
# How binding the dates a notice gives are (the site's ``dates``): an approved slot is; a proposed (or only
# locked) slot is provisional; the owner's preferred dates are a wish; a window is not a date at all.
DATES_NOTES = {
    "proposed": ("vorläufig", "provisional"),
    "preferred": ("Wunschtermin, noch nicht festgelegt", "requested dates, not fixed yet"),
}
# The site's dates when it has no slot to give (also after its approval was revoked, ``repository._VOID_SQL``, and
# in a cancellation that follows the revocation, ``repository._VOID_CANCELLED_SQL``): a revoked approval's notice
# then says the dates are open, a new one follows.
VOID_DATES = ("preferred", "window")
# A cancellation of such a site says what was planned (``when(..., cancelled=True)``: "im Zeitraum ... geplant",
# "(Wunschtermin)"), never "Termin noch offen" or "noch nicht festgelegt": no dates will follow.
CANCELLED_DATES_NOTES = {**DATES_NOTES, "preferred": ("Wunschtermin", "requested dates")}
CANCELLED = ("Die Baustelle findet nicht wie angekündigt statt.", "The works will not take place as announced.")
CANCELLED_UNDATED = ("Die Baustelle findet nicht statt; ein Termin wird nicht mehr festgelegt.",
                     "The works will not take place; no dates will be set.")
# request.updated only matters to businesses when one of these changed.
RELEVANT_FIELDS = {
    "geometry", "diversions", "earliest_start", "latest_end", "duration_days", "preferred_start", "impact",
    "modes", "kind", "title", "shift",
}
# A calendar entry is headed by the latest notice of its site; a site with none yet by its state.
STATE_HEADLINES = {
    "withdrawn": "request.withdrawn", "rejected": "request.rejected", "approved": "request.approved",
    "active": "request.started", "completed": "request.completed",
}


# Site facts a notice never passes on, also not from a snapshot queued before they were left out of it
# (``repository.site_snapshots``): the request's contact is private to its owner and the coordination office.
PRIVATE_SITE_KEYS = ("contact",)


def public_site(site: dict[str, Any]) -> dict[str, Any]:
    """A site snapshot without what only its owner and the coordination office may see."""
    return {k: v for k, v in site.items() if k not in PRIVATE_SITE_KEYS}


def state_kind(site: dict[str, Any]) -> str:
    """The notice kind that describes where a site stands now: cancelled by its state, else its latest notice
    (new, changed, extended, approved, started, ...), else its state."""
    status = site.get("status", "")
    if status in CANCELLING_STATES:
        return STATE_HEADLINES[status]
    kind = site.get("last_notice") or STATE_HEADLINES.get(status) or "request.created"
    if kind in ("request.created", "request.submitted") and site.get("urgency") == "emergency":
        return "request.emergency"
    return kind


def status_kind(site: dict[str, Any]) -> str:
    """The headline of a site in the welcome overview: where it stands (planned, approved, under way, an
    emergency), not what last changed about it, which the new subscriber was never told."""
    status = site.get("status", "")
    if site.get("urgency") == "emergency" and status in ("approved", "active"):
        return "request.emergency"
    if status in ("approved", "active"):
        return STATE_HEADLINES[status]
    return "request.created"


def _pair(labels: tuple[str, str], lang: str) -> str:
    return labels[0] if lang == "de" else labels[1]


def _date(value: str | None, lang: str) -> str:
    if not value:
        return "?"
    d = date.fromisoformat(value)
    return d.strftime("%d.%m.%Y") if lang == "de" else d.isoformat()


def dates_change(previous: dict[str, Any] | None, site: dict[str, Any]) -> str | None:
    """How a site's dates moved from ``previous`` to ``site``: ``extended``, ``shortened``, ``moved`` (as
    for an approved change), or None when that cannot be said (unknown, unchanged, or a mere window)."""
    if not previous or "window" in (previous.get("dates"), site.get("dates")):
        return None
    try:
        was = (date.fromisoformat(previous["start"]), date.fromisoformat(previous["end"]))
        now = (date.fromisoformat(site["start"]), date.fromisoformat(site["end"]))
    except (KeyError, TypeError, ValueError):
        return None
    if was == now:
        return None
    if now[0] == was[0]:  # a start moved earlier is a move, not an extension (``explanations.change_kind``)
        return "extended" if now[1] > was[1] else "shortened"
    return "moved"


def _several(words: list[tuple[str, str]]) -> tuple[str, str]:
    """The headline of a change of several things, naming them: "Baustelle geändert – Termine und Bereich"."""
    de, en = [w[0] for w in words], [w[1] for w in words]
    return (f"Baustelle geändert – {', '.join(de[:-1])} und {de[-1]}",
            f"Site changed – {', '.join(en[:-1])} and {en[-1]}")


def _update_labels(site: dict[str, Any]) -> tuple[str, str]:
    """The headline of an edit: what it changed for the street (one aspect, or several named)."""
    changed = [a for a in ASPECT_WORDS if a in (site.get("changed") or [])]
    if not changed:
        return HEADLINES["request.updated"]
    if changed == ["dates"]:
        what = dates_change(site.get("previous"), site)
        return CHANGE_HEADLINES[what] if what else ASPECT_HEADLINES["dates"]
    if len(changed) == 1:
        return ASPECT_HEADLINES[changed[0]]
    return _several([ASPECT_WORDS[a] for a in changed])


def effects(site: dict[str, Any]) -> list[str]:
    """The effects on traffic an approved change after approval changed (``EFFECT_LABELS`` order)."""
    named = (site.get("change") or {}).get("effect") or []
    return [e for e in EFFECT_LABELS if e in named]


def _change_labels(site: dict[str, Any], default: tuple[str, str]) -> tuple[str, str]:
    """The headline of an approved change after approval: what it did (extended, moved, new area), or, with the
    same dates and area, which effect on traffic it changed (one, or several named)."""
    change = site.get("change") or {}
    what = change.get("what") or ""
    if what == "area" and change.get("area") is False:
        what = "effect"  # the change gave the footprint it had: the effects on traffic are what changed
    if what in DATE_CHANGES and change.get("area"):  # new dates at a new place: both are said
        de, en = CHANGE_HEADLINES[what]
        return f"{de}, {AREA_TOO[0]}", f"{en}, {AREA_TOO[1]}"
    if what == "effect" and (changed := effects(site)):
        if len(changed) == 1:
            de, en = EFFECT_LABELS[changed[0]]
            return f"{de} geändert", f"{en} changed"
        return _several([EFFECT_WORDS[e] for e in changed])
    return CHANGE_HEADLINES.get(what, default)


def headline(kind: str, site: dict[str, Any] | None, lang: str) -> str:
    labels = HEADLINES.get(kind) or (SITE_LEFT_HEADLINE if kind == SITE_LEFT else ("Baustellenhinweis", "Site notice"))
    if kind == "change.approved" and site is not None:
        labels = _change_labels(site, labels)
    elif kind == "request.updated" and site is not None:
        labels = _update_labels(site)
    elif kind == "slot.displaced" and site is not None and site.get("first_dates"):
        labels = FIRST_DATES_HEADLINE
    elif site is not None and left_without_slot(kind, site):
        labels = NO_SLOT_HEADLINE
    text = _pair(labels, lang)
    if "{days}" in text and site is not None:
        text = text.format(days=site.get("days_until", "?"))
    return text


def left_without_slot(kind: str, site: dict[str, Any]) -> bool:
    """Whether a ``slot.displaced`` notice (or a calendar entry headed by one) is of a site the displacement left
    without a slot: it has no dates of its own (``VOID_DATES``), neither its preferred dates nor its window are when
    it takes place."""
    return kind == "slot.displaced" and site.get("dates") in VOID_DATES and not site.get("first_dates")


def subject(kind: str, site: dict[str, Any] | None, lang: str) -> str:
    """The email's subject: one line, whatever the title holds (a title stored before titles had to be one line
    may carry line breaks, which in a header would begin a header of their own)."""
    head = headline(kind, site, lang)
    return flatten_lines(f"{head}: {site['title']}" if site else head)


def when(site: dict[str, Any], lang: str, *, cancelled: bool = False) -> str:
    """The dates of a site, marked as provisional or as the owner's wish when they are not approved yet. A
    ``cancelled`` site without dates of its own (``VOID_DATES``) says what was planned, not that its dates are
    still open: none will be set."""
    de = lang == "de"
    start, end = _date(site.get("start"), lang), _date(site.get("end"), lang)
    if site.get("dates") == "window":
        days = site.get("duration_days", "?")
        if cancelled:
            return (f"im Zeitraum {start} bis {end} geplant, Dauer {days} Tage" if de
                    else f"planned within {start} to {end}, {days} days")
        return (f"im Zeitraum {start} bis {end}, Dauer {days} Tage, Termin noch offen" if de
                else f"within {start} to {end}, {days} days, exact dates not fixed yet")
    span = f"{start} bis {end}" if de else f"{start} to {end}"
    note = (CANCELLED_DATES_NOTES if cancelled else DATES_NOTES).get(site.get("dates") or "")
    return f"{span} ({_pair(note, lang)})" if note else span


def _cancelled_line(site: dict[str, Any], lang: str) -> str:
    """The last line of a cancellation (``CANCELLING``): the works do not take place as announced; a site that had
    no dates of its own (never set, or void after its approval was revoked) is not promised dates either."""
    return _pair(CANCELLED_UNDATED if site.get("dates") in VOID_DATES else CANCELLED, lang)


def impact_labels(kind: str | None, impact: str, modes: Any) -> tuple[str, str]:
    """(German, English) of an impact, by the feeds' rule (``feeds.common.in_road``, ``vehicle_impact``): works
    in the road that restrict the road are worded as ever (``IMPACT_LABELS``: "Vollsperrung"); works on a track of
    their own restrict the line, not the road ("Streckensperrung" / "line closed"); works that restrict only one
    part of the street say which ("Gehweg gesperrt" / "footway closed"), as the feeds do. Without a kind (a
    snapshot that lacks it) the impact as it is."""
    plain = IMPACT_LABELS.get(impact, (impact, impact))
    if not kind:
        return plain
    named = set(modes or [])
    if in_road(kind, named) and vehicle_impact(kind, impact, named) == impact:
        return plain
    de, en = impact_text(kind, impact, named)
    return de, en[:1].lower() + en[1:]  # the feeds head a line with it, a notice names it within one


def _impact(site: dict[str, Any], lang: str, of: dict[str, Any] | None = None) -> str:
    """The impact of a site; a snapshot of what it was (``site["previous"]``) that lacks the kind or the modes is
    read with those of the site ``of``."""
    kind = site.get("kind") or (of or {}).get("kind")
    modes = site["modes"] if "modes" in site else (of or {}).get("modes")
    return _pair(impact_labels(kind, site["impact"], modes), lang)


def _impact_line(site: dict[str, Any], lang: str, of: dict[str, Any] | None = None) -> str:
    """The impact, and the replacement buses when the works have replacement routes."""
    text = _impact(site, lang, of)
    return f"{text}, {_pair(REPLACEMENT_NOTE, lang)}" if site.get("replacement") else text


def _shift(site: dict[str, Any], lang: str) -> str:
    return _pair(SHIFT_LABELS.get(site["shift"], (site["shift"], site["shift"])), lang)


def affected(site: dict[str, Any], chosen: list[str]) -> list[dict[str, Any]]:
    """The modes a site affects, as a subscriber who chose the modes ``chosen`` (none: every mode) is told them:
    ``[{"mode": "bus", "routes": ["142"], "corridors": ["…"]}, {"mode": "car", "routes": [], "corridors": []}]``.

    Transit first: each mode whose service the works touch (the snapshot's ``touched``, the GTFS-RT feed's rule,
    by which ``repository.MODES_SQL`` matched the subscription) that the subscriber chose (``transit`` chooses trams
    and buses), that the request names (``transit`` naming the trams and buses it touches), or whose registered
    lines it affects; the subscriber's own first, each with the affected lines. Then the other modes the request
    names, in its order (``transit`` only when it touches neither trams nor buses)."""
    touched = site.get("touched") or {}
    named = list(site.get("modes") or [])
    wanted = set(chosen) | ({"tram", "bus"} if "transit" in chosen else set())
    named_transit = set(named) | ({"tram", "bus"} if "transit" in named else set())
    shown = [m for m in TRANSIT_ORDER if m in touched
             and (m in wanted or m in named_transit or touched[m]["routes"] or touched[m]["corridors"])]
    shown.sort(key=lambda m: m not in wanted)  # stable: the subscriber's modes first, then in TRANSIT_ORDER
    out = [{"mode": m, "routes": list(touched[m]["routes"]), "corridors": list(touched[m]["corridors"])}
           for m in shown]
    for m in named:
        if m in TRANSIT_ORDER and m in touched or m == "transit" and {"tram", "bus"} & set(touched):
            continue
        if all(m != entry["mode"] for entry in out):
            out.append({"mode": m, "routes": [], "corridors": []})
    return out


def _affected_text(entry: dict[str, Any], lang: str) -> str:
    mode = entry.get("mode", "?")
    text = _pair(MODE_LABELS.get(mode, (mode, mode)), lang)
    routes, corridors = entry.get("routes") or [], entry.get("corridors") or []
    if routes:
        return f"{text} ({_pair(LINE_WORDS[len(routes) > 1], lang)} {', '.join(routes)})"
    return f"{text} ({', '.join(corridors)})" if corridors else text


def _modes(site: dict[str, Any], lang: str) -> str:
    """The modes a notice says are affected: its ``affected`` (:func:`affected`: the subscriber's modes first,
    with the transit lines), or, in a snapshot without it (queued before notices named them), the request's."""
    if isinstance(site.get("affected"), list):
        text = ", ".join(_affected_text(entry, lang) for entry in site["affected"])
    else:
        text = ", ".join(_pair(MODE_LABELS.get(m, (m, m)), lang) for m in site.get("modes") or [])
    return text or ("keine Angabe" if lang == "de" else "not stated")


def kind_label(kind: str, lang: str) -> str:
    """What kind of works, in one language ("Wasserleitung" / "water main")."""
    return _pair(KIND_LABELS.get(kind, (kind, kind)), lang)


def _kind(site: dict[str, Any], lang: str) -> str:
    return kind_label(site["kind"], lang)


def _route_change(effect: str, before: Any, now: Any, lang: str) -> str:
    words = ROUTE_CHANGES[effect]
    if now is False:
        return _pair(words["removed"], lang)
    if before is False and now:
        return _pair(words["added"], lang)
    return _pair(words["other"], lang)


def effect_lines(site: dict[str, Any], lang: str) -> list[str]:
    """One line per effect on traffic an approved change after approval changed: what it is now and, when the
    subscriber was told what it was (``site["previous"]``), instead of what ("Verkehrseinschränkung geändert:
    jetzt Vollsperrung statt Fahrstreifen eingeengt"). Routes: added, removed or another one, see the map."""
    de = lang == "de"
    previous = site.get("previous") if isinstance(site.get("previous"), dict) else {}
    shown = {"impact": lambda s, lang: _impact(s, lang, site), "modes": _modes, "shift": _shift}
    lines = []
    for effect in effects(site):
        label = _pair(EFFECT_LABELS[effect], lang) + (" geändert" if de else " changed")
        if effect in ROUTE_FACTS:
            fact = ROUTE_FACTS[effect]
            lines.append(f"{label}: {_route_change(effect, previous.get(fact), site.get(fact), lang)}")
            continue
        if site.get(effect) is None:  # a snapshot without it (working hours before they were part of it)
            lines.append(label)
            continue
        now = shown[effect](site, lang)
        before = shown[effect](previous, lang) if previous.get(effect) is not None else None
        text = f"{label}: {'jetzt' if de else 'now'} {now}"
        if before is not None and before != now:
            text += f" {'statt' if de else 'instead of'} {before}"
        lines.append(text)
    return lines


def site_block(kind: str, site: dict[str, Any], lang: str) -> str:
    """One language's description of a site: where, what, who builds (the owner organisation, never the
    request's contact), when, impact, diversion, link. A notice of a change says under each changed line
    what it was before ("Bisher: ..."), compared with what the subscriber was last told
    (``site["previous"]``, ``site["changed"]``); an approved change of the works' effect on traffic first says
    what it changed (:func:`effect_lines`)."""
    de = lang == "de"
    who = site.get("owner") or "?"  # the organisation only: the request's contact person is never told
    diversion = ("ja, Umleitung ist ausgeschildert" if de else "yes, a diversion is signposted") if site.get(
        "diversion") else ("nein" if de else "no")
    previous = site.get("previous") if isinstance(site.get("previous"), dict) else None
    changed = set(site.get("changed") or []) if previous else set()
    was = "Bisher" if de else "Previously"
    when_now = when(site, lang)
    if kind == "change.approved":
        change = site.get("change") or {}
        before = change.get("previous")
        changed = set()
        if before and before.get("start") and before.get("end"):
            previous, changed = {**before, "dates": "slot"}, {"dates"}
        if change.get("area"):  # another footprint, also when the dates changed with it
            changed.add("area")
    elif kind == "approval.revoked" and (previous and previous.get("start") or site.get("dates") in VOID_DATES):
        # The approved dates are void: they are what the site was, not what it is (the site's own dates are its
        # wish or window until new dates are proposed: the calendar, which has no "before", says so too).
        when_now = "noch offen, ein neuer Termin folgt" if de else "open, new dates to follow"
        if previous and previous.get("start"):
            was = "Bisher genehmigt" if de else "Previously approved"
            changed = {"dates"}
    elif left_without_slot(kind, site):
        # an emergency took its dates and left it without a slot: open, as after a revoked approval ("Bisher
        # genehmigt" when the dates it lost were approved), never its preferred dates as if it took place then
        when_now = _pair(OPEN_DATES, lang)
        if previous and previous.get("start") and previous.get("dates") == "slot":
            was = "Bisher genehmigt" if de else "Previously approved"
    elif kind in CANCELLING:
        # the site's dates as they were planned: one without dates of its own (never set, or void after its
        # approval was revoked, ``repository._VOID_CANCELLED_SQL``) is not "still open" once it is cancelled
        when_now = when(site, lang, cancelled=True)
    lines = [headline(kind, site, lang), ""]
    if kind == "change.approved" and (changes := effect_lines(site, lang)):
        lines += [*changes, ""]
    if kind == SITE_LEFT and site.get("left"):
        reasons = "; ".join(_pair(LEFT_REASONS.get(r, (r, r)), lang) for r in site["left"])
        lines += [f"{'Grund' if de else 'Reason'}: {reasons}", ""]

    def line(label: str, value: str, aspect: str | None = None, before: str | None = None) -> None:
        lines.append(f"{label}: {value}")
        if aspect in changed and before is not None and before != value:
            lines.append(f"{was}: {before}")

    line("Wo" if de else "Where", flatten_lines(site["title"] + (f" ({site['place']})" if site.get("place") else "")),
         "details", flatten_lines(previous["title"]) if previous and previous.get("title") else None)
    if "area" in changed:
        lines.append("Bereich: geändert, siehe Karte" if de else "Area: changed, see the map")
    line("Was" if de else "What", _kind(site, lang), "details",
         _kind(previous, lang) if previous and previous.get("kind") else None)
    line("Wer baut" if de else "Who builds", who)
    line("Wann" if de else "When", when_now, "dates",
         when(previous, lang) if previous and previous.get("start") else None)
    if site.get("shift"):  # notices queued before the working hours were part of the snapshot have none
        line("Arbeitszeiten" if de else "Working hours", _shift(site, lang), "hours",
             _shift(previous, lang) if previous and previous.get("shift") else None)
    line("Einschränkung" if de else "Impact", _impact_line(site, lang), "impact",
         _impact_line(previous, lang, site) if previous and previous.get("impact") else None)
    line("Betroffen" if de else "Affected", _modes(site, lang), "impact",
         _modes(previous, lang) if previous and ("modes" in previous or "affected" in previous) else None)
    line("Umleitung" if de else "Diversion", diversion)
    if kind in CANCELLING:
        lines.append(_cancelled_line(site, lang))
    if kind == SITE_LEFT:
        lines.append(_pair(LEFT_NOTE, lang))
    lines.append(f"{'Karte' if de else 'Map'}: {site['map_url']}")
    return "\n".join(lines)


def languages(lang: str) -> tuple[str, str]:
    return ("en", "de") if lang == "en" else ("de", "en")


def footer(links: dict[str, str]) -> str:
    """The links under every email, in both languages like the body (German first)."""
    return "\n".join([
        "--",
        f"Abonnement verwalten / Manage your subscription: {links['manage']}",
        f"Abmelden mit einem Klick / Unsubscribe with one click: {links['unsubscribe']}",
    ])


def bilingual(block: Callable[[str], str], lang: str, links: dict[str, str]) -> str:
    """An email body: ``block`` in the subscriber's language, then in the other one, then the footer."""
    first, second = languages(lang)
    return "\n\n".join([
        block(first),
        "English version below" if first == "de" else "Deutsche Fassung unten",
        block(second),
        footer(links),
    ]) + "\n"


def notice_text(kind: str, site: dict[str, Any], lang: str, links: dict[str, str]) -> str:
    return bilingual(lambda language: site_block(kind, site, language), lang, links)


DIGEST_TITLES = {
    "daily": ("Tägliche Übersicht", "Daily digest"),
    "weekly": ("Wöchentliche Übersicht", "Weekly digest"),
    # What still waited for a daily/weekly digest when the subscription switched to immediate delivery.
    "catch_up": ("Übersicht bis zur Umstellung", "Digest up to the switch"),
}
CATCH_UP_NOTE = (
    "Sie erhalten Hinweise jetzt sofort. Diese Hinweise warteten noch auf Ihre Übersicht; "
    "neue Hinweise kommen ab jetzt einzeln.",
    "You now receive notices immediately. These notices were still waiting for your digest; "
    "new notices now arrive one by one.",
)


def digest_text(items: list[dict[str, Any]], period: str, lang: str, links: dict[str, str]) -> str:
    first, second = languages(lang)
    parts = []
    for current in (first, second):
        de = current == "de"
        count = len(items)
        noun = ("Hinweis" if count == 1 else "Hinweise") if de else ("notice" if count == 1 else "notices")
        head = f"{_pair(DIGEST_TITLES[period], current)}: {count} {noun}"
        parts.append(head + (f"\n{_pair(CATCH_UP_NOTE, current)}" if period == "catch_up" else ""))
        for item in items:
            parts.append(site_block(item["kind"], item["site"], current))
    parts.append(footer(links))
    return "\n\n".join(parts) + "\n"


# The welcome notice: the sites already under way or planned in the area when the subscription is confirmed.
WELCOME_TITLE = ("Baustellen in Ihrem Gebiet", "Construction sites in your area")


def welcome_subject(payload: dict[str, Any], lang: str) -> str:
    return f"{_pair(WELCOME_TITLE, lang)}: {payload.get('count', len(payload.get('items') or []))}"


def welcome_block(payload: dict[str, Any], lang: str, links: dict[str, str]) -> str:
    """One language's part of the welcome: headline with the number of sites, what they are, one block per
    site as in a digest (dates marked as usual), and where to find the rest when the list is cut short."""
    de = lang == "de"
    items = payload.get("items") or []
    count = payload.get("count", len(items))
    as_of = _date(payload.get("as_of"), lang) if payload.get("as_of") else None
    area = area_text(payload["area"], lang) if payload.get("area") else None
    if de:
        intro = ("Diese Baustellen laufen schon oder sind geplant"
                 + (f" ({area})" if area else "") + (f", Stand {as_of}" if as_of else "")
                 + ". Über Änderungen informieren wir Sie wie gewohnt.")
    else:
        intro = ("These sites are under way or planned" + (f" ({area})" if area else "")
                 + (f", as of {as_of}" if as_of else "") + ". We will tell you of changes as usual.")
    parts = [f"{welcome_subject(payload, lang)}\n{intro}"]
    parts += [site_block(item["kind"], item["site"], lang) for item in items]
    more = count - len(items)
    if more > 0:
        parts.append(f"… und {more} weitere: alle im Kalender {links['calendar']}" if de
                     else f"… and {more} more: all of them in the calendar {links['calendar']}")
    else:
        parts.append(f"Alle Baustellen auch im Kalender: {links['calendar']}" if de
                     else f"All sites in your calendar too: {links['calendar']}")
    return "\n\n".join(parts)


def welcome_text(payload: dict[str, Any], lang: str, links: dict[str, str]) -> str:
    return bilingual(lambda language: welcome_block(payload, language, links), lang, links)


def _decimal(value: float, digits: int | None, lang: str) -> str:
    text = f"{value:.{digits}f}" if digits is not None else f"{value:g}"
    return text.replace(".", ",") if lang == "de" else text


def area_text(area: dict[str, Any] | str, lang: str) -> str:
    """A subscription's area in one language ("Umkreis von 500 m um 51,43500° N, 7,00450° O" / "within 500 m
    of 51.43500° N, 7.00450° E"). A confirmation queued before areas were stored per language carries a
    ready-made label: it is given as it is."""
    if isinstance(area, str):
        return area
    de = lang == "de"
    if area.get("kind") == "circle":
        lon, lat = area["point"]
        radius = _decimal(float(area["radius_m"]), None, lang)
        north = "N" if lat >= 0 else "S"
        east = ("O" if de else "E") if lon >= 0 else "W"
        where = f"{_decimal(abs(lat), 5, lang)}° {north}, {_decimal(abs(lon), 5, lang)}° {east}"
        return f"Umkreis von {radius} m um {where}" if de else f"within {radius} m of {where}"
    if area.get("kind") == "street":
        return f"{area['street']} in {area['city']}"
    return "eigenes Gebiet (Polygon)" if de else "your own area (polygon)"


def confirmation_text(confirm_url: str, links: dict[str, str], area: dict[str, Any] | str, lang: str) -> str:
    de_text = (
        "Guten Tag,\n\nSie haben Baustellenhinweise für folgendes Gebiet bestellt: "
        f"{area_text(area, 'de')}.\nBitte bestätigen Sie das Abonnement mit diesem Link:\n{confirm_url}\n\n"
        "Bis zur Bestätigung senden wir Ihnen nichts. Wenn Sie nichts bestellt haben, ignorieren Sie diese "
        "Nachricht; die Anfrage verfällt nach 7 Tagen."
    )
    en_text = (
        "Hello,\n\nyou asked for construction site notices for this area: "
        f"{area_text(area, 'en')}.\nPlease confirm the subscription with this link:\n{confirm_url}\n\n"
        "We send nothing until you confirm. If you did not ask for this, ignore this message; the request "
        "expires after 7 days."
    )
    first = [de_text, en_text] if lang == "de" else [en_text, de_text]
    return "\n\n---\n\n".join(first) + "\n\n" + footer(links) + "\n"


def moment(value: str, lang: str) -> str:
    """A point in time (ISO 8601, as a payload stores it) on the clock of Europe/Berlin, dated as every notice
    dates (:func:`_date`): "21.11.2026, 22:26 Uhr" / "2026-11-21, 22:26 (Berlin time)". A value that is no
    time is given as it is."""
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BERLIN)
    day = _date(local.date().isoformat(), lang)
    return f"{day}, {local:%H:%M} Uhr" if lang == "de" else f"{day}, {local:%H:%M} (Berlin time)"


def endpoint_disabled_text(url: str, since: str, links: dict[str, str], lang: str) -> str:
    de_text = (f"Ihr Webhook-Empfänger {url} antwortet seit {moment(since, 'de')} nicht erfolgreich und wurde "
               "deshalb abgeschaltet. Richten Sie ihn neu ein, indem Sie die Webhooks Ihres Abonnements erneut "
               "speichern.")
    en_text = (f"Your webhook endpoint {url} has been failing since {moment(since, 'en')} and was disabled. Save "
               "your subscription's webhooks again to re-enable it.")
    parts = [de_text, en_text] if lang == "de" else [en_text, de_text]
    return "\n\n".join(parts) + "\n\n" + footer(links) + "\n"


SPECIAL_SUBJECTS = {
    "confirmation": ("Bitte bestätigen: Baustellenhinweise", "Please confirm: construction site notices"),
    "endpoint.disabled": ("Webhook abgeschaltet", "Webhook disabled"),
    "digest.daily": ("Baustellenhinweise: tägliche Übersicht", "Construction site notices: daily digest"),
    "digest.weekly": ("Baustellenhinweise: wöchentliche Übersicht", "Construction site notices: weekly digest"),
    "digest.catch_up": ("Baustellenhinweise: Übersicht bis zur Umstellung",
                        "Construction site notices: digest up to the switch"),
}


def special_subject(kind: str, lang: str) -> str:
    return _pair(SPECIAL_SUBJECTS[kind], lang)
