"""Media sent by public link instead of an uploaded file: which links a provider may be asked to fetch.

The provider (Meta, not us) resolves and fetches the link, so hosts are checked as written: `https`,
a public host, no credentials, a sane length. Any channel that sends media by link uses this.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit


class InvalidLink(ValueError):
    """The link cannot be handed to a provider; the message says why, in pt-BR."""


#: Longest media link we accept (Meta fetches it; real CDN links are far shorter).
MAX_MEDIA_URL = 2048
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain")


def check_media_link(url: str) -> str:
    """A media link WhatsApp may fetch: `https`, a public host, no credentials, at most
    MAX_MEDIA_URL characters. Returns it unchanged; InvalidLink (a ValueError) says why not.

    Hosts are checked as written (Meta, not us, resolves them): IP literals must be global,
    names must be dotted and not in a local-only domain. Odd IPv4 spellings (`127.1`, `0x7f.1`,
    `2130706433`) are refused rather than guessed at.
    """
    if not isinstance(url, str) or not url:
        raise InvalidLink("informe o link da mídia")
    if len(url) > MAX_MEDIA_URL:
        raise InvalidLink(f"link da mídia longo demais ({len(url)} > {MAX_MEDIA_URL} caracteres)")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url) or not url.isascii():
        raise InvalidLink("o link da mídia tem espaços ou caracteres inválidos")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise InvalidLink("link da mídia inválido") from None
    if parts.scheme.lower() != "https":
        raise InvalidLink("o link da mídia precisa começar com https://")
    if parts.username is not None or parts.password is not None:
        raise InvalidLink("o link da mídia não pode conter usuário ou senha")
    if not host:
        raise InvalidLink("o link da mídia não tem endereço (host)")
    host = host.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global or address.is_multicast:
            raise InvalidLink("o link da mídia aponta para um endereço privado ou local")
        return url
    labels = host.split(".")
    last = labels[-1]
    if len(labels) < 2 or not all(labels) or last.isdigit() or last.startswith("0x") or \
            host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or \
            not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host):
        raise InvalidLink("o link da mídia precisa de um endereço público (não local nem privado)")
    return url


def link_filename(url: str) -> str | None:
    """The file name at the end of a link's path (`…/boleto%20123.pdf` → `boleto 123.pdf`)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    name = unquote(path.rsplit("/", 1)[-1]).strip()
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "", name)[:200]
    return name or None
