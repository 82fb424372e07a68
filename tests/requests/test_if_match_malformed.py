"""A malformed If-Match (`v2` without its quotes, `garbage`) is the client's mistake, not a change of the request:
it answers 400 naming the header and the form it needs (`"v2"`), never 412 "the request changed since you read
it", which would send a client to read the request again and fail the same way."""

from __future__ import annotations

import pytest

from service.kit.problems import PROBLEM_MEDIA_TYPE
from tests.workflow.flow import create


@pytest.mark.parametrize("value", ["v1", "garbage", "v0, v1", '"v1" garbage', ","])
def test_a_malformed_if_match_answers_400_naming_the_header(client, city, value) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    for answer in (client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": value}),
                   client.delete(url, headers={**city.headers, "If-Match": value}),
                   client.post(f"{url}/withdraw", headers={**city.headers, "If-Match": value})):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
        problem = answer.json()
        assert problem["errors"][0]["field"] == "If-Match"
        assert '"v1"' in problem["detail"] and "changed since" not in problem["detail"]
    assert client.get(url, headers=city.headers).json()["status"] == "submitted"  # nothing changed


def test_well_formed_if_match_values_still_answer_as_before(client, city) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    stale = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": '"v9"'})
    assert stale.status_code == 412 and "changed since" in stale.json()["detail"]
    weak = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": 'W/"v1"'})
    assert weak.status_code == 412 and "weak" in weak.json()["detail"]
    ok = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": ' "v0" , "v1" '})
    assert ok.status_code == 200, ok.text
    assert client.patch(url, json={"title": "Alt"}, headers={**city.headers, "If-Match": "*"}).status_code == 200


def test_the_400_is_documented(client) -> None:  # noqa: ANN001
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in (("/v1/requests/{request_id}", "patch"), ("/v1/requests/{request_id}", "delete"),
                         ("/v1/requests/{request_id}/approve", "post"),
                         ("/v1/requests/{request_id}/slot/lock", "post")):
        assert "If-Match" in paths[path][method]["responses"]["400"]["description"], (method, path)
