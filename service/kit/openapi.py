"""The OpenAPI document as the API answers, in one step after FastAPI has generated it.

FastAPI documents every 422 as its own ``HTTPValidationError`` (``application/json``, ``{"detail": [...]}``), lists
none of the other errors and marks every operation that reads a bearer key as needing one. This API answers
every error as RFC 9457 problem details (``service.kit.problems``) and its public endpoints show more to callers
with a key. :func:`describe_errors` rewrites the generated document accordingly:

- a ``Problem`` schema (``type``, ``title``, ``status``, ``detail``, ``instance``, ``errors[{field, detail}]``,
  further members allowed) under ``application/problem+json`` for every error response;
- 401 and 403 where an operation reads an API key, 404 where its path names something by id, 412 where it
  reads ``If-Match`` (428 and the header required where it is refused without one; 400 where a malformed one is
  refused), 409 where it can refuse a call for the state of what it names (:data:`CONFLICT_RESPONSES`), 413
  where it takes a body, 415 where that body is JSON; 404 also on ``/tiles`` (an unknown layer or tile); 503
  ``busy`` (with ``Retry-After``) where it runs on a database session (``kit.db.get_session``): the call gave up
  waiting for a lock another job holds (``kit.problems.busy``) or for a connection of the pool
  (``kit.problems.pool_busy``);
- ``security: [{}, {"HTTPBearer": []}]`` (a key is optional) where the operation answers without one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI

from service.kit.problems import PROBLEM_MEDIA_TYPE, app_routes

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `errors[].field` names each field that is wrong, as a dotted path "
                   "(`geometry`, `features[1].properties.duration_days`); some problems add members of their own "
                   "(e.g. `conflicts`, `rule_conflicts`, `report`).",
    "properties": {
        "type": {"type": "string", "format": "uri-reference",
                 "description": "`about:blank` or `https://baustellen.ruhr/problems/<kind>`"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri-reference", "description": "the path that was called"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
                "required": ["field", "detail"],
                "additionalProperties": True,
            },
        },
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
}

# Operations that refuse a call without If-Match (428) rather than changing blindly: a PATCH of a request
# (``service.requests.service.update``). Every other If-Match is optional (412 only when it is sent and stale).
IF_MATCH_REQUIRED = {("patch", "/v1/requests/{request_id}")}

# Operations that answer 409 (``application/problem+json``), by what they refuse. Found in the services: every
# ``Problem(409, …)`` / ``conflict(…)`` and the problem types raised with it (``duplicate-external-id``,
# ``illegal-transition``, ``slot-conflict``, ``rule-conflict``, ``precedence``, ``invalid-precedence``,
# ``change-decided``, ``no-slot``, ``subscription-pending``, ``conflict``). tests/test_openapi.py checks the list.
_R = "/v1/requests/{request_id}"
_STATE = ("Conflict: not possible in the request's current state (`illegal-transition`, with `allowed`: the steps "
          "possible now)")
_SLOT = ("; or the slot clashes with approved or locked slots (`slot-conflict`, naming them), lies in a blackout or "
         "moratorium (`rule-conflict`, `rule_conflicts`) or breaks a precedence (`precedence`)")
_CHANGE = "Conflict: the change was decided already (`change-decided`) or the request's state no longer allows it"
_RULE_NAME = ("Conflict: a rule of this kind has this name already (compared regardless of case; `errors[].field`: "
              "`name`)")
CONFLICT_RESPONSES: dict[tuple[str, str], str] = {
    ("post", "/v1/organisations"): "Conflict: an organisation with this name exists already",
    ("post", "/v1/requests"): "Conflict: your organisation already used this `external_id` (`duplicate-external-id`; "
                              "`existing_id` names the request stored under it)",
    ("patch", _R): "Conflict: the request's state does not allow editing (e.g. withdrawn), or the `external_id` is "
                   "used by another request of your organisation (`duplicate-external-id`, with `existing_id`)",
    ("delete", _R): "Conflict: active or completed works cannot be withdrawn",
    ("post", _R + "/slot/lock"): "Conflict: the request has no slot to lock, or its slot is approved" + _SLOT,
    ("post", _R + "/slot/unlock"): "Conflict: the request has no slot to unlock, or its slot is approved",
    **{("post", f"{_R}/{action}"): _STATE for action in (
        "submit", "accept", "contest", "reject", "start", "complete", "withdraw", "revoke", "cancel")},
    ("post", _R + "/propose"): _STATE + _SLOT,
    ("post", _R + "/approve"): _STATE + "; no slot to approve, or one in the past" + _SLOT + " (unless `override`)",
    ("post", _R + "/changes"): "Conflict: changes need an approved or active request, a change is pending already, "
                               "or no slot fits the changed works (`no-slot`)",
    ("post", _R + "/changes/{change_id}/approve"): _CHANGE + "; no slot fits it (`no-slot`), its precedences no longer "
                                                   "hold (`invalid-precedence`)" + _SLOT + " (unless `override`)",
    ("post", _R + "/changes/{change_id}/reject"): _CHANGE,
    ("post", _R + "/changes/{change_id}/withdraw"): _CHANGE,
    **{("post", f"/v1/{rule}"): _RULE_NAME for rule in ("zones", "corridors", "moratoriums", "blackouts")},
    **{("patch", f"/v1/{rule}/{{rule_id}}"): _RULE_NAME for rule in ("zones", "corridors", "moratoriums", "blackouts")},
    ("get", "/v1/subscriptions/{ref}/calendar.ics"): "Conflict: the subscription is not confirmed yet "
                                                     "(`subscription-pending`)",
    ("get", "/v1/subscriptions/{ref}/feed.atom"): "Conflict: the subscription is not confirmed yet "
                                                  "(`subscription-pending`)",
}

AUTH_SCHEME = "HTTPBearer"
_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}

DESCRIPTIONS = {
    "401": "Unauthorized: no API key, or one that is unknown or revoked",
    "401-optional": "Unauthorized: the API key sent is unknown or revoked (without a key the call answers as public)",
    "403": "Forbidden: the API key may not do this (its role or organisation), or holds a role its organisation may "
           "not hold (`key-role-not-allowed`)",
    "404": "Not found, or not visible to you",
    "400": "Bad request: `If-Match` is no entity tag (`v2` or `garbage` instead of `\"v2\"`, the ETag with its "
           "quotes); `errors[].field` names `If-Match`",
    "412": "Precondition failed: `If-Match` names none of the current ETags (it compares strongly: a weak tag never "
           "matches)",
    "428": "Precondition required: send `If-Match` with the ETag from GET",
    "413": "Payload too large: the body exceeds the configured limit (also when sent chunked)",
    "415": "Unsupported media type: the body must be JSON (`Content-Type: application/json`), sent without a "
           "content coding (`Content-Encoding: gzip` is refused; `Accept-Encoding: identity` says so)",
    "422": "Invalid input: `errors[].field` names each field that is wrong",
    "503": "Busy: another job (e.g. a plan run) holds what this call would change for longer than the API waits "
           "(`BAUSTELLEN_API_LOCK_TIMEOUT_MS`), or every database connection of the API stayed in use "
           "(`BAUSTELLEN_DB_POOL_TIMEOUT_S`); nothing was changed. `Retry-After` says in how many seconds to try "
           "again",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


def install_openapi(app: FastAPI, key_required_by: Callable[..., Any]) -> None:
    """Serve the corrected document at ``/openapi.json`` (and ``/docs``), generated once. ``key_required_by`` is
    the dependency that refuses a call without a key: operations that read a key without it are public."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_errors(generate(), app, key_required_by)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in getattr(dependant, "dependencies", None) or []:
        yield dep.call
        yield from _calls(dep)


