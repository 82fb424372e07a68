"""Webhook URLs the service cannot use are refused with 422 naming the webhook, and nothing is stored: longer than
the column holds (2000 characters, given as a string or as {"url": ...}), a host with a space or other characters
no host name has, port 0."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.notices.models import Subscription
from tests.notices.helpers import sub_body, subscribe

LONG = "https://hooks.example.org/" + "a" * 1980  # 2006 characters


@pytest.mark.parametrize(("hooks", "detail"), [
    ([LONG], "at most 2000 characters"),
    ([{"url": LONG}], "url: String should have at most 2000 characters"),
    (["https://hooks.example.org/ok", LONG], "at most 2000 characters"),
    (["https://exa mple.org/x"], "spaces"),
    (["https://exa%20mple.org/x"], "valid host"),
    (["https://exa_mple-.org/x"], "valid host"),
    (["https://a..example.org/x"], "valid host"),
    (["https://example.org:0/x"], "invalid port"),
    ([{"url": "https://example.org:0/x"}], "invalid port"),
    (["https://example.org:99999/x"], "invalid port"),
    ([5], "must be a URL"),
])
def test_unusable_webhook_urls_are_refused(client, db, hooks: list, detail: str) -> None:  # noqa: ANN001
    r = client.post("/v1/subscriptions", json=sub_body(webhooks=hooks))
    assert r.status_code == 422, r.text
    [error] = [e for e in r.json()["errors"] if e["field"].startswith("webhooks")]
    assert error["field"] == f"webhooks[{len(hooks) - 1}]", r.json()
    assert detail in error["detail"], r.json()
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0


def test_a_change_to_an_unusable_url_is_refused_too_and_good_ones_pass(client, db) -> None:  # noqa: ANN001
    sub = subscribe(client, db)
    for hooks in ([LONG], ["https://exa mple.org/x"], ["https://example.org:0/x"]):
        r = client.patch(f"/v1/subscriptions/{sub.token}", json={"webhooks": hooks})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "webhooks[0]", r.text
    good = ["https://hooks.example.org:8443/h?x=1", "https://bäckerei.example/hook", "https://hooks.example.org./h",
            "https://" + "a" * 63 + ".example.org/" + "p" * 1900]
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"webhooks": good})
    assert r.status_code == 200, r.text
    assert [w["url"] for w in r.json()["webhooks"]] == good
