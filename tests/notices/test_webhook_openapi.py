"""The signed webhook deliveries are in /openapi.json (OpenAPI 3.1 ``webhooks``): their payload schema, their
headers and what the receiver's answers mean; payloads delivered for real match the documented schema exactly
(every member they carry is documented, every required one is there, each of the documented type)."""

from __future__ import annotations

import copy
import re
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from standardwebhooks import Webhook

from service.notices import render
from service.notices.schemas import WEBHOOK_NOTICE_KINDS
from tests.conftest import site_body
from tests.notices.helpers import subscribe
from tests.workflow.flow import approved, ok

METHODS = ("get", "put", "post", "delete", "patch")


def _notice_webhook(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["webhooks"]["notice"]["post"]


def _closed(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with every object schema closed (``additionalProperties: false``): a member the document does
    not name fails validation."""
    closed = copy.deepcopy(spec)
    for schema in closed["components"]["schemas"].values():
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return closed


def _body_validator(spec: dict[str, Any]) -> Draft202012Validator:
    ref = _notice_webhook(spec)["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**_closed(spec), "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    return Draft202012Validator({"$ref": "urn:openapi" + ref}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_document_describes_the_webhook(client) -> None:  # noqa: ANN001
    spec = client.get("/openapi.json").json()
    op = _notice_webhook(spec)
    assert op["requestBody"]["required"] is True
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookNotice"}
    headers = {p["name"]: p for p in op["parameters"]}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(p["in"] == "header" and p["required"] for p in headers.values())
    assert headers["webhook-timestamp"]["schema"]["type"] == "integer"
    signature = headers["webhook-signature"]["description"]
    assert "v1," in signature and "whsec_" in signature and "HMAC-SHA256" in signature
    assert set(op["responses"]) == {"200", "default"}
    assert "2xx" in op["responses"]["200"]["description"]
    assert "retried" in op["responses"]["default"]["description"]
    description = " ".join(op["description"].split())
    for words in ("after 30 s, then doubling", "6 hours", "10 seconds", "failed for 3 days", "same `webhook-id`",
                  "in the order"):
        assert words in description, words
    schemas = spec["components"]["schemas"]
    for name in ("WebhookNotice", "WebhookNoticeData", "WebhookSite"):
        Draft202012Validator.check_schema(schemas[name])
    assert set(schemas["WebhookNoticeData"]["properties"]["kind"]["enum"]) == set(WEBHOOK_NOTICE_KINDS) == {
        *render.HEADLINES, render.SITE_LEFT}
    assert "HTTPValidationError" not in schemas  # nothing of FastAPI's 422 came in with the webhook
    paths = {path for path, item in spec["paths"].items() for m in item if m in METHODS}
    assert not any("notice" == p.strip("/") for p in paths)  # documented as a webhook, not as an operation


def test_delivered_payloads_match_the_documented_schema(client, db, city, coordinator, receiver,
                                                        run_jobs) -> None:  # noqa: ANN001
    spec = client.get("/openapi.json").json()
    validator = _body_validator(spec)
    sub = subscribe(client, db, webhooks=[receiver.url])
    secret = client.get(f"/v1/subscriptions/{sub.token}").json()["webhooks"][0]["secret"]
    rid = approved(client, city, coordinator)["id"]  # new, approved
    run_jobs()
    change = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 15, "reason": "Mehr Leitungen"},
                         headers=city.headers)
    assert change.status_code == 201, change.text
    ok(client, coordinator, rid, f"changes/{change.json()['id']}/approve", {})  # extended: `change`, `previous`
    other = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()
    etag = client.get(f"/v1/requests/{other['id']}", headers=city.headers).headers["etag"]
    assert client.patch(f"/v1/requests/{other['id']}", json={"preferred_start": "2027-05-01"},
                        headers={**city.headers, "If-Match": etag}).status_code == 200  # `previous`, `changed`
    ok(client, city, rid, "withdraw")  # the cancellation of a site the subscriber was told of
    run_jobs()

    kinds = []
    for i, request in enumerate(receiver.requests):
        payload = receiver.json(i)
        errors = sorted(validator.iter_errors(payload), key=str)
        assert not errors, (payload["type"], [f"{list(e.absolute_path)}: {e.message}" for e in errors])
        headers = request["headers"]
        assert re.fullmatch(r"msg_[0-9a-f]{32}", headers["webhook-id"])
        assert re.fullmatch(r"\d+", headers["webhook-timestamp"])
        assert re.fullmatch(r"(v1,[A-Za-z0-9+/=]+)( v1,[A-Za-z0-9+/=]+)*", headers["webhook-signature"])
        assert headers["content-type"] == "application/json"
        Webhook(secret).verify(request["body"], headers)  # as the document says a receiver checks it
        assert payload["type"] == f"notice.{payload['data']['kind']}"
        kinds.append(payload["data"]["kind"])
    assert {"request.created", "request.approved", "change.approved", "request.updated",
            "request.withdrawn"} <= set(kinds), kinds
    sites = [receiver.json(i)["data"]["site"] for i in range(len(receiver.requests))]
    assert any("change" in s and s["change"] for s in sites)  # the optional parts were there and checked too
    assert any("previous" in s and "changed" in s for s in sites)
    assert all("affected" in s for s in sites)
