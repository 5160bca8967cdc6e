"""Provider name → provider class. Imported lazily so one broken package cannot take down the rest."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from atende.channels.base import Provider

_PROVIDERS: dict[str, str] = {
    "kolmeya": "atende.channels.kolmeya.provider:KolmeyaProvider",
    "whatsapp_cloud": "atende.channels.whatsapp_cloud.provider:WhatsAppCloudProvider",
    "messenger": "atende.channels.messenger.provider:MessengerProvider",
    "instagram": "atende.channels.instagram.provider:InstagramProvider",
    "sandbox": "atende.channels.sandbox.provider:SandboxProvider",
    "history": "atende.channels.history.provider:HistoryProvider",
}


# design.md's names for the Meta messaging providers; the public name (contract.md) is stored.
_ALIASES: dict[str, str] = {"meta_messenger": "messenger", "meta_instagram": "instagram"}


class UnknownProvider(KeyError):
    pass


def canonical_name(name: str) -> str:
    return _ALIASES.get(name, name)


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


@cache
def provider_class(name: str) -> Any:
    try:
        module_name, _, attr = _PROVIDERS[canonical_name(name)].partition(":")
    except KeyError:
        raise UnknownProvider(name) from None
    return getattr(importlib.import_module(module_name), attr)


def provider_type(name: str) -> type[Provider]:
    cls: type[Provider] = provider_class(name)
    return cls
