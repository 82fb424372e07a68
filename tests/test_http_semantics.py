"""HTTP semantics across the API: a 405 names in ``Allow`` every method of the resource (RFC 9110 §15.5.6),
not only the first route's, as problem details; HEAD is answered wherever GET is (RFC 9110 §9.3.2)."""

from __future__ import annotations

import re
import uuid

from service.kit.problems import PROBLEM_MEDIA_TYPE
from tests.conftest import site_body

ZERO = str(uuid.UUID(int=0))


def allow(response) -> set[str]:  # noqa: ANN001
    return {m.strip() for m in response.headers["allow"].split(",")}


def test_405_names_every_method_of_the_resource(client) -> None:  # noqa: ANN001
    put = client.put(f"/v1/requests/{ZERO}", json={})
    assert put.status_code == 405
    assert allow(put) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert put.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = put.json()
    assert body["status"] == 405 and body["instance"] == f"/v1/requests/{ZERO}"
    assert "GET, HEAD, PATCH, DELETE" in body["detail"]

    for method in ("OPTIONS", "PUT", "TRACE"):
        refused = client.request(method, "/v1/requests")
        assert refused.status_code == 405, method
        assert allow(refused) == {"GET", "HEAD", "POST"}, method
    assert allow(client.put("/v1/zones/x")) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert allow(client.post("/healthz")) == {"GET", "HEAD"}
    assert allow(client.delete("/ogc/collections")) == {"GET", "HEAD"}
    assert allow(client.post("/map/config.json")) == {"GET", "HEAD"}  # behind it: the map page's files
    assert allow(client.post("/map/index.html")) == {"GET", "HEAD"}


def test_head_is_answered_wherever_get_is(client, city) -> None:  # noqa: ANN001
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    get = client.get("/v1/requests", headers=city.headers)
    head = client.head("/v1/requests", headers=city.headers)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length"):
        assert head.headers[name] == get.headers[name], name
    assert client.head("/v1/requests").status_code == 401  # as the GET: no key, no list
    assert client.head("/map/config.json").status_code == 200  # not the map page's files: the GET route
    assert client.head("/healthz").status_code == 200  # a route of its own (kit.head) still answers

    post_only = client.head("/v1/plans")  # no GET: no HEAD either
    assert post_only.status_code == 405 and allow(post_only) == {"POST"}


def test_every_method_in_allow_is_answered(client) -> None:  # noqa: ANN001
    """Each method an Allow header names reaches an endpoint (no 405), for every path of the document."""
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        params = {p["name"]: ZERO if p.get("schema", {}).get("format") == "uuid" else "0"
                  for op in item.values() for p in op.get("parameters", []) if p["in"] == "path"}
        url = re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], path)  # noqa: B023
        refused = client.put(url)
        assert refused.status_code == 405, path
        named = allow(refused)
        assert {m.upper() for m in item} <= named, path
        for method in named - {"OPTIONS"}:
            assert client.request(method, url).status_code != 405, (method, path)


def test_feed_options_and_405_unchanged(client) -> None:  # noqa: ANN001
    preflight = client.options("/feeds/wzdx.geojson", headers={"Origin": "https://example.org",
                                                                "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204 and allow(preflight) == {"GET", "HEAD", "OPTIONS"}
    assert preflight.headers["access-control-allow-origin"] == "*"
    refused = client.post("/feeds/wzdx.geojson")
    assert refused.status_code == 405 and allow(refused) == {"GET", "HEAD", "OPTIONS"}
    assert client.head("/feeds/wzdx.geojson").status_code == 200
