"""One-click unsubscribe while the worker is sending to that very subscriber: real concurrency on a committed
database (the worker's delivery in a thread, the unsubscribe over HTTP through the app with its own connections,
a real SMTP server that holds the subscriber's message until the unsubscribe has answered, a real webhook
receiver).

The worker holds the rows of the deliveries it is sending (its chunk) until the chunk is done; the unsubscribe must
not wait for them, nor deadlock with the worker: it answers 200 at once, the subscription is gone for every reader
from then on, nothing more goes out to it (email or webhook), the other subscriber gets each of its notices exactly
once, the worker finishes without an error, and its next round deletes what was left of the subscription."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.auth import service as auth
from service.kit.db import make_sessionmaker, session_scope
from service.notices import delivery, jobs
from service.notices import service as notices
from service.notices.models import Attempt, Delivery, Notice, Subscription, WebhookEndpoint
from service.notices.schemas import SubscriptionWrite
from service.requests import service as requests
from service.requests.schemas import RequestWrite
from service.settings import Settings
from tests.conftest import site_body
from tests.notices.conftest import Inbox, free_port
from tests.notices.helpers import sub_body

GATE_S = 20.0  # how long the SMTP server holds the message at most (the unsubscribe answers long before)


class GatedInbox(Inbox):
    """Holds the first message to ``address`` (after its DATA arrived, before answering 250) until ``release``
    is set: the worker is in the middle of sending to that subscriber, with its chunk's rows locked."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.reached = threading.Event()
        self.release = threading.Event()
        self.timed_out = False

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.address in envelope.rcpt_tos and not self.reached.is_set():
            self.reached.set()
            released = await asyncio.get_running_loop().run_in_executor(None, self.release.wait, GATE_S)
            self.timed_out = not released
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def gated() -> Iterator[tuple[GatedInbox, int]]:
    inbox = GatedInbox("leaving@example.de")
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    inbox.release.set()
    controller.stop()


