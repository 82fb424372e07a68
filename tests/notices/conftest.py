"""Fixtures of the notices tests: a real SMTP server (aiosmtpd) and a real HTTP webhook receiver, both on
loopback, a bare TCP listener that counts connections, host names of the test's making (``hosts``), plus
helpers to drive the outbox jobs inside the test's transaction."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from service.notices import jobs
from service.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler collecting every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []  # each accepted message's envelope recipients (RCPT TO)
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()
        self.recipients.clear()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Receiver:
    """A webhook receiver: records every request; answers with the queued status codes, then 204."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self, i: int) -> dict[str, Any]:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


class Listener:
    """A bare TCP port on loopback that only counts the connections it accepts (and closes them): shows
    whether the worker connected at all, whatever protocol it would have spoken."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    li = Listener()
    li.thread.start()
    yield li
    li.running = False
    li.thread.join()
    li.sock.close()


class Hosts:
    """Host names of the test's own making, like lines in /etc/hosts, answered by the system resolver
    (``socket.getaddrinfo``, which every client uses); other names resolve as usual. ``add(name, first,
    second)``: the first lookup answers ``first``, every later one ``second`` (a name that rebinds)."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: ANN001, ANN201, A002
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        n = self.lookups[name] = self.lookups.get(name, 0) + 1
        addresses = self.answers[name][min(n, len(self.answers[name])) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [info for a in addresses
                for info in self.real(a, port, family, type, proto, flags | socket.AI_NUMERICHOST)]


@pytest.fixture
def hosts(monkeypatch: pytest.MonkeyPatch) -> Hosts:
    h = Hosts(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", h.getaddrinfo)
    return h


@pytest.fixture
def mail_settings(settings: Settings, smtp) -> Settings:  # noqa: ANN001
    return settings.model_copy(update={"smtp_port": smtp[1], "public_url": "https://baustellen.example"})


@pytest.fixture
def factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions inside the test's transaction, for the delivery jobs (their commits release savepoints)."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def run_jobs(db: Session, factory, mail_settings: Settings) -> Callable[..., Any]:  # noqa: ANN001
    """Consume the outbox and deliver what is due, like one round of the worker."""

    def _run(**kwargs: Any) -> Any:
        jobs.process_events(db, mail_settings)
        db.flush()
        return jobs.deliver_batch(factory, mail_settings, **kwargs)

    return _run
