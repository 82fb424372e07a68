"""Delivering queued notices: claim with ``FOR UPDATE SKIP LOCKED``, send, record the attempt.

Order: each inbox (an email address, a webhook URL) is a queue served in the order the notices were queued
(``seq``, the outbox's order); a delivery waiting for its retry holds the later ones of its inbox back, so a
subscriber never hears "approved" before "planned".

At-least-once: a delivery is marked delivered in the transaction that claimed it, after the send. A worker
killed between the send and the commit leaves the row pending, and the next run sends it again with the
same ``Message-ID`` / ``webhook-id`` (the delivery's id), so receivers can drop the copy. ``chunk`` bounds
how many such copies a crash can cause (one transaction per chunk).

Locks: a chunk holds its deliveries' rows over its sends, and never waits for a lock another transaction holds
(an unsubscribe, a change of a subscription being saved): a webhook's endpoint is locked with ``SKIP LOCKED``
(held elsewhere: the delivery waits a few seconds, uncounted), and a subscription deleted meanwhile is read
from its committed row before each send (its deliveries are cancelled then). So no unsubscribe can deadlock
with the worker, and nothing goes out to a subscription after its deletion was committed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from service.kit.db import session_scope
from service.notices import egress, mail, render, repository, service
from service.notices.models import Delivery, Notice, Subscription
from service.settings import Settings

log = logging.getLogger("baustellen.notices")

BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 6 * 3600.0
EMAIL_MAX_ATTEMPTS = 12
WEBHOOK_TIMEOUT_S = 10.0
# A webhook delivery whose endpoint another transaction holds waits this long (no attempt counted).
BUSY_RETRY_S = 5.0


@dataclass
class DeliveryStats:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """False when the round found nothing to do, so an idle worker logs nothing."""
        return bool(self.claimed or self.delivered or self.failed or self.retried or self.cancelled
                    or self.disabled_endpoints)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at 6 h."""
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def webhook_id(delivery_id: Any) -> str:
    return f"msg_{delivery_id.hex}"


# --- content ------------------------------------------------------------------------------------


def email_content(notice: Notice, sub: Subscription, settings: Settings) -> tuple[str, str]:
    lang, links = sub.language, service.links(sub, settings)
    p = notice.payload
    if notice.kind == "confirmation":
        return (render.special_subject("confirmation", lang),
                render.confirmation_text(service.confirm_url(p["confirm_token"], settings), links, p["area"], lang))
    if notice.kind == "endpoint.disabled":
        return (render.special_subject("endpoint.disabled", lang),
                render.endpoint_disabled_text(p["url"], p["since"], links, lang))
    if notice.kind == "welcome":
        return render.welcome_subject(p, lang), render.welcome_text(p, lang, links)
    if notice.kind.startswith("digest."):
        return (render.special_subject(notice.kind, lang),
                render.digest_text(p["items"], p["period"], lang, links))
    site = p["site"]
    return render.subject(notice.kind, site, lang), render.notice_text(notice.kind, site, lang, links)


