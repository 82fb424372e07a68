"""Where a webhook may connect.

A subscription refuses private IP literals and ``localhost``, but a host name can point anywhere, and
where it points can change between one lookup and the next (DNS rebinding). So the check happens where the
connection is opened: the network backend under the webhook client resolves the host, refuses it when any of
its addresses is private, loopback, link-local, multicast, reserved or unspecified, and connects to an
address from that same answer. There is no second lookup to substitute another address. Only the TCP
target is pinned: the URL keeps the host name, so the Host header, TLS SNI and certificate verification use
the name as before. ``BAUSTELLEN_WEBHOOK_ALLOW_HTTP_LOOPBACK`` (tests) lets loopback addresses through, as it
does at subscription; nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressNotAllowed(Exception):
    """The webhook's host resolves to an address this service does not connect to. Nothing was sent."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` stands for, as the system resolver answers (DNS, /etc/hosts, IP literals in
    any form ``inet_aton`` accepts), in its order and without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix: the IPv4 address in the last 32 bits


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches through a translator or relay: IPv4-mapped
    (``::ffff:a.b.c.d``), 6to4 (``2002:AABB:CCDD::``, RFC 3056), Teredo (``2001:0::/32``, the client's) and
    NAT64 (``64:ff9b::a.b.c.d``). ``ipaddress`` judges such an address by its IPv6 prefix alone: a 6to4 address
    of 169.254.169.254 counts as global."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why a webhook must not connect to ``ip`` ("loopback", "private", "link-local", "multicast",
    "reserved", "unspecified"), or None when it may. An IPv6 address carrying an IPv4 address (mapped, 6to4,
    Teredo, NAT64: :func:`_embedded_ipv4`) is refused as that IPv4 address would be, and else judged as an IPv6
    address (an IPv4-mapped one only as its IPv4 address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            why = refusal(embedded, allow_loopback=allow_loopback)
            if why is not None or ip.ipv4_mapped is not None:  # a mapped one is its IPv4 address, and only that
                return why
    if ip.is_loopback:  # before is_private, which includes 127.0.0.0/8
        return None if allow_loopback else "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:  # 240.0.0.0/4 and the like, which is_private includes too
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:  # e.g. the shared address space 100.64.0.0/10 of carrier-grade NAT
        return "reserved"
    return None


def checked_addresses(host: str, port: int, *, allow_loopback: bool) -> list[str]:
    """Every address of ``host``; AddressNotAllowed when any of them is refused (a name answering one public
    and one private address is refused: which of them a connection would reach is not ours to choose)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:  # socket.gaierror: unknown name, no answer
        raise httpcore.ConnectError(f"{host}: {exc}") from exc
    if not addresses:
        raise httpcore.ConnectError(f"{host}: no address")
    for address in addresses:
        why = refusal(ipaddress.ip_address(address), allow_loopback=allow_loopback)
        if why is not None:
            article = "an" if why[0] in "aeiou" else "a"
            raise AddressNotAllowed(f"Adresse nicht erlaubt / address not allowed: {host} resolves to "
                                    f"{article} {why} address ({address})")
    return addresses


class CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend that connects only to checked addresses of the requested host."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in checked_addresses(host, port, allow_loopback=self.allow_loopback):
            try:  # an IP literal: the socket layer connects to it without looking anything up
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # e.g. ::1 refused, 127.0.0.1 listening
                failure = exc
        assert failure is not None
        raise failure


class CheckedTransport(httpx.HTTPTransport):
    """httpx's own transport over a connection pool with the checking backend. httpx takes no network
    backend, so the pool it built is replaced by an equal one that has it. No proxy: a proxy would resolve
    the name itself, past the check."""

    def __init__(self, *, allow_loopback: bool, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(allow_loopback=allow_loopback),
        )
