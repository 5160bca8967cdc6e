"""Kolmeya SMS provider (kolmeya.com.br): client, webhook/polling parser and the Provider."""

from atende.channels.kolmeya.config import KolmeyaConfig
from atende.channels.kolmeya.provider import KolmeyaProvider

__all__ = ["KolmeyaConfig", "KolmeyaProvider"]
