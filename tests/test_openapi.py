"""The OpenAPI document describes the errors as the API answers them (RFC 9457 problem details under
``application/problem+json``), the error responses each operation really gives, which operations need a key,
and is a structurally valid OpenAPI 3.1 document."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

from service.app import create_app
from service.kit.problems import PROBLEM_MEDIA_TYPE
from tests.conftest import site_body

PROBLEM_REF = "#/components/schemas/Problem"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return TestClient(create_app()).get("/openapi.json").json()  # the document needs no database


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
            if method in METHODS]


def problem_validator(spec: dict[str, Any]) -> Draft202012Validator:
    """The document's Problem schema, with the rest of the document to resolve references against."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    return Draft202012Validator({"$ref": "urn:openapi" + PROBLEM_REF}, registry=registry)


def test_every_error_response_is_a_problem(spec) -> None:  # noqa: ANN001
    documented_422 = 0
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            if status[0] not in "45":
                continue
            content = response.get("content", {})
            assert content.get(PROBLEM_MEDIA_TYPE, {}).get("schema") == {"$ref": PROBLEM_REF}, (method, path, status)
            if status == "422":
                documented_422 += 1
                assert "application/json" not in content, (method, path)
    assert documented_422 > 50
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    problem = schemas["Problem"]
    Draft202012Validator.check_schema(problem)
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert problem["additionalProperties"] is True
    item = problem["properties"]["errors"]["items"]
    assert set(item["properties"]) == {"field", "detail"} and item["additionalProperties"] is True


def test_real_problems_match_the_documented_schema(client, city, spec) -> None:  # noqa: ANN001
    validator = problem_validator(spec)
    invalid = client.post("/v1/requests", json=site_body(duration_days="60"), headers=city.headers)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM_MEDIA_TYPE
    validator.validate(invalid.json())
    assert invalid.json()["errors"][0]["field"] == "duration_days"
    assert "422" in spec["paths"]["/v1/requests"]["post"]["responses"]

    unauthorized = client.get("/v1/requests")
    assert unauthorized.status_code == 401
    validator.validate(unauthorized.json())
    not_json = client.post("/v1/requests", content=b"title=x", headers={**city.headers, "Content-Type": "text/plain"})
    assert not_json.status_code == 415 and "415" in spec["paths"]["/v1/requests"]["post"]["responses"]
    validator.validate(not_json.json())
    too_large = client.post("/v1/requests", content=b" " * (client.app.state.settings.max_body_bytes + 1),
                            headers={**city.headers, "Content-Type": "application/json"})
    assert too_large.status_code == 413 and "413" in spec["paths"]["/v1/requests"]["post"]["responses"]
    validator.validate(too_large.json())
    with pytest.raises(ValidationError):  # what FastAPI documented before is no problem
        validator.validate({"detail": [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}]})


def test_error_responses_the_endpoints_give(spec) -> None:  # noqa: ANN001
    paths = spec["paths"]
    patch = paths["/v1/requests/{request_id}"]["patch"]
    assert {"401", "403", "404", "412", "413", "415", "422", "428"} <= set(patch["responses"])
    if_match = next(p for p in patch["parameters"] if p["name"].lower() == "if-match")
    assert if_match["required"] is True  # refused with 428 without it

    delete = paths["/v1/requests/{request_id}"]["delete"]
    assert {"401", "403", "404", "412"} <= set(delete["responses"])
    assert "428" not in delete["responses"] and "413" not in delete["responses"]
    assert next(p for p in delete["parameters"] if p["name"].lower() == "if-match")["required"] is False

    for action in ("approve", "accept", "withdraw"):  # workflow steps read If-Match too
        assert {"404", "412", "413", "415"} <= set(paths[f"/v1/requests/{{request_id}}/{action}"]["post"]["responses"])
    assert "412" in paths["/v1/requests/{request_id}/slot/lock"]["post"]["responses"]

    listing = paths["/v1/requests"]["get"]["responses"]
    assert {"401", "403"} <= set(listing) and "404" not in listing and "412" not in listing
    form = paths["/v1/subscriptions/{token}/settings"]["post"]["responses"]  # a form body: 413, not 415
    assert "413" in form and "415" not in form and "401" not in form
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "503"}  # 503: the database cannot be reached
    busy = paths["/v1/requests/{request_id}/accept"]["post"]["responses"]["503"]  # gave up waiting for a lock
    assert busy["description"].startswith("Busy") and "Retry-After" in busy["headers"]
    assert "503" not in paths["/v1/reason-codes"]["get"]["responses"]  # no database session