def _count(factory: sessionmaker[Session], model: Any, *where: Any) -> int:
    with session_scope(factory) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)))


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_unsubscribe_while_the_worker_sends_to_that_subscriber(clean_database: Engine, settings: Settings, gated,
                                                               receiver) -> None:  # noqa: ANN001
    inbox, port = gated
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                      "public_url": "https://baustellen.example"})
    factory = make_sessionmaker(clean_database, cfg)
    with session_scope(factory) as session:
        org = auth.create_organisation(session, name="Stadt Essen", kind="city")
        key, _ = auth.create_key(session, org_id=org.id, role="submitter")
        principal = auth.Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter",
                                   key_id=key.id)
        subs = {}
        for address, hooks in (("leaving@example.de", [receiver.url]), ("staying@example.de", [])):
            sub = notices.create(session, SubscriptionWrite.model_validate(sub_body(email=address, webhooks=hooks)),
                                 cfg)
            notices.confirm(session, sub.confirm_token, cfg)
            subs[address] = (sub.id, sub.token)
    with session_scope(factory) as session:  # two sites: two notices each, by email (and webhook for one)
        for title in ("Kanalbau Rüttenscheider Straße", "Gasleitung Rüttenscheider Straße"):
            requests.create(session, principal, RequestWrite.model_validate(site_body(title=title)), cfg)
    with session_scope(factory) as session:
        jobs.process_events(session, cfg)
    leaving_id, token = subs["leaving@example.de"]
    queued = _count(factory, Delivery, Delivery.inbox == "staying@example.de")
    assert queued == 3  # the confirmation and two notices
    assert _count(factory, Delivery, Delivery.endpoint_id.is_not(None)) == 2

    worker, outcome = _in_thread(lambda: delivery.deliver_batch(factory, cfg, chunk=50))  # one chunk for all
    assert inbox.reached.wait(30), "the worker never started sending to the subscriber"
    with TestClient(create_app(cfg)) as client:
        r = client.post(f"/v1/subscriptions/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
        # while the worker still holds its chunk: gone for every reader, a second click says so
        gone = client.get(f"/v1/subscriptions/{token}", headers={"Accept": "application/json"})
        again = client.post(f"/v1/subscriptions/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    assert not inbox.timed_out  # the unsubscribe answered while the message was still held
    inbox.release.set()
    worker.join(60)
    assert not worker.is_alive()

    assert r.status_code == 200, r.text
    assert "Sie sind abgemeldet" in r.text
    assert gone.status_code == 404
    assert again.status_code == 200 and "bereits abgemeldet" in again.text
    assert "error" not in outcome, repr(outcome.get("error"))
    # Nothing more went out to the subscriber than the message in flight (its confirmation): no notice by
    # email, no webhook.
    assert len(inbox.to("leaving@example.de")) == 1
    assert receiver.requests == []
    # The other subscriber got each of its messages, once.
    staying = Counter(m["Message-ID"] for m in inbox.to("staying@example.de"))
    assert len(staying) == queued and set(staying.values()) == {1}

    jobs.run_once(factory, cfg)  # the next round: nothing to send, the rest of the subscription is deleted
    assert len(inbox.to("leaving@example.de")) == 1 and receiver.requests == []
    assert len(inbox.to("staying@example.de")) == queued
    assert _count(factory, Subscription, Subscription.id == leaving_id) == 0
    assert _count(factory, Notice, Notice.subscription_id == leaving_id) == 0
    assert _count(factory, WebhookEndpoint, WebhookEndpoint.subscription_id == leaving_id) == 0
    assert _count(factory, Delivery, Delivery.inbox.in_(["leaving@example.de", f"webhook:{receiver.url}"])) == 0
    assert _count(factory, Subscription, Subscription.status == "active") == 1
    assert _count(factory, Delivery, Delivery.status != "delivered") == 0
    assert _count(factory, Attempt, Attempt.ok.is_(False)) == 0


def test_the_worker_never_waits_for_an_endpoint_another_transaction_holds(clean_database: Engine, settings: Settings,
                                                                          smtp, receiver) -> None:  # noqa: ANN001
    """A change of the subscription being saved (or an unsubscribe) holds its endpoint's row; the worker does not
    wait for it (it would hold its whole chunk meanwhile, and the other side may wait for the chunk: a deadlock).
    The webhook delivery waits a few seconds, uncounted; the email goes out; then the webhook goes too."""
    inbox, port = smtp
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    factory = make_sessionmaker(clean_database, cfg)
    with session_scope(factory) as session:
        org = auth.create_organisation(session, name="Stadt Essen", kind="city")
        key, _ = auth.create_key(session, org_id=org.id, role="submitter")
        principal = auth.Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter",
                                   key_id=key.id)
        sub = notices.create(session, SubscriptionWrite.model_validate(sub_body(webhooks=[receiver.url])), cfg)
        notices.confirm(session, sub.confirm_token, cfg)
        requests.create(session, principal, RequestWrite.model_validate(site_body()), cfg)
    with session_scope(factory) as session:
        jobs.process_events(session, cfg)

    holder = factory()
    try:
        [endpoint_id] = holder.scalars(select(WebhookEndpoint.id).with_for_update()).all()
        worker, outcome = _in_thread(lambda: delivery.deliver_batch(factory, cfg))
        worker.join(15)
        blocked = worker.is_alive()
    finally:
        holder.rollback()
        holder.close()
    worker.join(30)
    assert not blocked, "the worker waited for the endpoint's lock"
    assert "error" not in outcome, repr(outcome.get("error"))
    assert receiver.requests == []
    assert len(inbox.messages) == 2  # the confirmation and the notice
    with session_scope(factory) as session:
        [hook] = session.scalars(select(Delivery).where(Delivery.endpoint_id == endpoint_id)).all()
        assert (hook.status, hook.attempts) == ("pending", 0)
        later = hook.next_attempt_at
    stats = delivery.deliver_batch(factory, cfg, now=later)
    assert stats.delivered == 1 and len(receiver.requests) == 1


def test_a_subscription_deleted_while_a_worker_holds_its_delivery_is_removed_once_free(
        clean_database: Engine, settings: Settings) -> None:
    """The deletion does not wait for the held delivery: the subscription is marked deleted (its address blanked,
    every reader's "not found"); the worker's round removes it only once nobody holds its rows, without waiting
    either."""
    factory = make_sessionmaker(clean_database, settings)
    with session_scope(factory) as session:
        sub = notices.create(session, SubscriptionWrite.model_validate(sub_body()), settings)
        notices.confirm(session, sub.confirm_token, settings)
        sub_id, token = sub.id, sub.token
    holder = factory()  # a worker sending the confirmation: it holds the delivery's row
    try:
        [held] = holder.scalars(select(Delivery.id).with_for_update()).all()

        def unsubscribe() -> bool:
            with session_scope(factory) as session:
                return notices.unsubscribe(session, token)

        thread, outcome = _in_thread(unsubscribe)
        thread.join(15)
        assert not thread.is_alive(), "the unsubscribe waited for the worker"
        assert outcome == {"result": True}
        with session_scope(factory) as session:
            row = session.get(Subscription, sub_id)
            assert (row.status, row.email, row.confirm_token) == ("deleted", "", None)
            assert not notices.is_subscribed(session, token)
            assert notices.unsubscribe(session, token) is False  # a second click: already unsubscribed
        with session_scope(factory) as session:
            assert notices.purge_deleted(session) == 0  # still held: left for the next round
        assert _count(factory, Subscription, Subscription.id == sub_id) == 1
    finally:
        holder.rollback()
        holder.close()
    with session_scope(factory) as session:
        assert notices.purge_deleted(session) == 1
    assert _count(factory, Subscription, Subscription.id == sub_id) == 0
    assert _count(factory, Delivery, Delivery.id == held) == 0
