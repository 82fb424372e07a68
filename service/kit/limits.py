"""Checks on the raw body before any endpoint sees it.

- Oversized bodies get 413, whether or not the client sent ``Content-Length`` (a chunked body is counted
  as it arrives and refused as soon as it passes the limit).
- JSON bodies whose strings (or keys) hold control characters get 422 naming the field: PostgreSQL cannot
  store U+0000 in text or JSONB, and no field of this API has a use for the other C0 controls besides tab,
  line feed and carriage return, for DEL (U+007F) or for the C1 controls (U+0080 to U+009F).
- JSON nested too deeply to parse gets 422 on ``body``, as from the endpoints' parser (``service.kit.problems``).
- JSON bodies that are not UTF-8 (UTF-16, UTF-32, Latin-1) or start with a byte order mark get 422 on ``body``
  (RFC 8259, section 8.1).
- Bodies sent with a content coding (``Content-Encoding: gzip``, ``br``, …) get 415 with ``Accept-Encoding:
  identity`` (RFC 9110, section 15.5.16): the API reads bodies as sent, and decoding them here would let a few
  kilobytes of gzip unpack to far more than the body limit.

The body is read here once (bounded by the limit) and replayed to the application.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kit.problems import JSON_TOO_DEEP, InvalidField, Problem

# A control character in JSON text: a C0 control, DEL or a C1 control escaped (\u0000 to \u001f, \u007f to
# \u009f), or DEL or a C1 control written raw in UTF-8 (raw C0 controls are invalid JSON: left to the parser).
_CONTROL_IN_JSON = re.compile(rb"\\u00(?:[0189][0-9a-fA-F]|7[fF])|\x7f|\xc2[\x80-\x9f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def has_control_character(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, line feed and carriage return. Such a value
    can name nothing stored here (and PostgreSQL refuses U+0000 in a text parameter)."""
    return _CONTROL.search(text) is not None


def control_character_path(value: Any) -> str | None:
    """The dotted path (``features[0].properties.title``) of the first string (or key) holding a control
    character. Iterative: a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _CONTROL.search(item):
                return path or "body"
        elif isinstance(item, dict):
            children = []
            for key, sub in item.items():
                sub_path = f"{path}.{key}" if path else str(key)
                if _CONTROL.search(str(key)):
                    return sub_path
                children.append((sub, sub_path))
            stack.extend(reversed(children))  # first key first
        elif isinstance(item, list):
            stack.extend(reversed([(sub, f"{path}[{i}]") for i, sub in enumerate(item)]))
    return None


def _not_utf8(body: bytes) -> Problem | None:
    """JSON exchanged between systems is UTF-8 without a byte order mark (RFC 8259, section 8.1). Python's
    parser would guess UTF-16 or UTF-32 and skip a BOM; this API takes neither."""
    if body.startswith(b"\xef\xbb\xbf"):
        return InvalidField("body", "is not valid JSON: starts with a byte order mark; send UTF-8 without one")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InvalidField("body", f"is not valid JSON: not UTF-8 text (byte {exc.start})")
    return None


def _content_coding(scope: Scope) -> str | None:
    """The content coding a request's body was sent with (``gzip``), or None for none or ``identity``."""
    codings = [c.strip().lower() for name, value in scope.get("headers") or [] if name == b"content-encoding"
               for c in value.decode("latin-1").split(",")]
    coded = [c for c in codings if c and c != "identity"]
    return ", ".join(coded) if coded else None


def _coded_body(coding: str) -> Problem:
    return Problem(415, "Unsupported Media Type",
                   f"Content codings are not accepted (got Content-Encoding: {coding[:40]}); send the body as it is, "
                   f"without a Content-Encoding header.", type_="unsupported-content-encoding",
                   headers={"Accept-Encoding": "identity"})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # FastAPI parses a body without a content type as JSON


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _send_problem(scope, send, self._too_large())
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await _send_problem(scope, send, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        coding = _content_coding(scope) if body else None
        if coding is not None:
            await _send_problem(scope, send, _coded_body(coding))
            return
        if body and _is_json(scope):
            problem = _not_utf8(body)
            if problem is not None:
                await _send_problem(scope, send, problem)
                return
        if _CONTROL_IN_JSON.search(body) and _is_json(scope):
            try:
                path = control_character_path(json.loads(body))
            except RecursionError:
                await _send_problem(scope, send, InvalidField("body", JSON_TOO_DEEP))
                return
            except ValueError:
                path = None  # not JSON after all: the endpoint's parser reports it
            if path:
                await _send_problem(scope, send, InvalidField(path, "contains a control character (such as U+0000); "
                                                             "remove it"))
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    def _too_large(self) -> Problem:
        return Problem(413, "Payload too large", f"The body is larger than {self.max_bytes} bytes.",
                       type_="body-too-large")


async def _send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body(instance=scope.get("path"))).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (problem.headers or {}).items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
