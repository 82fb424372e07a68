"""Subscriptions for businesses: self-service with double opt-in, managed by a secret link or a business
organisation's key; one-click unsubscribe; calendar and Atom feeds."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from service.auth.dependencies import Authenticated, OptionalPrincipal, SessionDep
from service.kit.accept import prefers_html
from service.kit.encode import to_json
from service.kit.head import get_and_head
from service.kit.problems import Problem
from service.notices import service
from service.notices.schemas import SubscriptionAccepted, SubscriptionPatch, SubscriptionRead, SubscriptionWrite

router = APIRouter(prefix="/v1/subscriptions", tags=["notices"])

REF_DOC = "the secret management token (`sub_...`) from the emails, or the id with your organisation's key"


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=de><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:2em auto'>{body}</body></html>",
        status_code=status_code,
    )


@router.post("", status_code=202, response_model=SubscriptionAccepted)
def subscribe(body: SubscriptionWrite, session: SessionDep, request: Request,
              principal: OptionalPrincipal) -> JSONResponse:
    """Subscribe an inbox to notices about sites in an area. Answers 202: nothing is sent except the
    confirmation email until its link is followed (double opt-in). With a business organisation's key the
    answer also carries the subscription (links, webhook secrets)."""
    settings = request.app.state.settings
    sub = service.create(session, body, settings, principal)
    content = {"id": sub.id, "status": sub.status,
               "detail": "Bitte bestätigen Sie den Link in der E-Mail. / Please follow the link in the email."}
    if principal is not None:
        content["subscription"] = service.to_read(session, sub, settings)
    return JSONResponse(to_json(content), status_code=202)


@router.get("", response_model=list[SubscriptionRead])
def list_subscriptions(principal: Authenticated, session: SessionDep, request: Request) -> list[dict]:
    """Your business organisation's subscriptions."""
    settings = request.app.state.settings
    return [service.to_read(session, s, settings) for s in service.list_for(session, principal)]


INVALID_LINK_PAGE = (
    "<h1>Link schon benutzt oder ungültig</h1>"
    "<p>Dieser Bestätigungslink wurde schon benutzt, ist abgelaufen (nach 7 Tagen) oder unbekannt.</p>"
    "<p>Haben Sie Ihr Abonnement schon bestätigt, ist nichts weiter zu tun: Den Link zum Verwalten finden Sie "
    "in der Bestätigungs-E-Mail und unter jedem Hinweis. Sonst bestellen Sie die Baustellenhinweise bitte "
    "neu.</p>"
    "<h2>Link already used or invalid</h2>"
    "<p>This confirmation link has been used already, has expired (after 7 days) or is unknown.</p>"
    "<p>If you have confirmed your subscription already, there is nothing more to do: the link to manage it is "
    "in the confirmation email and under every notice. Otherwise, please subscribe again.</p>"
)


@router.get("/confirm", response_class=HTMLResponse, operation_id="confirm_subscription",
            responses={404: {"description": "link used already or unknown: an HTML page for browsers, "
                                            "problem details for clients that ask for JSON"}})
@router.post("/confirm", response_class=HTMLResponse, operation_id="confirm_subscription_post")
def confirm(token: str, session: SessionDep, request: Request) -> HTMLResponse:
    """Activate a subscription: the link from the confirmation email. A used or unknown link answers 404
    with a page in German and English for a browser, problem details for an API client (Accept JSON)."""
    settings = request.app.state.settings
    try:
        sub = service.confirm(session, token)
    except Problem as exc:
        if exc.status != 404 or not prefers_html(request.headers.get("accept", "")):
            raise
        return _page("Link ungültig / Link invalid", INVALID_LINK_PAGE, status_code=404)
    manage = html.escape(service.links(sub, settings)["manage"])
    return _page("Bestätigt / Confirmed",
                 "<h1>Abonnement bestätigt</h1><p>Sie erhalten ab jetzt Baustellenhinweise für Ihr Gebiet.</p>"
                 "<h2>Subscription confirmed</h2><p>You will now receive construction site notices.</p>"
                 f"<p><a href='{manage}'>Abonnement verwalten / manage</a></p>")


