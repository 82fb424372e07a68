"""What a notice says: plain German first, English second (or the other way round for ``language=en``).

Pure functions over the JSON snapshot of a site (``repository.site_snapshot``), so a notice reads the same
on every retry and in every channel.
"""

from __future__ import annotations

from datetime import date
from typing import Any

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

MODE_LABELS = {
    "pedestrian": ("Fußverkehr", "pedestrians"),
    "cycle": ("Radverkehr", "cycling"),
    "car": ("Autoverkehr", "cars"),
    "transit": ("Bus und Straßenbahn", "buses and trams"),
    "rail": ("Bahn", "rail"),
}

# Event kinds that become notices, with their headlines. Anything else in the outbox is not for businesses.
HEADLINES = {
    "request.created": ("Neue Baustelle geplant", "New site planned"),
    "request.submitted": ("Neue Baustelle geplant", "New site planned"),
    "request.updated": ("Baustelle geändert: Termine oder Bereich", "Site changed: dates or area"),
    "request.approved": ("Baustelle genehmigt", "Site approved"),
    "request.deemed_approved": ("Baustelle genehmigt", "Site approved"),
    "slot.displaced": ("Baustellentermin verschoben", "Site dates moved"),
    "approval.revoked": ("Genehmigung zurückgenommen, neuer Termin folgt", "Approval revoked, new dates to follow"),
    "request.started": ("Baustelle hat begonnen", "Works have started"),
    "change.approved": ("Baustelle geändert: neue Termine oder neuer Bereich", "Site changed: new dates or area"),
    "request.completed": ("Baustelle abgeschlossen", "Works completed"),
    "request.emergency": ("Notfallbaustelle in Ihrer Nähe", "Emergency works nearby"),
    "request.withdrawn": ("Baustelle abgesagt", "Site cancelled"),
    "request.rejected": ("Baustelle findet nicht statt", "Site will not take place"),
    "lead_time": ("Baustelle beginnt in {days} Tagen", "Works start in {days} days"),
    "lead_time_today": ("Baustelle beginnt heute", "Works start today"),
    "lead_time_tomorrow": ("Baustelle beginnt morgen", "Works start tomorrow"),
}
CANCELLING = {"request.withdrawn", "request.rejected"}
CANCELLING_STATES = {"withdrawn", "rejected"}
# What an approved change after approval did (the slot explanation's ``change``, in the site's ``change``):
# a more telling headline than the generic one of change.approved.
CHANGE_HEADLINES = {
    "extended": ("Baustelle verlängert", "Works extended"),
    "shortened": ("Baustelle endet früher", "Works end earlier"),
    "moved": ("Baustellentermin verschoben", "Site dates moved"),
    "area": ("Baustellenbereich geändert", "Site area changed"),
}
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


def _pair(labels: tuple[str, str], lang: str) -> str:
    return labels[0] if lang == "de" else labels[1]


def _date(value: str | None, lang: str) -> str:
    if not value:
        return "?"
    d = date.fromisoformat(value)
    return d.strftime("%d.%m.%Y") if lang == "de" else d.isoformat()


def headline(kind: str, site: dict[str, Any] | None, lang: str) -> str:
    labels = HEADLINES.get(kind, ("Baustellenhinweis", "Site notice"))
    if kind == "change.approved" and site is not None:
        labels = CHANGE_HEADLINES.get((site.get("change") or {}).get("what") or "", labels)
    text = _pair(labels, lang)
    if "{days}" in text and site is not None:
        text = text.format(days=site.get("days_until", "?"))
    return text


def subject(kind: str, site: dict[str, Any] | None, lang: str) -> str:
    head = headline(kind, site, lang)
    return f"{head}: {site['title']}" if site else head


def site_block(kind: str, site: dict[str, Any], lang: str) -> str:
    """One language's description of a site: where, what, who, when, impact, diversion, link."""
    de = lang == "de"
    kind_label = _pair(KIND_LABELS.get(site["kind"], (site["kind"], site["kind"])), lang)
    impact = _pair(IMPACT_LABELS.get(site["impact"], (site["impact"], site["impact"])), lang)
    modes = ", ".join(_pair(MODE_LABELS.get(m, (m, m)), lang) for m in site.get("modes") or []) or (
        "keine Angabe" if de else "not stated")
    contact = site.get("contact") or {}
    who = site.get("owner") or "?"
    reach = ", ".join(v for v in (contact.get("name"), contact.get("phone"), contact.get("email")) if v)
    if reach:
        who = f"{who} ({reach})"
    start, end = _date(site.get("start"), lang), _date(site.get("end"), lang)
    if site.get("dates") == "window":
        when = (f"im Zeitraum {start} bis {end}, Dauer {site['duration_days']} Tage, Termin noch offen" if de
                else f"within {start} to {end}, {site['duration_days']} days, exact dates not fixed yet")
    else:
        when = f"{start} bis {end}" if de else f"{start} to {end}"
    diversion = ("ja, Umleitung ist ausgeschildert" if de else "yes, a diversion is signposted") if site.get(
        "diversion") else ("nein" if de else "no")
    lines = [
        headline(kind, site, lang),
        "",
        f"{'Wo' if de else 'Where'}: {site['title']}" + (f" ({site['place']})" if site.get("place") else ""),
        f"{'Was' if de else 'What'}: {kind_label}",
        f"{'Wer baut' if de else 'Who builds'}: {who}",
        f"{'Wann' if de else 'When'}: {when}",
        f"{'Einschränkung' if de else 'Impact'}: {impact}",
        f"{'Betroffen' if de else 'Affected'}: {modes}",
        f"{'Umleitung' if de else 'Diversion'}: {diversion}",
    ]
    previous = (site.get("change") or {}).get("previous") if kind == "change.approved" else None
    if previous and previous.get("start") and previous.get("end"):
        was_start, was_end = _date(previous["start"], lang), _date(previous["end"], lang)
        lines.insert(-3, f"Bisher: {was_start} bis {was_end}" if de else f"Previously: {was_start} to {was_end}")
    if kind in CANCELLING:
        lines.append("Die Baustelle findet nicht wie angekündigt statt." if de
                     else "The works will not take place as announced.")
    lines.append(f"{'Karte' if de else 'Map'}: {site['map_url']}")
    return "\n".join(lines)


