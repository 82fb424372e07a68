"""Webhooks reach no internal host through a host name: the worker resolves the name when it connects,
refuses it when any address is private (also loopback, link-local, multicast, reserved, unspecified) and
connects to the address it checked, never to a second answer of the name (DNS rebinding)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.notices import egress, jobs
from service.notices.models import Attempt, WebhookEndpoint
from tests.conftest import site_body
from tests.notices.helpers import deliveries, subscribe

REFUSED = "Adresse nicht erlaubt / address not allowed"


def test_a_name_that_resolves_into_this_machine_is_refused_and_nothing_connects(
        client, db, city, smtp, listener, hosts, factory, mail_settings) -> None:  # noqa: ANN001
    """`https://intranet.example:<port>/hook`, the name pointing at 127.0.0.1 (as a line in /etc/hosts
    would): accepted at subscription (a name, https), refused at delivery without a connection. Whether
    something listens there makes no difference to what the subscriber sees (`failing_since`)."""
    closed = listener.port + 1 if listener.port < 65535 else listener.port - 1
    hosts.add("intranet.example", ["127.0.0.1"])
    hosts.add("closed.intranet.example", ["127.0.0.1"])
    urls = [f"https://intranet.example:{listener.port}/hook", f"https://closed.intranet.example:{closed}/hook"]
    sub = subscribe(client, db, webhooks=urls)
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    production = mail_settings.model_copy(update={"webhook_allow_http_loopback": False})
    jobs.process_events(db, production)
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    stats = jobs.deliver_batch(factory, production, now=t0)

    assert listener.accepted == 0  # no connection was made
    assert stats.delivered == 2 and stats.retried == 2  # the emails went out; both webhooks failed
    hooks = [d for d in deliveries(db) if d.channel == "webhook"]
    for d in hooks:
        [attempt] = db.scalars(select(Attempt).where(Attempt.delivery_id == d.id)).all()
        assert not attempt.ok and attempt.status_code is None
        assert attempt.error.startswith(REFUSED) and "loopback address" in attempt.error, attempt.error
        assert d.status == "pending" and d.next_attempt_at == t0 + timedelta(seconds=30)
    seen = client.get(f"/v1/subscriptions/{sub.token}").json()["webhooks"]
    assert [w["failing_since"] is not None for w in seen] == [True, True]
    # Failing stays failing: the endpoint is disabled after webhook_disable_after_s like any dead endpoint.
    later = jobs.deliver_batch(factory, production, now=t0 + timedelta(seconds=production.webhook_disable_after_s))
    assert sorted(later.disabled_endpoints) == sorted(urls) and listener.accepted == 0
    assert not any(ep.enabled for ep in db.scalars(select(WebhookEndpoint)))


@pytest.mark.parametrize(("addresses", "kind"), [
    (["10.1.2.3"], "private"), (["192.168.178.1"], "private"), (["fd00::1"], "private"),
    (["169.254.169.254"], "link-local"), (["fe80::1"], "link-local"),
    (["127.0.0.2"], "loopback"), (["::1"], "loopback"), (["::ffff:127.0.0.1"], "loopback"),
    (["0.0.0.0"], "unspecified"), (["::"], "unspecified"),
    (["224.0.0.251"], "multicast"), (["ff02::1"], "multicast"),
    (["240.0.0.1"], "reserved"), (["100.64.0.1"], "reserved"),
    (["93.184.215.14", "10.0.0.7"], "private"),  # one private answer is enough
    # IPv6 addresses that carry an IPv4 address a relay or translator reaches: judged by it (ipaddress itself
    # calls the 6to4 address of the metadata service global)
    (["2002:a9fe:a9fe::"], "link-local"), (["2002:7f00:1::1"], "loopback"), (["64:ff9b::a00:7"], "private"),
    (["2001:0:4136:e378:8000:63bf:f5ff:fffe"], "private"),  # Teredo, client 10.0.0.1 (obfuscated)
])
def test_every_address_of_the_name_is_checked(hosts, addresses: list[str], kind: str) -> None:  # noqa: ANN001
    hosts.add("hook.example", addresses)
    with pytest.raises(egress.AddressNotAllowed, match=f"{REFUSED}: hook.example resolves to an? {kind} address"):
        egress.checked_addresses("hook.example", 443, allow_loopback=False)


def test_public_addresses_pass_and_the_test_setting_lets_only_loopback_through(hosts) -> None:  # noqa: ANN001
    hosts.add("hook.example", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert egress.checked_addresses("hook.example", 443, allow_loopback=False) == [
        "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    hosts.add("loop.example", ["127.0.0.1", "::1"])
    assert egress.checked_addresses("loop.example", 443, allow_loopback=True) == ["127.0.0.1", "::1"]
    hosts.add("lan.example", ["10.0.0.7"])
    with pytest.raises(egress.AddressNotAllowed):
        egress.checked_addresses("lan.example", 443, allow_loopback=True)
    assert egress.refusal(ipaddress.ip_address("::ffff:93.184.215.14")) is None


def test_the_worker_connects_to_the_address_it_checked(client, db, city, receiver, hosts, factory,
                                                       mail_settings) -> None:  # noqa: ANN001
    """A name that answers an allowed address to the check and another one afterwards (DNS rebinding): the
    connection goes to the checked address, the name is looked up once, and the request still carries the
    name in its Host header."""
    port = receiver.server.server_address[1]
    hosts.add("hook.localhost", ["127.0.0.1"], [])  # after the first answer the name "moves" (here: away)
    url = f"http://hook.localhost:{port}/hook"
    subscribe(client, db, webhooks=[url])  # a loopback name: allowed with the tests' loopback setting
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    jobs.process_events(db, mail_settings)
    stats = jobs.deliver_batch(factory, mail_settings)
    assert [(d.status, d.last_error) for d in deliveries(db) if d.channel == "webhook"] == [("delivered", None)]
    assert stats.delivered >= 1 and len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["host"] == f"hook.localhost:{port}"
    assert hosts.lookups["hook.localhost"] == 1


def test_an_unknown_name_is_a_connection_error(client, db, city, hosts, factory, mail_settings) -> None:  # noqa: ANN001
    hosts.add("gone.example", [])
    subscribe(client, db, webhooks=["https://gone.example/hook"])
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    jobs.process_events(db, mail_settings)
    jobs.deliver_batch(factory, mail_settings)
    [hook] = [d for d in deliveries(db) if d.channel == "webhook"]
    assert hook.status == "pending" and hook.last_error.startswith("ConnectError: gone.example"), hook.last_error