def webhook_body(notice: Notice, sub: Subscription, sent_at: datetime) -> str:
    site = notice.payload.get("site")
    site = render.public_site(site) if site else None  # a notice queued before the contact was left out
    items = [{**item, "site": render.public_site(item["site"])} if item.get("site") else item
             for item in notice.payload.get("items") or []]
    data = {
        "notice_id": str(notice.id), "subscription_id": str(sub.id), "kind": notice.kind,
        "headline": {"de": render.headline(notice.kind, site, "de"), "en": render.headline(notice.kind, site, "en")},
        **({"site": site} if site else {}),
        **({"items": items} if "items" in notice.payload else {}),
    }
    return json.dumps({"type": f"notice.{notice.kind}", "timestamp": sent_at.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"))


# --- one delivery -------------------------------------------------------------------------------


class _Channels:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mailer = mail.Mailer(settings)
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """Webhooks connect only to addresses checked at connection time (``egress``); no redirects."""
        if self._http is None:
            transport = egress.CheckedTransport(allow_loopback=self.settings.webhook_allow_http_loopback)
            self._http = httpx.Client(transport=transport, timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False,
                                      headers={"User-Agent": "baustellen-ruhr-notices/1"})
        return self._http

    def close(self) -> None:
        self.mailer.close()
        if self._http is not None:
            self._http.close()


def _send_email(d: Delivery, notice: Notice, sub: Subscription, settings: Settings, ch: _Channels) -> None:
    """Build the message and send it. A message that cannot be built (its stored notice makes a header or text the
    email package refuses) fails for good at once: it would fail the same on every retry, and meanwhile hold the
    later notices of its inbox back."""
    try:
        subject, body = email_content(notice, sub, settings)
        msg = mail.build(to=d.inbox, subject=subject, body=body, msg_id=mail.message_id(d.id, settings),
                         unsubscribe_url=service.links(sub, settings)["unsubscribe"], settings=settings,
                         date=datetime.now(UTC))
    except mail.PermanentError:
        raise
    except Exception as exc:
        raise mail.PermanentError(f"message cannot be built: {type(exc).__name__}: {exc}") from exc
    ch.mailer.send(msg)


def _send_webhook(secret: str, url: str, d: Delivery, notice: Notice, sub: Subscription,
                  ch: _Channels) -> int:
    sent_at = datetime.now(UTC)  # the signature carries the real sending time, whatever clock drives retries
    body = webhook_body(notice, sub, sent_at)
    msg_id = webhook_id(d.id)
    signature = Webhook(secret).sign(msg_id, sent_at, body)
    response = ch.http.post(url, content=body.encode(), headers={
        "content-type": "application/json", "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())), "webhook-signature": signature,
    })
    return response.status_code


def _deliver_one(session: Session, d: Delivery, notice: Notice, sub: Subscription, settings: Settings,
                 ch: _Channels, now: datetime, stats: DeliveryStats) -> None:
    """Send one claimed delivery and record the attempt. Takes no lock it would wait for (see the module)."""
    if repository.subscription_status(session, sub.id) in (None, repository.DELETED):
        d.status, d.last_error = "cancelled", "subscription deleted"  # unsubscribed since the claim
        stats.cancelled += 1
        return
    endpoint = None
    if d.channel != "email":
        endpoint, busy = repository.lock_endpoint(session, d.endpoint_id) if d.endpoint_id else (None, False)
        if busy:  # its subscription is being changed or deleted right now: look again shortly
            d.next_attempt_at = now + timedelta(seconds=BUSY_RETRY_S)
            return
        if endpoint is None or not endpoint.enabled:
            d.status, d.last_error = "cancelled", "endpoint disabled or removed"
            stats.cancelled += 1
            return
    started = time.perf_counter()
    ok, code, error, permanent = False, None, None, False
    try:
        if endpoint is None:
            _send_email(d, notice, sub, settings, ch)
            ok = True
        else:
            code = _send_webhook(endpoint.secret, endpoint.url, d, notice, sub, ch)
            ok = 200 <= code < 300
            error = None if ok else f"HTTP {code}"
    except mail.PermanentError as exc:
        error, permanent = str(exc), True
    except egress.AddressNotAllowed as exc:  # nothing was sent: the host resolves into a private network
        error = str(exc)
    except Exception as exc:  # every failure of the send is recorded and retried
        error = f"{type(exc).__name__}: {exc}"
    duration = int((time.perf_counter() - started) * 1000)
    d.attempts += 1
    repository.add_attempt(session, delivery_id=d.id, at=now, ok=ok, status_code=code, error=error,
                           duration_ms=duration)
    if ok:
        d.status, d.delivered_at, d.last_error = "delivered", now, None
        stats.delivered += 1
        if endpoint is not None:
            endpoint.failing_since = None
        return
    d.last_error = error
    if endpoint is None:
        if permanent or d.attempts >= EMAIL_MAX_ATTEMPTS:
            d.status = "failed"
            stats.failed += 1
        else:
            d.next_attempt_at = now + backoff(d.attempts)
            stats.retried += 1
        return
    endpoint.failing_since = endpoint.failing_since or now
    if (now - endpoint.failing_since).total_seconds() >= settings.webhook_disable_after_s:
        _disable(session, endpoint, sub, settings, now)
        d.status = "cancelled"
        stats.failed += 1
        stats.disabled_endpoints.append(endpoint.url)
    else:
        d.next_attempt_at = now + backoff(d.attempts)
        stats.retried += 1


def _disable(session: Session, endpoint: Any, sub: Subscription, settings: Settings, now: datetime) -> None:
    """Switch a long-failing endpoint off, cancel what is queued for it and tell its owner by email."""
    since = endpoint.failing_since.astimezone(UTC).isoformat(timespec="minutes")
    endpoint.enabled, endpoint.disabled_at = False, now
    session.flush()
    repository.cancel_endpoint_deliveries(session, endpoint.id, "endpoint disabled")
    service.queue_notice(session, sub.id, sub.email, "immediate", [], kind="endpoint.disabled",
                         dedupe_key=f"disabled:{endpoint.id}:{now.isoformat()}",
                         payload={"url": endpoint.url, "since": since}, email_now=True)
    log.warning("webhook endpoint %s disabled after failing since %s", endpoint.url, since)


def deliver_batch(
    factory: sessionmaker[Session], settings: Settings, *, limit: int = 1000, chunk: int = 50,
    now: datetime | None = None,
) -> DeliveryStats:
    """Deliver up to ``limit`` due notices, ``chunk`` per transaction, over one SMTP connection and one HTTP
    client. ``now`` drives scheduling (retries, disabling) and defaults to the wall clock."""
    stats = DeliveryStats()
    channels = _Channels(settings)
    try:
        while stats.claimed < limit:
            with session_scope(factory) as session:
                at = now or datetime.now(UTC)
                rows = repository.claim_due(session, at, min(chunk, limit - stats.claimed))
                held: set[str] = set()  # inboxes whose earlier delivery in this chunk waits for a retry
                for d, notice, sub in rows:
                    if d.inbox in held:
                        continue  # never overtake it: this one goes out after the retry succeeded
                    _deliver_one(session, d, notice, sub, settings, channels, at, stats)
                    if d.status == "pending":
                        held.add(d.inbox)
                stats.claimed += len(rows)
            if len(rows) < chunk:
                break
    finally:
        channels.close()
    return stats
