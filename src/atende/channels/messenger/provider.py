"""The `messenger` provider: a Facebook Page's Messenger inbox ↔ atende's normalized messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from atende.channels.base import N_, Capabilities, Channel, ConfigField, Provider
from atende.channels.meta.config import GraphId, MessagingConfig
from atende.channels.meta.messaging import MetaObject
from atende.channels.meta.messaging_provider import COMMON_FIELDS, MB, MESSAGING_CAPABILITIES, MessagingProvider

#: What Messenger carries (attachments up to 25 MB), by MIME type.
MIME_KINDS: dict[str, str] = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "image",
    "video/mp4": "video", "video/quicktime": "video", "video/webm": "video",
    "audio/mpeg": "audio", "audio/mp4": "audio", "audio/aac": "audio", "audio/ogg": "audio", "audio/wav": "audio",
    "audio/x-wav": "audio", "application/pdf": "document", "text/plain": "document", "text/csv": "document",
    "application/msword": "document", "application/vnd.ms-excel": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
}


class MessengerConfig(MessagingConfig):
    page_id: GraphId

    @property
    def account_id(self) -> str:
        return self.page_id


class MessengerProvider(MessagingProvider):
    name: ClassVar[str] = "messenger"
    channel: ClassVar[Channel] = "messenger"
    label: ClassVar[str] = "Messenger"
    capabilities: ClassVar[Capabilities] = MESSAGING_CAPABILITIES
    config_model: ClassVar[type[BaseModel]] = MessengerConfig
    meta_object: ClassVar[MetaObject] = "page"
    max_text: ClassVar[int] = 2000
    mime_kinds: ClassVar[Mapping[str, str]] = MIME_KINDS
    media_limits: ClassVar[Mapping[str, int]] = {kind: 25 * MB for kind in ("image", "video", "audio", "document")}
    profile_fields: ClassVar[str] = "first_name,last_name,profile_pic"
    form_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("page_id", N_("ID da página do Facebook"), required=True), *COMMON_FIELDS)

    def profile_of(self, data: Mapping[str, Any]) -> dict[str, str]:
        names = [data.get(k) for k in ("first_name", "last_name")]
        profile = {"name": " ".join(n.strip() for n in names if isinstance(n, str) and n.strip())}
        if isinstance(data.get("profile_pic"), str):
            profile["picture"] = data["profile_pic"]
        return {k: v for k, v in profile.items() if v}


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's Provider protocol
    _provider_check: type[Provider] = MessengerProvider