def test_if_match_is_required_where_the_api_refuses_without_it(client, city, spec) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    url = f"/v1/requests/{created['id']}"
    assert client.patch(url, json={"title": "Neu"}, headers=city.headers).status_code == 428
    for path, method, op in operations(spec):
        for p in op.get("parameters", []):
            if p["name"].lower() == "if-match" and not p["required"]:
                assert "428" not in op["responses"], (method, path)
    assert client.delete(url, headers=city.headers).status_code == 200  # If-Match optional here


def _dummy(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    if schema.get("format") == "uuid":
        return str(uuid.UUID(int=0))
    if schema.get("type") == "integer":
        return "0"
    return "x"


def _url(path: str, op: dict[str, Any]) -> str:
    params = {p["name"]: _dummy(p) for p in op.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], path)


def test_security_says_which_operations_need_a_key(client, spec) -> None:  # noqa: ANN001
    """A required key answers 401 without one; an optional one (or none) answers without a key."""
    public = ["/ogc/collections", "/ogc/collections/{collection_id}", "/ogc/collections/{collection_id}/items",
              "/tiles/{layer}/{z}/{x}/{y}.mvt", "/map/config.json", "/map/timeline/{collection_id}/{rule_id}"]
    for path in public:
        assert spec["paths"][path]["get"]["security"] == [{}, {"HTTPBearer": []}], path
    assert client.get("/ogc/collections").status_code == 200
    assert client.get("/ogc/collections/sites/items").status_code == 200
    assert client.get("/tiles/sites/10/532/342.mvt").status_code == 200
    assert client.get("/map/config.json").status_code == 200

    required = optional = 0
    for path, method, op in operations(spec):
        answer = client.request(method.upper(), _url(path, op))
        security = op.get("security")
        if security and {} not in security:
            required += 1
            assert answer.status_code == 401, (method, path, answer.text)
            assert "401" in op["responses"] and "403" in op["responses"]
        else:
            optional += bool(security)
            assert answer.status_code not in (401, 500), (method, path, answer.text)
    assert required > 50 and optional >= 10


def test_document_is_structurally_valid(spec) -> None:  # noqa: ANN001
    """openapi-spec-validator is not a dependency: check what it would, as far as this document uses it."""
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    schemes = spec["components"]["securitySchemes"]
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)

    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"], ref

    operation_ids = []
    for path, method, op in operations(spec):
        operation_ids.append(op["operationId"])
        templated = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert templated == declared, (method, path)
        for p in op.get("parameters", []):
            assert p["in"] in ("path", "query", "header", "cookie") and "schema" in p, (method, path, p)
            assert p["in"] != "path" or p["required"] is True
        assert op["responses"], (method, path)
        for status, response in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", status), (method, path, status)
            assert isinstance(response.get("description"), str), (method, path, status)
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes), (method, path)
    assert len(operation_ids) == len(set(operation_ids))


