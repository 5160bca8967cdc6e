"""Where a connector may point its provider calls (security issue §2): https only; plain http only to
this machine and only when a setting allows it; never link-local or cloud metadata addresses."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Cloud instance metadata endpoints reachable by name (the link-local IPs are refused as a range).
METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.com", "100.100.100.200", "fd00:ec2::254",
})
# RFC 6761 names that never resolve on the internet: counted as "this machine" for test doubles.
LOCAL_SUFFIXES = (".localhost", ".test")


class UnsafeUrl(ValueError):
    pass


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    ip = _ip(host)
    if ip is not None:
        return ip.is_loopback
    return host == "localhost" or host.endswith(LOCAL_SUFFIXES)


def check_provider_url(url: str, *, allow_http_loopback: bool) -> None:
    """Raise UnsafeUrl (message in Portuguese) unless `url` is a safe provider base URL."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        raise UnsafeUrl("base_url inválida") from None
    if not host:
        raise UnsafeUrl("base_url precisa de um endereço completo, ex.: https://exemplo.com.br")
    if parts.username or parts.password:
        raise UnsafeUrl("base_url não pode conter usuário ou senha")
    ip = _ip(host)
    if host in METADATA_HOSTS or (ip is not None and (ip.is_link_local or ip.is_unspecified or ip.is_multicast
                                                      or str(ip) in METADATA_HOSTS)):
        raise UnsafeUrl("base_url aponta para um endereço interno proibido (link-local ou metadados)")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_link_local:
        raise UnsafeUrl("base_url aponta para um endereço interno proibido (link-local ou metadados)")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback_host(host):
        if allow_http_loopback:
            return
        raise UnsafeUrl("base_url com http só é permitida em testes (ATENDE_ALLOW_HTTP_LOOPBACK_PROVIDERS)")
    raise UnsafeUrl("base_url precisa usar https")
