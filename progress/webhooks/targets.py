"""Which URLs a webhook may call: the SSRF rules, applied at registration and again at every delivery.

A URL must be https (http too with DEBUG or WEBHOOK_ALLOW_PRIVATE_NETWORKS), carry no credentials,
and every address its host resolves to must be public: loopback, private, link-local (the cloud
metadata services at 169.254.169.254 and fd00:ec2::254 among them), carrier-grade NAT, multicast,
reserved and unspecified addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on. A
delivery connects to the address checked here (`Target.address`), not to a second lookup, so a DNS
answer that changes between the check and the connection (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from skillquest.errors import InvalidInput

URL_MAX_LENGTH = 2000
_url_syntax = URLValidator(schemes=["http", "https"])


class UnsafeTarget(InvalidInput):
    code = "webhook_url_refused"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    path: str  # path and query, what the request line carries
    address: str  # the checked IP address the connection goes to


def private_networks_allowed() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)


def check_url(url: str) -> str:
    """The URL if its form is acceptable (scheme, credentials, length); raises UnsafeTarget."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX_LENGTH:
        raise UnsafeTarget(f"A URL of 1 to {URL_MAX_LENGTH} characters.", field="url")
    try:
        _url_syntax(url)
    except ValidationError:
        raise UnsafeTarget("Enter a valid http(s) URL.", field="url")
    if not url.isascii():
        # Sent as the request line's bytes: a receiver's URL must be percent-encoded (IDNA for a host).
        raise UnsafeTarget("Percent-encode the URL: ASCII characters only.", field="url")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (settings.DEBUG or private_networks_allowed()):
        raise UnsafeTarget("Webhook URLs must use https.", field="url")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(
            "Credentials in the URL are not allowed; verify the signature instead.", field="url"
        )
    if parts.fragment:
        raise UnsafeTarget("A URL without a #fragment.", field="url")
    return url


# IPv6 ranges that carry an IPv4 address or are deprecated, which `is_global` lets through on 3.11:
# NAT64 (64:ff9b::/96 reaches any IPv4 address, the metadata one included), IPv4-compatible (::/96)
# and site-local (fec0::/10). 6to4 (2002::/16) is judged by the IPv4 address it carries.
_NOT_PUBLIC_V6 = [
    ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "fec0::/10")
]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif any(ip in net for net in _NOT_PUBLIC_V6):
            return False
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> Target:
    """Check the URL and resolve its host; every address must be public (unless allowed). The first
    address is the one to connect to. Raises UnsafeTarget."""
    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("The URL's port is not a number from 0 to 65535.", field="url")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeTarget(f"The host {host!r} could not be resolved.", field="url")
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise UnsafeTarget(f"The host {host!r} could not be resolved.", field="url")
    if not private_networks_allowed():
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise UnsafeTarget(
                f"The URL resolves to a loopback, private, link-local or reserved address ({refused[0]}).",
                field="url",
            )
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])