def languages(lang: str) -> tuple[str, str]:
    return ("en", "de") if lang == "en" else ("de", "en")


def footer(links: dict[str, str], lang: str) -> str:
    de = lang == "de"
    return "\n".join([
        "--",
        ("Abonnement verwalten" if de else "Manage your subscription") + f": {links['manage']}",
        ("Abmelden mit einem Klick" if de else "Unsubscribe with one click") + f": {links['unsubscribe']}",
    ])


def notice_text(kind: str, site: dict[str, Any], lang: str, links: dict[str, str]) -> str:
    first, second = languages(lang)
    return "\n\n".join([
        site_block(kind, site, first),
        "English version below" if first == "de" else "Deutsche Fassung unten",
        site_block(kind, site, second),
        footer(links, first),
    ]) + "\n"


def digest_text(items: list[dict[str, Any]], period: str, lang: str, links: dict[str, str]) -> str:
    first, second = languages(lang)
    parts = []
    for current in (first, second):
        de = current == "de"
        title = {"daily": ("Tägliche Übersicht", "Daily digest"), "weekly": ("Wöchentliche Übersicht",
                                                                          "Weekly digest")}[period]
        parts.append(f"{_pair(title, current)}: {len(items)} " + ("Hinweise" if de else "notices"))
        for item in items:
            parts.append(site_block(item["kind"], item["site"], current))
    parts.append(footer(links, first))
    return "\n\n".join(parts) + "\n"


def confirmation_text(confirm_url: str, links: dict[str, str], area_label: str, lang: str) -> str:
    de_text = (
        "Guten Tag,\n\nSie haben Baustellenhinweise für folgendes Gebiet bestellt: "
        f"{area_label}.\nBitte bestätigen Sie das Abonnement mit diesem Link:\n{confirm_url}\n\n"
        "Bis zur Bestätigung senden wir Ihnen nichts. Wenn Sie nichts bestellt haben, ignorieren Sie diese "
        "Nachricht; die Anfrage verfällt nach 7 Tagen."
    )
    en_text = (
        "Hello,\n\nyou asked for construction site notices for this area: "
        f"{area_label}.\nPlease confirm the subscription with this link:\n{confirm_url}\n\n"
        "We send nothing until you confirm. If you did not ask for this, ignore this message; the request "
        "expires after 7 days."
    )
    first = [de_text, en_text] if lang == "de" else [en_text, de_text]
    return "\n\n---\n\n".join(first) + "\n\n" + footer(links, lang) + "\n"


def endpoint_disabled_text(url: str, since: str, links: dict[str, str], lang: str) -> str:
    de_text = (f"Ihr Webhook-Empfänger {url} antwortet seit {since} nicht erfolgreich und wurde deshalb "
               "abgeschaltet. Richten Sie ihn neu ein, indem Sie die Webhooks Ihres Abonnements erneut speichern.")
    en_text = (f"Your webhook endpoint {url} has been failing since {since} and was disabled. Save your "
               "subscription's webhooks again to re-enable it.")
    parts = [de_text, en_text] if lang == "de" else [en_text, de_text]
    return "\n\n".join(parts) + "\n\n" + footer(links, lang) + "\n"


SPECIAL_SUBJECTS = {
    "confirmation": ("Bitte bestätigen: Baustellenhinweise", "Please confirm: construction site notices"),
    "endpoint.disabled": ("Webhook abgeschaltet", "Webhook disabled"),
    "digest.daily": ("Baustellenhinweise: tägliche Übersicht", "Construction site notices: daily digest"),
    "digest.weekly": ("Baustellenhinweise: wöchentliche Übersicht", "Construction site notices: weekly digest"),
}


def special_subject(kind: str, lang: str) -> str:
    return _pair(SPECIAL_SUBJECTS[kind], lang)
