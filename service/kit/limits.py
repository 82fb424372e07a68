"""Checks on the raw body before any endpoint sees it.

- Oversized bodies get 413, whether or not the client sent ``Content-Length`` (a chunked body is counted
  as it arrives and refused as soon as it passes the limit).
- JSON bodies whose strings (or keys) hold control characters get 422 naming the field: PostgreSQL cannot
  store U+0000 in text or JSONB, and no field of this API has a use for the other C0 controls besides tab,
  line feed and carriage return.

The body is read here once (bounded by the limit) and replayed to the application.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kit.problems import InvalidField, Problem

# An escaped C0 control in JSON text (raw ones are invalid JSON and left to the parser).
_ESCAPED_CONTROL = re.compile(rb"\\u00[01][0-9a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def control_character_path(value: Any, path: str = "") -> str | None:
    """The dotted path (``features[0].properties.title``) of the first string holding a control character."""
    if isinstance(value, str):
        return (path or "body") if _CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if _CONTROL.search(str(key)):
                return sub
            found = control_character_path(item, sub)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = control_character_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


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
            await _send_problem(send, self._too_large())
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
                await _send_problem(send, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _ESCAPED_CONTROL.search(body) and _is_json(scope):
            try:
                path = control_character_path(json.loads(body))
            except ValueError:
                path = None  # not JSON after all: the endpoint's parser reports it
            if path:
                await _send_problem(send, InvalidField(path, "contains a control character (such as U+0000); "
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


async def _send_problem(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body()).encode()
    await send({"type": "http.response.start", "status": problem.status, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
