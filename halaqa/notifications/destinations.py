"""Where outbound webhooks may go: public addresses only, unless the operator allows the rest.

An academy's admin names the URL, and the delivery log shows what answered. Unchecked, an admin
on a server shared by academies could make Halaqa call what is reachable only from inside — the
cloud's metadata address, the database, a panel on the LAN — and read its answers in the log.
So a URL naming such an address outright is refused when it is saved, and at every delivery the
name is resolved, every address it resolves to is checked, and the request goes to an address
that was checked (the Host header and TLS still name the host), so a name that resolves
differently a moment later (DNS rebinding) cannot slip past.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_SETTING = "HALAQA_WEBHOOK_PRIVATE_ADDRESSES"


class DestinationRefused(Exception):
    """The URL leads somewhere webhooks may not go, or nowhere; the message says which."""


def refused(address: IpAddress) -> bool:
    """Whether a webhook may not go to `address` while private addresses are not allowed:
    anything but a public unicast address (loopback, private ranges, link-local, carrier NAT,
    documentation and other reserved ranges, multicast, unspecified)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _why(host: str, address: IpAddress) -> str:
    named = host if host == str(address) else f"{host} resolves to {address}, which"
    return (
        f"{named} is a private, loopback or reserved address: webhooks go to public addresses "
        f"only (the server's operator can allow others with {ALLOW_SETTING})"
    )


def check_saved(url: str, *, others_allowed: bool) -> None:
    """When an endpoint is saved: refuses a URL whose host is such an address written out, or
    `localhost` (always loopback). Other names are checked at each delivery, when resolved."""
    if others_allowed:
        return
    host = httpx.URL(url).host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise DestinationRefused(_why(host, ipaddress.ip_address("127.0.0.1")))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if refused(address):
        raise DestinationRefused(_why(host, address))


@dataclass(frozen=True)
class Destination:
    """One address to send to: the URL with the checked address in place of the name, and what
    the request still says of the name (its Host header, and the name TLS checks)."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


async def destinations(url: str, *, others_allowed: bool, timeout_s: float) -> list[Destination]:
    """The addresses `url`'s host resolves to, in the resolver's order, each checked (unless
    the operator allows every address): to be tried in turn until one connects."""
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
            timeout_s,
        )
    except (OSError, TimeoutError) as error:
        why = str(error) or "timed out"
        raise DestinationRefused(f"{host} could not be resolved ({why})") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    if not others_allowed:
        for address in addresses:
            if refused(address):
                raise DestinationRefused(_why(host, address))
    headers = {"Host": target.netloc.decode("ascii")}
    named = _is_name(host)
    return [
        Destination(
            target.copy_with(host=str(address)),
            headers,
            {"sni_hostname": host} if named and target.scheme == "https" else {},
        )
        for address in addresses
    ]


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False