def _depends_on(app: FastAPI, call: Callable[..., Any]) -> dict[tuple[str, str], bool]:
    """(method, path) → whether ``call`` is among the operation's dependencies."""
    depends: dict[tuple[str, str], bool] = {}
    for route in app_routes(app):
        dependant = getattr(route, "dependant", None)
        path = getattr(route, "path_format", None)
        if dependant is None or path is None:
            continue
        found = call in set(_calls(dependant))
        for method in getattr(route, "methods", None) or ():
            depends[(method.lower(), path)] = found
    return depends


def _key_required(app: FastAPI, key_required_by: Callable[..., Any]) -> dict[tuple[str, str], bool]:
    """(method, path) → whether the operation refuses a call without a key (``key_required_by`` is among its
    dependencies) rather than answering it as public."""
    return _depends_on(app, key_required_by)


def _id_like(name: str) -> bool:
    return name == "id" or name.endswith("_id") or name == "ref"


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def _add(responses: dict[str, Any], status: str, description: str, **extra: Any) -> None:
    """Document ``status`` unless the endpoint did (its own description stays; the content gets added below)."""
    if status not in responses:
        responses[status] = {**_problem_response(description), **extra}


def describe_errors(schema: dict[str, Any], app: FastAPI, key_required_by: Callable[..., Any]) -> dict[str, Any]:
    from service.kit.db import get_session

    key_required = _key_required(app, key_required_by)
    on_session = _depends_on(app, get_session)
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses: dict[str, Any] = op["responses"]
            params = op.get("parameters", [])
            if "422" in responses:
                responses["422"] = _problem_response(DESCRIPTIONS["422"])
            if op.get("security"):
                if not key_required.get((method, path), True):
                    op["security"] = [{}, {AUTH_SCHEME: []}]
                    _add(responses, "401", DESCRIPTIONS["401-optional"], headers=_WWW_AUTHENTICATE)
                else:
                    _add(responses, "401", DESCRIPTIONS["401"], headers=_WWW_AUTHENTICATE)
                _add(responses, "403", DESCRIPTIONS["403"])
            if any(p.get("in") == "path" and _id_like(p.get("name", "")) for p in params) or path.startswith("/tiles/"):
                _add(responses, "404", DESCRIPTIONS["404"])  # a tile: an unknown layer or a tile outside its zoom
            conflict_doc = CONFLICT_RESPONSES.get(("get" if method == "head" else method, path))
            if conflict_doc:
                _add(responses, "409", conflict_doc)
            if_match = [p for p in params if p.get("in") == "header" and p.get("name", "").lower() == "if-match"]
            if if_match:
                _add(responses, "412", DESCRIPTIONS["412"])
                if path.startswith("/v1/requests/"):  # service.requests.service.check_if_match
                    _add(responses, "400", DESCRIPTIONS["400"])
                if (method, path) in IF_MATCH_REQUIRED:
                    for p in if_match:
                        p["required"] = True
                        p["schema"] = {"type": "string", "title": "If-Match"}
                    _add(responses, "428", DESCRIPTIONS["428"])
            if on_session.get((method, path)):
                _add(responses, "503", DESCRIPTIONS["503"], headers=_RETRY_AFTER)
            body = op.get("requestBody")
            if body:
                _add(responses, "413", DESCRIPTIONS["413"])
                if any(m == "application/json" or m.endswith("+json") for m in body.get("content", {})):
                    _add(responses, "415", DESCRIPTIONS["415"])
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    content = response.setdefault("content", {})
                    content.setdefault(PROBLEM_MEDIA_TYPE, {"schema": PROBLEM_REF})
            op["responses"] = dict(sorted(responses.items()))
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    _drop_unused(schemas, schema, ("HTTPValidationError", "ValidationError"))
    return schema


def _drop_unused(schemas: dict[str, Any], schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove FastAPI's validation error schemas once nothing refers to them (operations and ``webhooks``)."""
    for name in names:
        if name in schemas:
            others = {k: v for k, v in schemas.items() if k != name}
            text = json.dumps({"paths": schema.get("paths", {}), "webhooks": schema.get("webhooks", {}),
                               "schemas": others})
            if f'"#/components/schemas/{name}"' not in text:
                del schemas[name]
