"""Subscriptions for businesses (and any organisation): self-service with double opt-in, managed by a secret
link (a page in the browser, JSON for API clients) or the owning organisation's key; one-click unsubscribe;
calendar and Atom feeds. The HTML of the pages is in ``pages``."""

from __future__ import annotations

import hashlib
import html
import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from service.auth.dependencies import Authenticated, OptionalPrincipal, SessionDep
from service.kit.accept import prefers_html
from service.kit.compression import not_modified
from service.kit.encode import to_json
from service.kit.etags import if_none_match_matches
from service.kit.head import get_and_head
from service.kit.problems import Problem, forbidden
from service.kit.time import tz
from service.notices import delivery, pages, service
from service.notices.schemas import (
    SETTINGS_FORM_OPENAPI,
    SubscriptionAccepted,
    SubscriptionPatch,
    SubscriptionRead,
    SubscriptionWrite,
    WebhookNotice,
)
from service.settings import Settings

router = APIRouter(prefix="/v1/subscriptions", tags=["notices"])

REF_DOC = "the secret management token (`sub_...`) from the emails, or the id with your organisation's key"



@router.post("", status_code=202, response_model=SubscriptionAccepted)
def subscribe(body: SubscriptionWrite, session: SessionDep, request: Request,
              principal: OptionalPrincipal) -> JSONResponse:
    """Subscribe an inbox to notices about sites in an area. Answers 202: nothing is sent except the
    confirmation email until its link is followed (double opt-in). With an organisation's key (any kind:
    business, transit operator, city, ...) the organisation owns the subscription and the answer also carries
    it (links, webhook secrets)."""
    settings = request.app.state.settings
    sub = service.create(session, body, settings, principal)
    content = {"id": sub.id, "status": sub.status,
               "detail": "Bitte bestätigen Sie den Link in der E-Mail. / Please follow the link in the email."}
    if principal is not None:
        content["subscription"] = service.to_read(session, sub, settings)
    return JSONResponse(to_json(content), status_code=202)


@router.get("", response_model=list[SubscriptionRead])
def list_subscriptions(principal: Authenticated, session: SessionDep, request: Request) -> list[dict]:
    """The subscriptions your organisation owns (those created with its keys)."""
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
        confirmed = service.confirm(session, token, settings)
    except Problem as exc:
        if exc.status != 404 or not prefers_html(request.headers.get("accept", "")):
            raise
        return pages.page("Link ungültig / Link invalid", INVALID_LINK_PAGE, status_code=404)
    return pages.confirmed_page(service.links(confirmed.subscription, settings)["manage"], confirmed.welcome_sites)


@router.head("/confirm", include_in_schema=False)
def confirm_head() -> Response:
    """HEAD never confirms: link checkers and mail scanners ask with it (the app otherwise answers HEAD with the
    GET route, ``service.kit.head.HeadAsGet``)."""
    return Response(status_code=200, media_type="text/html; charset=utf-8")


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
        return pages.page("Bereits abgemeldet / Already unsubscribed", ALREADY_UNSUBSCRIBED_PAGE)
    action = html.escape(f"/v1/subscriptions/{token}/unsubscribe")
    return pages.page("Abmelden / Unsubscribe",
                      f"<form method=post action='{action}'><input type=hidden name=List-Unsubscribe value=One-Click>"
                      "<p>Keine Baustellenhinweise mehr erhalten? / Stop receiving construction site notices?</p>"
                      "<button>Abmelden / Unsubscribe</button></form>")