# Operations that answer 409 (found from the services' `Problem(409, …)` / `conflict(…)`), each by what it refuses.
CONFLICTING = [
    ("post", "/v1/requests"), ("patch", "/v1/requests/{request_id}"), ("delete", "/v1/requests/{request_id}"),
    ("post", "/v1/organisations"),
    ("post", "/v1/requests/{request_id}/slot/lock"), ("post", "/v1/requests/{request_id}/slot/unlock"),
    *[("post", f"/v1/requests/{{request_id}}/{action}") for action in (
        "submit", "accept", "contest", "approve", "reject", "propose", "start", "complete", "withdraw", "revoke",
        "cancel")],
    ("post", "/v1/requests/{request_id}/changes"),
    *[("post", f"/v1/requests/{{request_id}}/changes/{{change_id}}/{step}")
      for step in ("approve", "reject", "withdraw")],
    *[(m, f"/v1/{rule}{suffix}") for rule in ("zones", "corridors", "moratoriums", "blackouts")
      for m, suffix in (("post", ""), ("patch", "/{rule_id}"))],
    ("get", "/v1/subscriptions/{ref}/calendar.ics"), ("get", "/v1/subscriptions/{ref}/feed.atom"),
]


def test_409_is_documented_where_the_api_answers_it(spec) -> None:  # noqa: ANN001
    for method, path in CONFLICTING:
        response = spec["paths"][path][method]["responses"].get("409")
        assert response is not None, (method, path)
        assert response["content"][PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": PROBLEM_REF}, (method, path)
        assert response["description"].startswith("Conflict"), (method, path)
    documented = {(m, p) for p, m, op in operations(spec) if "409" in op["responses"] and m != "head"}
    assert documented == set(CONFLICTING)  # and nowhere else
    assert "409" not in spec["paths"]["/v1/requests/import"]["post"]["responses"]  # refused per feature
    tile = spec["paths"]["/tiles/{layer}/{z}/{x}/{y}.mvt"]["get"]["responses"]
    assert tile["404"]["content"][PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": PROBLEM_REF}


def _documented_validator(spec: dict[str, Any], method: str, path: str, status: str) -> Draft202012Validator:
    """What a generated client does: the schema the document gives for this operation's answer."""
    schema = spec["paths"][path][method]["responses"][status]["content"][PROBLEM_MEDIA_TYPE]["schema"]
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    return Draft202012Validator({"$ref": "urn:openapi" + schema["$ref"]}, registry=registry)


def test_real_409_answers_match_their_documented_schema(client, city, coordinator, spec) -> None:  # noqa: ANN001
    def check(answer, method: str, path: str, status: str = "409") -> dict:  # noqa: ANN001
        assert answer.status_code == int(status), answer.text
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
        _documented_validator(spec, method, path, status).validate(answer.json())
        return answer.json()

    first = client.post("/v1/requests", json=site_body(external_id="EB-409"), headers=city.headers).json()
    dup = check(client.post("/v1/requests", json=site_body(external_id="EB-409"), headers=city.headers),
                "post", "/v1/requests")
    assert dup["existing_id"] == first["id"]
    url = f"/v1/requests/{first['id']}"
    check(client.post(url + "/accept", headers=city.headers), "post", "/v1/requests/{request_id}/accept")
    withdrawn = client.delete(url, headers=city.headers)
    assert withdrawn.status_code == 200
    check(client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": withdrawn.headers["etag"]}),
          "patch", "/v1/requests/{request_id}")
    zone = {"name": "Innenstadt", "capacity": 2, "geometry": {"type": "Polygon", "coordinates": [
        [[6.99, 51.43], [7.01, 51.43], [7.01, 51.45], [6.99, 51.45], [6.99, 51.43]]]}}
    assert client.post("/v1/zones", json=zone, headers=coordinator.headers).status_code == 201
    check(client.post("/v1/zones", json={**zone, "name": "INNENSTADT"}, headers=coordinator.headers),
          "post", "/v1/zones")
    check(client.get("/tiles/nope/14/8529/5461.mvt"), "get", "/tiles/{layer}/{z}/{x}/{y}.mvt", "404")


def _schema_validator(spec: dict[str, Any], name: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    return Draft202012Validator({"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_slot_and_the_unplaced_reason_are_typed(spec) -> None:  # noqa: ANN001
    schemas = spec["components"]["schemas"]
    read = schemas["RequestRead"]["properties"]
    assert {"$ref": "#/components/schemas/SlotRead"} in read["slot"]["anyOf"]
    assert {"$ref": "#/components/schemas/UnplacedRead"} in read["unplaced"]["anyOf"]
    slot = schemas["SlotRead"]
    assert {"start", "end", "status", "provisional", "explanation"} <= set(slot["required"])
    assert slot["properties"]["status"]["enum"] == ["proposed", "locked", "approved"]
    assert slot["properties"]["explanation"] == {"$ref": "#/components/schemas/SlotExplanation"}
    assert {"summary", "method", "deviation_days", "blockers"} <= set(schemas["SlotExplanation"]["properties"])
    unplaced = schemas["UnplacedRead"]
    assert {"reason", "blocking"} <= set(unplaced["required"])
    assert {"nearest_feasible", "detail_text", "blockers"} <= set(unplaced["properties"])


def test_real_slots_validate_against_the_documented_request(client, city, utility, coordinator, spec) -> None:  # noqa: ANN001
    """What a client generated from /openapi.json does with the slots the API really gives."""
    from tests.workflow.flow import create, d, ok

    validator = _schema_validator(spec, "RequestRead")
    seen: dict[str, int] = {"slot": 0, "unplaced": 0, "blockers": 0, "counter": 0}

    def check(rid: str, *callers) -> None:  # noqa: ANN002
        for caller in callers:
            got = client.get(f"/v1/requests/{rid}", headers=caller.headers).json()
            validator.validate(got)
            seen["slot"] += got["slot"] is not None
            seen["unplaced"] += got["unplaced"] is not None
            seen["blockers"] += bool(((got["slot"] or {}).get("explanation") or {}).get("blockers"))
            seen["counter"] += "counter_proposal" in (got["slot"] or {})

    tight = {"earliest_start": d(0), "latest_end": d(9), "duration_days": 10}
    first = create(client, city, **tight)["id"]
    second = create(client, utility, **tight)["id"]  # the same street and days: no slot left
    third = create(client, utility, earliest_start=d(0), latest_end=d(40), preferred_start=d(0))["id"]  # moved
    for rid in (first, second, third):
        check(rid, city, utility, coordinator)
    contested = create(client, city, earliest_start=d(60), latest_end=d(120))["id"]
    ok(client, coordinator, contested, "propose", {"start": d(60)})
    ok(client, city, contested, "contest", {"reason": "Schulferien", "counter_proposal": {
        "earliest_start": d(80), "latest_end": d(110)}})
    check(contested, city, utility, coordinator)
    assert seen["slot"] and seen["unplaced"] and seen["blockers"] and seen["counter"], seen
    with pytest.raises(ValidationError):  # the schema does say something
        validator.validate({**client.get(f"/v1/requests/{first}", headers=city.headers).json(),
                            "slot": {"start": d(0), "end": d(9), "status": "maybe", "provisional": True,
                                     "explanation": {}}})


def _allows_null(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or {"type": "null"} in prop.get("anyOf", [])


def test_the_patch_schema_says_which_fields_may_be_null(client, city, spec) -> None:  # noqa: ANN001
    """A client generated from the document sends null only where the server takes it."""
    props = spec["components"]["schemas"]["RequestPatch"]["properties"]
    nullable = {name for name, prop in props.items() if _allows_null(prop)}
    assert nullable == {"preferred_start", "external_id", "contact", "after"}
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    url, etag = created.headers["location"], created.headers["etag"]
    for name in props:
        r = client.patch(url, json={name: None}, headers={**city.headers, "If-Match": etag})
        if name in nullable:
            assert r.status_code == 200, (name, r.text)
            etag = r.headers["etag"]
        else:  # the same 422 as before
            assert r.status_code == 422, (name, r.text)
            assert r.json()["errors"][0]["field"] == name and "may not be null" in r.json()["errors"][0]["detail"]
            assert props[name].get("default", "absent") == "absent", name  # no `default: null` either
