"""The small HTML pages of the subscription links: plain, accessible, no JavaScript, German first and English
second (the English parts marked ``lang=en`` for screen readers).

The management page (``GET /v1/subscriptions/{token}`` in a browser) shows the subscription and a form that
posts to ``/v1/subscriptions/{token}/settings``; the secret token in the URL is what authorises both, so the
page is never cached, never framed and never sends the token on as a referrer.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

from service.notices import render
from service.notices.models import Subscription
from service.requests.models import IMPACT_ORDER

STYLE = ("font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5;"
         "color:#111;background:#fff")
# Headers of the pages that carry the secret token or the address (the management page and its answers).
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Vary": "Accept",
}


def page(title: str, body: str, status_code: int = 200, *, private: bool = False) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=de><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><body style='{STYLE}'><main>{body}</main></body></html>",
        status_code=status_code, headers=PRIVATE_HEADERS if private else None,
    )


def both(de: str, en: str) -> str:
    """German, then English marked as English (once when they are the same, e.g. a street); both escaped."""
    if de == en:
        return escape(de)
    return f"{escape(de)} / <span lang=en>{escape(en)}</span>"


# --- the request's origin -------------------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS.get(scheme, 0)


def foreign_origin(origin: str | None, public_url: str) -> bool:
    """Whether a form was posted from another site: an ``Origin`` header that is present and is not this
    service's own origin (the scheme, host and port of its public URL). ``Origin: null`` (a sandboxed frame,
    a redirect across sites) is foreign too; no header at all (an old browser, a script) is not."""
    if origin is None:
        return False
    own = _origin(public_url)
    return own is None or _origin(origin) != own


# --- the management page --------------------------------------------------------------------------------

DELIVERY_LABELS = {
    "immediate": ("sofort, jeder Hinweis einzeln", "immediately, one notice at a time"),
    "daily": ("täglich um 7 Uhr als eine Übersicht", "one daily digest at 7:00"),
    "weekly": ("wöchentlich, montags um 7 Uhr als eine Übersicht", "one weekly digest on Mondays at 7:00"),
}
LANGUAGE_LABELS = {
    "de": ("Deutsch zuerst, dann Englisch", "German first, then English"),
    "en": ("Englisch zuerst, dann Deutsch", "English first, then German"),
}
# What each field of the form is called in the error line: the key of its name in ``TEXTS``.
FIELD_LABELS = {"delivery": "delivery", "lead_days": "lead_days", "language": "language", "min_impact": "restriction"}
FIELD_ERRORS = {
    "delivery": ("bitte sofort, täglich oder wöchentlich wählen", "please choose immediately, daily or weekly"),
    "lead_days": ("bitte eine ganze Zahl von 0 bis 365 Tagen angeben",
                  "please give a whole number of days from 0 to 365"),
    "language": ("bitte Deutsch oder Englisch wählen", "please choose German or English"),
    "min_impact": ("bitte eine der angebotenen Einschränkungen wählen",
                   "please choose one of the restrictions offered"),
}


def _labels(values: list[str], table: dict[str, tuple[str, str]]) -> str:
    if not values:
        return both("alle", "all")
    return both(", ".join(table.get(v, (v, v))[0] for v in values), ", ".join(table.get(v, (v, v))[1] for v in values))


def _date(value: datetime | None, zone: tzinfo) -> tuple[str, str]:
    if value is None:
        return "?", "?"
    day = value.astimezone(zone).date()
    return day.strftime("%d.%m.%Y"), day.isoformat()


def _radio(name: str, value: str, label: str, checked: bool) -> str:
    ident = f"{name}-{value}"
    return (f"<div><input type=radio id={ident} name={name} value={value}{' checked' if checked else ''}> "
            f"<label for={ident}>{label}</label></div>")


def _error_line(error: dict[str, Any]) -> str:
    field = str(error.get("field", ""))
    name, why = TEXTS.get(FIELD_LABELS.get(field, "")), FIELD_ERRORS.get(field)
    if name and why:
        return f"<li>{both(f'{name[0]}: {why[0]}', f'{name[1]}: {why[1]}')}</li>"
    detail = f"{field}: {error.get('detail', '')}" if field else str(error.get("detail", ""))
    return f"<li>{both(*TEXTS['invalid'])}: <span lang=en>{escape(detail)}</span></li>"


# The management page's words, German and English.
TEXTS = {
    "title": ("Ihr Abonnement für Baustellenhinweise", "Your construction site notices"),
    "saved": ("Gespeichert. Ihre Einstellungen gelten ab sofort.", "Saved. Your settings apply from now on."),
    "not_saved": ("Nicht gespeichert", "Not saved"),
    "invalid": ("Ungültige Eingabe", "Invalid input"),
    "pending": ("noch nicht bestätigt: bitte öffnen Sie den Link in der Bestätigungs-E-Mail",
                "not confirmed yet: please open the link in the confirmation email"),
    "details": ("Ihre Angaben", "Your subscription"),
    "email": ("E-Mail-Adresse", "Email address"),
    "status": ("Status", "Status"),
    "area": ("Gebiet", "Area"),
    "kinds": ("Arten von Arbeiten", "Kinds of works"),
    "modes": ("Verkehrsarten", "Modes of transport"),
    "min_impact": ("Mindestens diese Einschränkung", "At least this restriction"),
    "restriction": ("Einschränkung", "Restriction"),
    "any_impact": ("jede Einschränkung", "any restriction"),
    "delivery": ("Zustellung", "Delivery"),
    "lead_days": ("Vorlauf", "Lead time"),
    "language": ("Sprache", "Language"),
    "enabled": ("aktiv", "enabled"),
    "disabled": ("abgeschaltet", "disabled"),
    "change": ("Einstellungen ändern", "Change settings"),
    "delivery_legend": ("Zustellung der E-Mails", "Delivery of the emails"),
    "lead_days_label": ("Vorlauf: so viele Tage vor Baubeginn erinnern wir Sie (0 bis 365)",
                        "Lead time: how many days before the works start we remind you (0 to 365)"),
    "min_impact_label": ("Nur Baustellen mit mindestens dieser Einschränkung",
                         "Only sites with at least this restriction"),
    "language_legend": ("Sprache der E-Mails", "Language of the emails"),
    "save": ("Speichern", "Save"),
    "fixed": ("Gebiet, Arten von Arbeiten und Verkehrsarten ändern Sie, indem Sie die Hinweise neu bestellen.",
              "To change the area, the kinds of works or the modes of transport, subscribe anew."),
    "feeds": ("Kalender und Feed", "Calendar and feed"),
    "calendar": ("Kalender (iCalendar) zum Abonnieren", "Calendar (iCalendar) to subscribe to"),
    "atom": ("Atom-Feed für Ihren Feedreader", "Atom feed for your feed reader"),
    "unsubscribe": ("Abmelden", "Unsubscribe"),
    "unsubscribe_text": ("Keine Baustellenhinweise mehr erhalten? Ihre E-Mail-Adresse wird gelöscht.",
                         "Stop receiving construction site notices? Your email address is deleted."),
}


def _t(key: str) -> str:
    return both(*TEXTS[key])


def manage_page(sub: Subscription, links: dict[str, str], zone: tzinfo, *, saved: bool = False,
                errors: list[dict[str, Any]] | None = None, status_code: int = 200) -> HTMLResponse:
    """The subscription as its owner sees it from the link in every email, with a form to change the delivery
    rhythm, the lead time, the language and the least restriction, the feeds and an unsubscribe button."""
    # The forms post to the service's public URL, which the emails link to and the Origin check expects.
    settings_action, unsubscribe_action = escape(links["manage"] + "/settings"), escape(links["unsubscribe"])
    parts = [f"<h1>{_t('title')}</h1>"]
    if saved:
        parts.append(f"<p role=status><strong>{_t('saved')}</strong></p>")
    if errors:
        parts.append(f"<div role=alert><p><strong>{_t('not_saved')}</strong></p><ul>"
                     + "".join(_error_line(e) for e in errors) + "</ul></div>")
    area = {"kind": sub.area_kind, **(sub.area_input or {})}
    if sub.status == "active":
        since = _date(sub.confirmed_at, zone)
        state = both(f"aktiv seit {since[0]}", f"active since {since[1]}")
    else:
        state = _t("pending")
    min_impact = next((k for k, v in IMPACT_ORDER.items() if v == sub.min_impact_rank), None) \
        if sub.min_impact_rank else None
    rows = [
        (_t("email"), escape(sub.email)),
        (_t("status"), state),
        (_t("area"), both(render.area_text(area, "de"), render.area_text(area, "en"))),
        (_t("kinds"), _labels(list(sub.kinds or []), render.KIND_LABELS)),
        (_t("modes"), _labels(list(sub.modes or []), render.MODE_LABELS)),
        (_t("min_impact"), both(*render.IMPACT_LABELS[min_impact]) if min_impact else _t("any_impact")),
        (_t("delivery"), both(*DELIVERY_LABELS.get(sub.delivery, (sub.delivery,) * 2))),
        (_t("lead_days"), both(f"{sub.lead_days} Tage vor Baubeginn", f"{sub.lead_days} days before the works start")),
        (_t("language"), both(*LANGUAGE_LABELS.get(sub.language, (sub.language,) * 2))),
    ]
    if sub.webhooks:
        hooks = "".join(f"<li>{escape(ep.url)} ({_t('enabled' if ep.enabled else 'disabled')})</li>"
                        for ep in sub.webhooks)
        rows.append(("Webhooks", f"<ul>{hooks}</ul>"))
    parts.append(f"<h2>{_t('details')}</h2><dl>"
                 + "".join(f"<dt><strong>{k}</strong></dt><dd>{v}</dd>" for k, v in rows) + "</dl>")

    choices = [("", _t("any_impact"))] + [(k, both(*render.IMPACT_LABELS[k])) for k, rank in IMPACT_ORDER.items()
                                          if rank > 0]
    options = "".join(f"<option value='{k}'{' selected' if (k or None) == min_impact else ''}>{label}</option>"
                      for k, label in choices)
    parts.append(
        f"<h2>{_t('change')}</h2><form method=post action='{settings_action}'>"
        f"<fieldset><legend>{_t('delivery_legend')}</legend>"
        + "".join(_radio("delivery", k, both(*labels), sub.delivery == k) for k, labels in DELIVERY_LABELS.items())
        + f"</fieldset><p><label for=lead_days>{_t('lead_days_label')}</label><br>"
        "<input id=lead_days name=lead_days type=number min=0 max=365 step=1 required inputmode=numeric "
        f"value={int(sub.lead_days)}></p>"
        f"<p><label for=min_impact>{_t('min_impact_label')}</label><br>"
        f"<select id=min_impact name=min_impact>{options}</select></p>"
        f"<fieldset><legend>{_t('language_legend')}</legend>"
        + "".join(_radio("language", k, both(*labels), sub.language == k) for k, labels in LANGUAGE_LABELS.items())
        + f"</fieldset><p><button type=submit>{_t('save')}</button></p></form><p>{_t('fixed')}</p>"
    )
    if sub.status == "active":  # the feeds answer 409 until the subscription is confirmed
        parts.append(
            f"<h2>{_t('feeds')}</h2><ul>"
            f"<li><a href='{escape(links['calendar'], quote=True)}'>{_t('calendar')}</a></li>"
            f"<li><a href='{escape(links['atom'], quote=True)}'>{_t('atom')}</a></li></ul>")
    parts.append(
        f"<h2>{_t('unsubscribe')}</h2><form method=post action='{unsubscribe_action}'>"
        f"<input type=hidden name=List-Unsubscribe value=One-Click><p>{_t('unsubscribe_text')}</p>"
        f"<p><button type=submit>{_t('unsubscribe')}</button></p></form>"
    )
    return page("Abonnement verwalten / Manage subscription", "".join(parts), status_code, private=True)


def confirmed_page(manage_url: str, welcome_sites: int | None) -> HTMLResponse:
    """The answer to the confirmation link; it says how many sites the welcome email lists, or that there are
    none (then no welcome is sent)."""
    if welcome_sites == 0:
        welcome = ("<p>Zurzeit keine Baustellen in Ihrem Gebiet.</p>",
                   "<p lang=en>No construction sites in your area at the moment.</p>")
    elif welcome_sites:
        welcome = (f"<p>Baustellen in Ihrem Gebiet: {welcome_sites}. Eine Übersicht ist per E-Mail unterwegs.</p>",
                   f"<p lang=en>Construction sites in your area: {welcome_sites}. An overview is on its way by "
                   "email.</p>")
    else:  # confirmed before (a new address confirming again): no welcome
        welcome = ("", "")
    return page("Bestätigt / Confirmed",
                "<h1>Abonnement bestätigt</h1><p>Sie erhalten ab jetzt Baustellenhinweise für Ihr Gebiet.</p>"
                f"{welcome[0]}<h2 lang=en>Subscription confirmed</h2>"
                f"<p lang=en>You will now receive construction site notices.</p>{welcome[1]}"
                f"<p><a href='{escape(manage_url, quote=True)}'>{both('Abonnement verwalten', 'Manage subscription')}"
                "</a></p>")


NOT_FOUND_PAGE = (
    "<h1>Abonnement nicht gefunden</h1>"
    "<p>Zu diesem Link gibt es kein Abonnement (mehr): Es wurde abgemeldet, gelöscht oder nie bestätigt "
    "(unbestätigte Abonnements verfallen nach 7 Tagen). Sie erhalten darüber keine Baustellenhinweise.</p>"
    "<h2 lang=en>Subscription not found</h2>"
    "<p lang=en>There is no subscription (any more) behind this link: it was unsubscribed, deleted or never "
    "confirmed (unconfirmed subscriptions expire after 7 days). You receive no construction site notices "
    "through it.</p>"
)
FOREIGN_ORIGIN_PAGE = (
    "<h1>Nicht gespeichert</h1>"
    "<p>Dieses Formular wurde von einer anderen Website abgeschickt; Ihr Abonnement bleibt, wie es war. Öffnen "
    "Sie den Link „Abonnement verwalten“ aus einer unserer E-Mails und ändern Sie die Einstellungen dort.</p>"
    "<h2 lang=en>Not saved</h2>"
    "<p lang=en>This form was sent from another website; your subscription stays as it was. Open the “Manage "
    "subscription” link from one of our emails and change the settings there.</p>"
)


def not_found_page() -> HTMLResponse:
    return page("Nicht gefunden / Not found", NOT_FOUND_PAGE, 404, private=True)


def foreign_origin_page() -> HTMLResponse:
    return page("Nicht gespeichert / Not saved", FOREIGN_ORIGIN_PAGE, 403, private=True)
