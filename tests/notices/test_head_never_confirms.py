"""A confirmation link asked for with HEAD (link checkers, mail scanners) confirms nothing: the app answers HEAD
with the GET route elsewhere, never here."""

from __future__ import annotations

from tests.notices.helpers import subscribe


def test_head_on_the_confirmation_link_leaves_the_subscription_pending(client, db) -> None:  # noqa: ANN001
    sub = subscribe(client, db, confirm=False)
    r = client.head("/v1/subscriptions/confirm", params={"token": sub.confirm_token})
    assert r.status_code == 200 and r.content == b""
    db.refresh(sub)
    assert sub.status == "pending"
    assert client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token}).status_code == 200
    db.refresh(sub)
    assert sub.status == "active"
