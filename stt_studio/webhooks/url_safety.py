"""Which callback URLs may be called: http(s) URLs whose host resolves only to public addresses.

Loopback, private, link-local, multicast and other non-public addresses are refused unless the allow-list
(``STT_WEBHOOK_ALLOWED_HOSTS``: host names, IPs or CIDRs) names the host or the address. The check runs when a job
is submitted and again before every delivery, which then connects to the address it checked, so a name that
resolves elsewhere a second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_CHARS = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,254}}$){_LABEL}(?:\.{_LABEL})*\.?")


class InvalidCallbackUrlError(ValueError):
    """Not a URL that could be called (bad scheme, no host, …): the caller's typo."""


class RefusedCallbackUrlError(ValueError):
    """A well-formed URL whose host is not allowed: it resolves to a non-public address, or does not resolve."""


class UnresolvableHostError(RefusedCallbackUrlError):
    """The host does not resolve (now): refused at submission, tried again later by a delivery."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(_normal_host(entry))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        candidates = {address, _embedded_ipv4(address)}
        return any(a in network for a in candidates for network in self.networks if network.version == a.version)


@dataclass(frozen=True)
class CheckedUrl:
    url: httpx.URL
    addresses: tuple[str, ...]
    """Where the host resolved, every one allowed: deliveries connect to these, not to a fresh lookup."""


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_callback_url(text: str) -> httpx.URL:
    """The URL, or InvalidCallbackUrlError saying what is wrong with it."""
    if len(text) > MAX_URL_CHARS:
        raise InvalidCallbackUrlError(f"must be at most {MAX_URL_CHARS} characters")
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidCallbackUrlError(f"is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https"):
        raise InvalidCallbackUrlError("must be an http:// or https:// URL")
    if not url.host:
        raise InvalidCallbackUrlError("has no host")
    if not _is_ip(_normal_host(url.raw_host.decode("ascii"))) and not _HOST_NAME.fullmatch(url.raw_host.decode()):
        raise InvalidCallbackUrlError(f"has an invalid host name ({url.host!r})")
    if url.port is not None and not 0 < url.port < 65536:
        raise InvalidCallbackUrlError(f"has an invalid port ({url.port})")
    if url.fragment:
        raise InvalidCallbackUrlError("must not have a #fragment (it is never sent)")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped ``::ffff:a.b.c.d``, 6to4, NAT64); else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def non_public_kind(address: IPAddress) -> str | None:
    """What makes ``address`` unfit for a webhook ("loopback", "private", …), or None for a public address."""
    return _kind(_embedded_ipv4(address))  # where the packets end up decides


def _kind(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "non-public"  # shared (carrier-grade NAT), documentation, benchmarking ranges
    return None


def check_callback_url(text: str, allow: AllowList, resolve: Resolver = system_resolver) -> CheckedUrl:
    """Parse ``text`` and resolve its host; InvalidCallbackUrlError or RefusedCallbackUrlError when it may not be
    called. Blocks for the DNS lookup."""
    url = parse_callback_url(text)
    host = _normal_host(url.raw_host.decode("ascii"))  # an international name in its DNS (punycode) form
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _is_ip(host)
    if literal:
        addresses: Sequence[str] = [host]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHostError(f"the host {host} does not resolve ({exc})") from None
        if not addresses:
            raise UnresolvableHostError(f"the host {host} does not resolve")
    if not allow.allows_host(host):
        for text_address in addresses:
            address = ipaddress.ip_address(text_address.split("%")[0])
            kind = non_public_kind(address)
            if kind is not None and not allow.allows_address(address):
                where = "is" if literal else "resolves to"
                hint = "allow it with STT_WEBHOOK_ALLOWED_HOSTS"
                raise RefusedCallbackUrlError(f"the host {host} {where} a {kind} address ({text_address}); {hint}")
    return CheckedUrl(url=url, addresses=tuple(addresses))
