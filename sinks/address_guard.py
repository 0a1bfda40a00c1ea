"""Which webhook targets we may call: an optional host allowlist, and no private addresses (SSRF).

A name is resolved and *every* address it resolves to must be public: not private, loopback, link-local,
multicast, reserved or unspecified (IPv4-mapped IPv6 addresses are unwrapped first). The check runs in
the HTTP client's resolver, so the addresses checked are the ones connected to (no re-resolution gap),
and also on IP literals in the URL, which skip the resolver. A host that only a lenient parser reads as an
address (``127.1``, ``2130706433``, ``0177.0.0.1``, ``0x7f.0.0.1``: its last label is a number) must be a
canonical address, or it is refused. ``allow_private`` turns the address check off (tests and local
setups); the allowlist and the canonical-address rule still apply.

Every refusal is permanent (TargetRefused: never retried) and its text is generic, because it travels in
outcome events; the reason, naming the address, goes to the sink's log only.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from typing import NoReturn

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from sinks.exceptions import TargetRefused

ALLOWED_SCHEMES = frozenset({"http", "https"})
REFUSED = "target refused: the address is not allowed"
log = logging.getLogger("switchyard.sinks.address_guard")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def address_refusal(address: str) -> str | None:
    """Why ``address`` may not be called, or None if it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, name in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_unspecified, "unspecified"),
    ):
        if flag:
            return f"{ip} is a {name} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def host_allowed(host: str, allow_hosts: tuple[str, ...]) -> bool:
    """Empty allowlist: any host. Entries are exact names or ``*.suffix`` (any subdomain of suffix)."""
    if not allow_hosts:
        return True
    host = host.lower().rstrip(".")
    for entry in allow_hosts:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


class AddressGuard:
    def __init__(self, allow_hosts: tuple[str, ...], allow_private: bool) -> None:
        self.allow_hosts = allow_hosts
        self.allow_private = allow_private

    def check_url(self, url: str) -> None:
        """Refuse a URL by its scheme, its host (allowlist) and, for IP literals, its address. The host is
        read as the HTTP client (aiohttp, through yarl) will connect to it: it maps fullwidth and
        ideographic dots to ASCII ones, so `127。0。0。1` is checked as the 127.0.0.1 it becomes."""
        try:
            parsed = URL(url)
            host, raw_host = parsed.host, parsed.raw_host
        except (ValueError, TypeError):
            refuse("the URL does not parse", url)
        if parsed.scheme not in ALLOWED_SCHEMES:
            raise TargetRefused("target refused: only http and https targets are allowed")
        if not host or not raw_host:
            raise TargetRefused("target refused: the URL has no host")
        if not host_allowed(host, self.allow_hosts):
            raise TargetRefused("target refused: the host is not on the allowlist")
        if _looks_numeric(raw_host) and not _is_ip_literal(raw_host):
            refuse("not a canonical IP address", raw_host)
        if not self.allow_private and _is_ip_literal(raw_host):
            self.check_address(raw_host)

    def check_address(self, address: str) -> None:
        if self.allow_private:
            return
        reason = address_refusal(address)
        if reason is not None:
            refuse(reason, address)


def refuse(reason: str, subject: str) -> NoReturn:
    log.warning("webhook target %r refused: %s", subject, reason)
    raise TargetRefused(REFUSED)


def _looks_numeric(host: str) -> bool:
    """Whether a URL parser could take `host` for an IPv4 address: its last label is a (hex) number."""
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return ":" in host or bool(_NUMERIC_LABEL.fullmatch(last))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses a name if any address it resolves to is refused by the guard."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self.inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            self.guard.check_address(result["host"])
        return results

    async def close(self) -> None:
        await self.inner.close()

    def __repr__(self) -> str:
        return f"GuardedResolver(allow_private={self.guard.allow_private})"
