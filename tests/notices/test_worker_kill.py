"""Kill -9 the delivery worker in the middle of a batch, restart it, and show that every notice reached its
inbox: at-least-once, with the same Message-ID on the copy, so deduplicated by Message-ID every inbox has
each notice exactly once. The worker is a real subprocess on a committed database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from service.auth import service as auth
from service.kit.db import session_scope
from service.notices import mail
from service.notices import service as notices
from service.notices.models import Delivery
from service.notices.schemas import SubscriptionWrite
from service.requests import service as requests
from service.requests.schemas import RequestWrite
from service.settings import REPO_ROOT
from tests.conftest import site_body
from tests.notices.helpers import sub_body

CHUNK = 5
INBOXES = 30


def _wait(predicate, timeout: float = 90.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _start(settings, port: int) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "BAUSTELLEN_DATABASE_URL": settings.database_url, "BAUSTELLEN_SMTP_HOST": "127.0.0.1",
           "BAUSTELLEN_SMTP_PORT": str(port), "BAUSTELLEN_WORKER_POLL_SECONDS": "0.1"}
    return subprocess.Popen([sys.executable, "-m", "service.notices.jobs", "--chunk", str(CHUNK)], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killed_worker_loses_nothing_and_resends_with_the_same_message_id(clean_database, settings, smtp) -> None:
    inbox, port = smtp
    factory = sessionmaker(clean_database, expire_on_commit=False)
    with session_scope(factory) as session:
        org = auth.create_organisation(session, name="Stadt Essen", kind="city")
        key, _ = auth.create_key(session, org_id=org.id, role="submitter")
        principal = auth.Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter",
                                   key_id=key.id)
        for i in range(INBOXES):
            sub = notices.create(session, SubscriptionWrite.model_validate(sub_body(email=f"shop{i}@example.de")),
                                 settings)
            notices.confirm(session, sub.confirm_token, settings)
    with session_scope(factory) as session:  # the change: one outbox event, noticed by every inbox
        requests.create(session, principal, RequestWrite.model_validate(site_body()), settings)

    inbox.delay = 0.05  # a slow mail server, so the kill lands mid-batch
    worker = _start(settings, port)
    try:
        _wait(lambda: len(inbox.messages) >= 2 * CHUNK + 2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with session_scope(factory) as session:
        delivered_before_restart = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "delivered"))
        total = session.scalar(select(func.count()).select_from(Delivery))
    assert total == 2 * INBOXES  # a confirmation and the site notice per inbox
    assert delivered_before_restart < total  # the kill really interrupted the work

    inbox.delay = 0.0
    worker = _start(settings, port)
    try:
        def all_delivered() -> bool:
            with session_scope(factory) as session:
                return session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.status != "delivered")) == 0
        _wait(all_delivered)
    finally:
        worker.terminate()
        worker.wait(timeout=10)

    with session_scope(factory) as session:
        expected = {(d.inbox, mail.message_id(d.id, settings)) for d in session.scalars(select(Delivery))}
    received = Counter((m["To"], m["Message-ID"]) for m in inbox.messages)
    assert set(received) == expected  # nothing lost, nothing unexpected
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= CHUNK  # only the chunk in flight at the kill can be sent twice, with the same id
    per_inbox = Counter(to for to, _ in received)
    assert set(per_inbox.values()) == {2}  # deduplicated by Message-ID: each inbox got each notice once
