"""HTTP semantics across the API: a 405 names in ``Allow`` every method of the resource (RFC 9110 §15.5.6),
not only the first route's, as problem details; HEAD is answered wherever GET is (RFC 9110 §9.3.2); an exhausted
connection pool is 503 ``busy``; a body with a content coding is 415; ``GET /v1/requests/{id}`` answers 304 to
``If-None-Match``; CORS for ``BAUSTELLEN_CORS_ORIGINS``, the feeds open to every origin."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from service.app import create_app
from service.kit.db import get_session, session_scope
from service.kit.problems import PROBLEM_MEDIA_TYPE
from service.settings import Settings
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

    post_only = client.head(f"/v1/requests/{uuid.uuid4()}/withdraw")  # no GET: no HEAD either
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


# --- 503 busy when the API's connection pool stays exhausted --------------------------------------------------------


def test_a_call_finding_every_pooled_connection_in_use_answers_503_busy_quickly(settings: Settings) -> None:
    """SQLAlchemy's pool timeout (``TimeoutError``) answered 500 "unexpected error" after the pool's default 30 s:
    it is the API being busy, as a lock timeout is, and says when to try again."""
    cfg = settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout_s": 0.5})
    with TestClient(create_app(cfg)) as client:
        engine: Engine = client.app.state.engine
        pool = engine.pool
        assert isinstance(pool, QueuePool) and pool.timeout() == 0.5
        held = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # the whole pool and its overflow
        try:
            t0 = time.monotonic()
            answers = [client.get("/v1/requests", headers={"Authorization": "Bearer bst_00000000_unknown"}),
                       client.get("/feeds/wzdx.geojson")]  # public, on a session all the same
            waited = time.monotonic() - t0
        finally:
            for conn in held:
                conn.close()
        for r in answers:
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE and int(r.headers["retry-after"]) > 0
            problem = r.json()
            assert problem["type"].endswith("/busy") and problem["title"] == "Busy"
            assert "nothing was changed" in problem["detail"]
        assert waited < 3, waited  # two calls of about 0.5 s each
        assert client.get("/feeds/wzdx.geojson").status_code == 200  # free again: answered as usual


def test_the_api_pool_timeout_is_a_few_seconds_by_default() -> None:
    assert 1 <= Settings().db_pool_timeout_s <= 10


# --- request bodies with a content coding ---------------------------------------------------------------------------


def test_a_body_with_a_content_coding_answers_415_naming_it(client, city) -> None:  # noqa: ANN001
    """A gzip body answered 422 "not UTF-8 text" (it was read as JSON); the API decodes no content coding (a few
    KB of gzip can unpack to gigabytes), so it says so: 415 with ``Accept-Encoding: identity`` (RFC 9110 15.5.16)."""
    raw = json.dumps(site_body()).encode()
    for coding, body in (("gzip", gzip.compress(raw)), ("br", raw), ("gzip, identity", gzip.compress(raw))):
        r = client.post("/v1/requests", content=body, headers={
            **city.headers, "Content-Type": "application/json", "Content-Encoding": coding})
        assert r.status_code == 415, (coding, r.text)
        assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE and r.headers["accept-encoding"] == "identity"
        problem = r.json()
        assert problem["type"].endswith("/unsupported-content-encoding") and problem["status"] == 415
        assert "Content codings are not accepted" in problem["detail"] and coding.split(",")[0] in problem["detail"]
    bomb = gzip.compress(b" " * 50_000_000)  # 50 MB of spaces in 50 KB: refused, never unpacked
    r = client.post("/v1/requests", content=bomb, headers={**city.headers, "Content-Type": "application/json",
                                                           "Content-Encoding": "gzip"})
    assert r.status_code == 415
    assert client.get("/v1/requests", headers=city.headers).json()["features"] == []  # nothing stored
    plain = client.post("/v1/requests", content=raw, headers={
        **city.headers, "Content-Type": "application/json", "Content-Encoding": "identity"})
    assert plain.status_code == 201, plain.text


# --- conditional GET of a request -----------------------------------------------------------------------------------


def test_get_request_answers_304_while_if_none_match_names_its_etag(client, city, utility) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    url = f"/v1/requests/{created.json()['id']}"
    ok = client.get(url, headers=city.headers)
    tag = ok.headers["etag"]
    assert ok.status_code == 200 and tag == '"v1"'
    for header in (tag, f"W/{tag}", f'"v0", {tag}', "*", f' "x" ,W/{tag} '):
        for method in ("GET", "HEAD"):
            r = client.request(method, url, headers={**city.headers, "If-None-Match": header})
            assert r.status_code == 304, (method, header)
            assert r.content == b"" and r.headers["etag"] == tag and "content-type" not in r.headers
            # the Vary the 200 has (the gzip middleware's), RFC 9110 15.4.5
            assert r.headers.get("vary") == ok.headers.get("vary"), header
    for header in ('"v0"', "v1", 'W/"v2"', "garbage"):  # another version, or no entity tag: the request
        r = client.get(url, headers={**city.headers, "If-None-Match": header})
        assert r.status_code == 200 and r.json() == ok.json(), header
    public = client.get(url, headers={**utility.headers, "If-None-Match": tag})  # others: the same version
    assert public.status_code == 304
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 401  # no key: no 304 either

    changed = client.patch(url, json={"title": "Neuer Titel"}, headers={**city.headers, "If-Match": tag})
    assert changed.status_code == 200, changed.text
    again = client.get(url, headers={**city.headers, "If-None-Match": tag})
    assert again.status_code == 200 and again.json()["title"] == "Neuer Titel"
    assert again.headers["etag"] != tag


# --- CORS -----------------------------------------------------------------------------------------------------------

ORIGIN = "https://planung.example.org"


@pytest.fixture
def cors_client(settings: Settings, connection: Connection) -> Iterator[TestClient]:
    """The app with ``BAUSTELLEN_CORS_ORIGINS`` set, on the test's transaction as the ``client`` fixture's."""
    application = create_app(settings.model_copy(update={"cors_origins": [ORIGIN]}))
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                           info={"settings": settings})

    def _session() -> Iterator[Session]:
        with session_scope(factory) as session:
            yield session

    application.dependency_overrides[get_session] = _session
    with TestClient(application) as c:
        yield c


def _names(value: str) -> set[str]:
    return {v.strip().lower() for v in value.split(",")}


def test_no_cors_headers_by_default(client, city) -> None:  # noqa: ANN001
    r = client.get("/v1/requests", headers={**city.headers, "Origin": ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    preflight = client.options("/v1/requests", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers


def test_cors_origins_may_call_the_api_from_a_browser(cors_client, city) -> None:  # noqa: ANN001
    client = cors_client
    created = client.post("/v1/requests", json=site_body(), headers={**city.headers, "Origin": ORIGIN})
    assert created.status_code == 201 and created.headers["access-control-allow-origin"] == ORIGIN
    assert {"etag", "location", "retry-after", "link"} <= _names(created.headers["access-control-expose-headers"])
    url = created.headers["location"]

    preflight = client.options(url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match, if-none-match, idempotency-key"})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert {"get", "head", "post", "patch", "delete"} <= _names(preflight.headers["access-control-allow-methods"])
    assert {"authorization", "content-type", "if-match", "if-none-match", "idempotency-key"} <= _names(
        preflight.headers["access-control-allow-headers"])
    assert "access-control-allow-credentials" not in preflight.headers  # a bearer key, never cookies

    too_large = client.post("/v1/requests", content=b" " * (client.app.state.settings.max_body_bytes + 1),
                            headers={**city.headers, "Origin": ORIGIN, "Content-Type": "application/json"})
    assert too_large.status_code == 413 and too_large.headers["access-control-allow-origin"] == ORIGIN

    other = "https://evil.example"
    r = client.get(url, headers={**city.headers, "Origin": other})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    refused = client.options(url, headers={"Origin": other, "Access-Control-Request-Method": "PATCH"})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_the_feeds_stay_open_to_every_origin_with_cors_origins_set(cors_client) -> None:  # noqa: ANN001
    """The feeds answer CORS themselves (``Access-Control-Allow-Origin: *``): the API's CORS settings neither refuse
    another origin's preflight nor narrow the feeds' headers."""
    for origin in (ORIGIN, "https://verkehrsapp.example"):
        preflight = cors_client.options("/feeds/wzdx.geojson", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match"})
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
        ok = cors_client.get("/feeds/wzdx.geojson", headers={"Origin": origin})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "*"
        assert {"etag", "last-modified", "link"} <= _names(ok.headers["access-control-expose-headers"])


def test_cors_origins_setting(monkeypatch) -> None:  # noqa: ANN001
    assert Settings().cors_origins == []
    monkeypatch.setenv("BAUSTELLEN_CORS_ORIGINS", " https://a.example, https://b.example:8443/ ,")
    assert Settings().cors_origins == ["https://a.example", "https://b.example:8443"]
    monkeypatch.setenv("BAUSTELLEN_CORS_ORIGINS", '["*"]')
    assert Settings().cors_origins == ["*"]
    for wrong in ("a.example", "https://a.example/app", "ftp://a.example"):
        monkeypatch.setenv("BAUSTELLEN_CORS_ORIGINS", wrong)
        with pytest.raises(ValueError, match="is not an origin"):
            Settings()
