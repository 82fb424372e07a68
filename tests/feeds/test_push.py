"""DATEX II push: delivered to a real HTTP receiver on 127.0.0.1, retried with exponential backoff."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import sessionmaker

from service.feeds import jobs, service
from service.feeds.models import FeedPushState
from tests.feeds.validators import assert_datex_valid


class Receiver:
    """A real HTTP server that records POSTs and answers with the queued status codes (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/datex/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [service.backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [
        30, 60, 120, 240, 3600, 3600]


def test_push_delivers_on_change_and_retries_after_backoff(db, settings, make_site, city, receiver) -> None:  # noqa: ANN001
    push_settings = settings.model_copy(update={"datex_push_url": receiver.url})
    req = make_site(city)
    t0 = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    receiver.answers = [503]
    with httpx.Client(timeout=10) as http:
        assert service.push_datex(db, push_settings, client=http, now=t0, base_delay=30) == "failed"
        assert len(receiver.received) == 1
        state = db.get(FeedPushState, "datex2")
        assert state.attempts == 1 and state.last_status == 503
        assert state.next_attempt_at == t0 + timedelta(seconds=30)

        # Within the backoff nothing is sent; after it, the retry is delivered.
        assert service.push_datex(db, push_settings, client=http, now=t0 + timedelta(seconds=10)) == "waiting"
        assert len(receiver.received) == 1
        assert service.push_datex(db, push_settings, client=http, now=t0 + timedelta(seconds=31)) == "delivered"
        headers, body = receiver.received[-1]
        assert headers["Content-Type"].startswith("application/xml")
        assert headers["Link"] == '<https://www.govdata.de/dl-de/by-2-0>; rel="license"'
        doc = assert_datex_valid(body)
        assert str(req.id) in body.decode() and doc.find("{*}informationManagement") is None
        assert db.get(FeedPushState, "datex2").attempts == 0

        # Nothing changed: nothing sent.
        assert service.push_datex(db, push_settings, client=http, now=t0 + timedelta(minutes=5)) == "unchanged"
        assert len(receiver.received) == 2

        # A withdrawal is a change: the cancellation is pushed.
        req.status = "withdrawn"
        db.flush()
        assert service.push_datex(db, push_settings, client=http, now=t0 + timedelta(minutes=6)) == "delivered"
        cancelled = receiver.received[-1][1].decode()
        assert f'id="{req.id}_works"' in cancelled and "<inf:managementStatus>cancelled<" in cancelled


def test_an_unreachable_receiver_is_a_failure_not_a_crash(db, settings, make_site, city) -> None:  # noqa: ANN001
    with Receiver() as closed:
        url = closed.url
    make_site(city)
    push_settings = settings.model_copy(update={"datex_push_url": url})
    with httpx.Client(timeout=5) as http:
        assert service.push_datex(db, push_settings, client=http) == "failed"
    assert db.get(FeedPushState, "datex2").last_error.startswith("ConnectError")
    assert service.push_datex(db, settings, client=httpx.Client()) == "disabled"


def test_the_worker_job_syncs_and_pushes(connection, settings, make_site, city, receiver) -> None:  # noqa: ANN001
    from service.worker import WorkerContext

    make_site(city)
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    context = WorkerContext(settings=settings.model_copy(update={"datex_push_url": receiver.url}),
                            sessionmaker=factory)
    scheduler = BackgroundScheduler()
    jobs.register(scheduler, context)
    assert [job.id for job in scheduler.get_jobs()] == ["feeds.sync_and_push"]
    assert jobs.run_once(context) == "delivered"
    assert len(receiver.received) == 1
    assert jobs.run_once(context) == "unchanged"