@router.post("/{token}/unsubscribe", response_class=HTMLResponse)
def unsubscribe(token: str, session: SessionDep) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe: deletes the subscription and the email address. Idempotent: a second
    click answers 200 too, with the page that says so."""
    if not service.unsubscribe(session, token):
        return pages.page("Bereits abgemeldet / Already unsubscribed", ALREADY_UNSUBSCRIBED_PAGE)
    return pages.page("Abgemeldet / Unsubscribed",
                      "<p>Sie sind abgemeldet; Ihre E-Mail-Adresse ist gelöscht.</p>"
                      "<p>You are unsubscribed; your email address has been deleted.</p>")


@router.get("/{ref}", response_model=SubscriptionRead, description=f"`ref`: {REF_DOC}. A browser (Accept "
            "prefers `text/html`) gets the management page: the subscription, a form to change the delivery "
            "rhythm, lead time, language and least restriction, the feeds and an unsubscribe button.",
            responses={200: {"content": {"text/html": {}}}})
def get_subscription(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal,
                     response: Response) -> dict | HTMLResponse:
    """The subscription: JSON for API clients, the management page for a browser (the "Abonnement
    verwalten" link of every email)."""
    settings = request.app.state.settings
    response.headers["Vary"] = "Accept"
    browser = prefers_html(request.headers.get("accept", ""))
    sub = _resolve(session, ref, principal, browser)
    if isinstance(sub, HTMLResponse):
        return sub
    if browser:
        return pages.manage_page(sub, service.links(sub, settings), tz(settings))
    return service.to_read(session, sub, settings)


def _resolve(session: Any, ref: str, principal: Any, browser: bool) -> Any:
    """The subscription, or for a browser the "not found" page instead of problem details."""
    try:
        return service.resolve(session, ref, principal)
    except Problem as exc:
        if exc.status != 404 or not browser:
            raise
        return pages.not_found_page()


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields as sent (FastAPI's ``Form()`` would turn an empty field into a missing
    one; here an empty ``min_impact`` means "any restriction")."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/{token}/settings", response_model=SubscriptionRead, operation_id="save_subscription_settings",
             openapi_extra=SETTINGS_FORM_OPENAPI,
             responses={200: {"content": {"text/html": {}}},
                        403: {"description": "the form was posted from another site (its Origin)"}})
def save_settings(token: str, session: SessionDep, request: Request,
                  form: Annotated[dict[str, str], Depends(_form_fields)]) -> dict | HTMLResponse:
    """The management page's form (`application/x-www-form-urlencoded`): `delivery`, `lead_days`, `language`,
    `min_impact` (empty: any restriction); a field not sent stays as it is. Validated and applied like the
    PATCH. The token in the URL authorises it; a form posted from another site (an `Origin` header that is
    not this service's public origin) is refused with 403 and changes nothing. Answers the page again with
    "Gespeichert" (or what was wrong, 422) for a browser, the subscription (or problem details) for others."""
    settings = request.app.state.settings
    browser = prefers_html(request.headers.get("accept", ""))
    if pages.foreign_origin(request.headers.get("origin"), settings.public_url):
        if browser:
            return pages.foreign_origin_page()
        raise forbidden("This form may only be sent from this service's own pages (Origin does not match).")
    sub = _resolve(session, token, None, browser)
    if isinstance(sub, HTMLResponse):
        return sub
    try:
        patch = service.patch_from_form(form)
    except Problem as exc:
        if not browser:
            raise
        return pages.manage_page(sub, service.links(sub, settings), tz(settings), errors=exc.errors,
                                 status_code=exc.status)
    sub = service.update(session, sub, patch, settings)
    if browser:
        return pages.manage_page(sub, service.links(sub, settings), tz(settings), saved=True)
    return service.to_read(session, sub, settings)


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


# The calendar and the Atom feed are the subscriber's own (their URL carries the secret token, or they are asked
# for with a key): only the client's own cache may keep them, and revalidates them after a minute, as the open
# data feeds.
FEED_CACHE_CONTROL = "private, max-age=60"


def _feed_etag(body: bytes) -> str:
    """A hash of the body. Weak, as the open data feeds' (``service.feeds.service``): the app's gzip middleware
    sends the same feed as other bytes (gzip-encoded) under the same ETag."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def _feed_response(request: Request, body: bytes, media_type: str, if_none_match: str | None) -> Response:
    """The feed with its ``ETag`` and ``Cache-Control``, or 304 when ``If-None-Match`` names that tag. The body
    must be the same bytes while the feed's content is (no time of the request in it), else every poll is 200."""
    etag = _feed_etag(body)
    headers = {"ETag": etag, "Cache-Control": FEED_CACHE_CONTROL}
    if if_none_match_matches(if_none_match, etag):
        return not_modified(request, headers, len(body))
    return Response(body, media_type=media_type, headers=headers)


@get_and_head(router, "/{ref}/calendar.ics", response_class=Response,
              responses={200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar"},
                         304: {"description": "Not modified (If-None-Match names the ETag of the calendar)"}})