ALREADY_UNSUBSCRIBED_PAGE = (
    "<h1>Sie sind bereits abgemeldet</h1>"
    "<p>Zu diesem Link gibt es kein Abonnement mehr; darüber erhalten Sie keine Baustellenhinweise. Es ist "
    "nichts weiter zu tun.</p>"
    "<h2>You are already unsubscribed</h2>"
    "<p>There is no subscription behind this link any more; you receive no construction site notices through "
    "it. There is nothing more to do.</p>"
)


@router.get("/{token}/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(token: str, session: SessionDep) -> HTMLResponse:
    """A page with a button; GET never unsubscribes (mail scanners follow links). A link whose subscription
    is gone (unsubscribed or deleted already) answers a page saying so instead."""
    if not service.is_subscribed(session, token):
        return _page("Bereits abgemeldet / Already unsubscribed", ALREADY_UNSUBSCRIBED_PAGE)
    action = html.escape(f"/v1/subscriptions/{token}/unsubscribe")
    return _page("Abmelden / Unsubscribe",
                 f"<form method=post action='{action}'><input type=hidden name=List-Unsubscribe value=One-Click>"
                 "<p>Keine Baustellenhinweise mehr erhalten? / Stop receiving construction site notices?</p>"
                 "<button>Abmelden / Unsubscribe</button></form>")


@router.post("/{token}/unsubscribe", response_class=HTMLResponse)
def unsubscribe(token: str, session: SessionDep) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe: deletes the subscription and the email address. Idempotent: a second
    click answers 200 too, with the page that says so."""
    if not service.unsubscribe(session, token):
        return _page("Bereits abgemeldet / Already unsubscribed", ALREADY_UNSUBSCRIBED_PAGE)
    return _page("Abgemeldet / Unsubscribed",
                 "<p>Sie sind abgemeldet; Ihre E-Mail-Adresse ist gelöscht.</p>"
                 "<p>You are unsubscribed; your email address has been deleted.</p>")


@router.get("/{ref}", response_model=SubscriptionRead, description=f"`ref`: {REF_DOC}")
def get_subscription(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal) -> dict:
    sub = service.resolve(session, ref, principal)
    return service.to_read(session, sub, request.app.state.settings)


@router.patch("/{ref}", response_model=SubscriptionRead, description=f"`ref`: {REF_DOC}")
def patch_subscription(ref: str, patch: SubscriptionPatch, session: SessionDep, request: Request,
                       principal: OptionalPrincipal) -> dict:
    """Change any field. A new email address has to confirm again; saving a webhook URL again re-enables it."""
    settings = request.app.state.settings
    sub = service.update(session, service.resolve(session, ref, principal), patch, settings)
    return service.to_read(session, sub, settings)


@router.delete("/{ref}", status_code=204, description=f"`ref`: {REF_DOC}")
def delete_subscription(ref: str, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """Delete the subscription and with it the email address and every notice queued or sent for it."""
    service.delete(session, service.resolve(session, ref, principal))
    return Response(status_code=204)


@get_and_head(router, "/{ref}/calendar.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar"}})
def calendar(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal) -> Response:
    """The sites in your area as all-day events (subscribe to this URL in your calendar)."""
    sub = service.resolve(session, ref, principal)
    body = service.calendar_ics(session, sub, request.app.state.settings, datetime.now(UTC))
    return Response(body, media_type="text/calendar; charset=utf-8")


@get_and_head(router, "/{ref}/feed.atom", response_class=Response,
            responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom feed"}})
def atom(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal) -> Response:
    """Your notices as an Atom feed, newest first."""
    sub = service.resolve(session, ref, principal)
    body = service.atom_feed(session, sub, request.app.state.settings, datetime.now(UTC))
    return Response(body, media_type="application/atom+xml; charset=utf-8")