def calendar(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal,
             if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The sites in your area as all-day events (subscribe to this URL in your calendar). The answer carries an
    `ETag` that changes whenever the calendar does; send it back in `If-None-Match` to get 304 while nothing
    changed."""
    sub = service.resolve(session, ref, principal)
    body = service.calendar_ics(session, sub, request.app.state.settings)
    return _feed_response(request, body, "text/calendar; charset=utf-8", if_none_match)


@get_and_head(router, "/{ref}/feed.atom", response_class=Response,
              responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom feed"},
                         304: {"description": "Not modified (If-None-Match names the ETag of the feed)"}})
def atom(ref: str, session: SessionDep, request: Request, principal: OptionalPrincipal,
         if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """Your notices as an Atom feed, newest first. The answer carries an `ETag` that changes whenever the feed
    does (a new notice, another language); send it back in `If-None-Match` to get 304 while nothing changed."""
    sub = service.resolve(session, ref, principal)
    body = service.atom_feed(session, sub, request.app.state.settings)
    return _feed_response(request, body, "application/atom+xml; charset=utf-8", if_none_match)


# --- the webhook deliveries in /openapi.json (OpenAPI 3.1 ``webhooks``): what a subscriber's endpoint receives ---


def notice_webhook(
    body: WebhookNotice,
    webhook_id: Annotated[str, Header(description=(
        "`msg_<delivery id>`: the same for every attempt of a delivery, so a receiver drops a copy by it (delivery "
        "is at least once)"), examples=["msg_2f1c0d3e4b5a69788796a5b4c3d2e1f0"])],
    webhook_timestamp: Annotated[int, Header(description=(
        "Unix time in seconds when this attempt was sent; reject one too far from your clock (Standard Webhooks "
        "suggests 5 minutes)"), examples=[1795250000])],
    webhook_signature: Annotated[str, Header(description=(
        "`v1,<base64 HMAC-SHA256>` (several space-separated when there are several): the HMAC, with the "
        "base64-decoded part of the endpoint's `whsec_` secret (`webhooks[].secret` of the subscription) as key, of "
        "`<webhook-id>.<webhook-timestamp>.<body>` (the raw body bytes). Any Standard Webhooks library verifies it, "
        "e.g. `standardwebhooks.Webhook(secret).verify(body, headers)`"),
        examples=["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="])],
) -> None:
    """A notice for the subscription (the same as its email, sent at once whatever the delivery rhythm), signed
    with the endpoint's secret as [Standard Webhooks](https://www.standardwebhooks.com/) do. Not sent: the welcome
    overview, digests, the confirmation (email only).

    **Your answer.** Any 2xx (with any body) counts as received. Anything else, a redirect (not followed), no
    answer within {timeout} seconds or no connection is a failed attempt: it is sent again, with the same
    `webhook-id` and a new `webhook-timestamp` and signature, after {first} s, then doubling the wait up to
    {most} hours apart. An endpoint's deliveries go out in the order the notices were queued: while one waits for
    its retry, the later ones wait behind it. An endpoint that has failed for {disable}
    (`BAUSTELLEN_WEBHOOK_DISABLE_AFTER_S`) is disabled, its queued deliveries are cancelled and the subscriber is
    emailed ("Webhook abgeschaltet"); saving its URL again (`PATCH /v1/subscriptions/{ref}`) enables it again.
    Connections go only to public addresses (checked when connecting); no proxy."""


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {"description": f"Any other status (redirects are not followed), a timeout "
                               f"({delivery.WEBHOOK_TIMEOUT_S:g} s) or no connection: the attempt failed and is "
                               f"retried with the same `webhook-id` (see above)"},
}


def install(app: FastAPI, settings: Settings) -> None:
    """Document the signed webhook deliveries (``delivery.webhook_body``) in the OpenAPI document's ``webhooks``."""
    days = settings.webhook_disable_after_s / 86400
    disable = (f"{days:g} days" if days >= 1 else f"{settings.webhook_disable_after_s:g} seconds")
    app.webhooks.add_api_route(
        "notice", notice_webhook, methods=["POST"], tags=["notices"], status_code=200, response_class=Response,
        summary="Notice (signed webhook)", operation_id="webhook_notice", responses=WEBHOOK_RESPONSES,
        description=inspect.cleandoc(notice_webhook.__doc__ or "").replace("{disable}", disable)
        .replace("{timeout}", f"{delivery.WEBHOOK_TIMEOUT_S:g}").replace("{first}", f"{delivery.BACKOFF_BASE_S:g}")
        .replace("{most}", f"{delivery.BACKOFF_MAX_S / 3600:g}"),
        response_description="Received: any 2xx status counts (the body of the answer is ignored)")
