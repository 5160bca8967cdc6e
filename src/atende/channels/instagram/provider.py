"""The `instagram` provider: an Instagram professional account's Direct messages ↔ normalized messages.

Sends go to `/{ig_user_id}/messages`, or to `/{page_id}/messages` when the account is reached through
its Facebook Page (Facebook Login). Files are uploaded through the Page (`page_id` needed); without
one, media goes by link. Instagram's limits: text up to 1000 characters, images png/jpeg/gif up to
8 MB, audio and video up to 25 MB (whatsapp-meta.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from atende.channels.base import N_, Capabilities, Channel, ConfigField, Provider, ProviderError
from atende.channels.meta.config import GraphId, MessagingConfig
from atende.channels.meta.messaging import MetaObject
from atende.channels.meta.messaging_provider import COMMON_FIELDS, MB, MESSAGING_CAPABILITIES, MessagingProvider

MIME_KINDS: dict[str, str] = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image",
    "video/mp4": "video", "video/quicktime": "video", "video/webm": "video", "video/x-msvideo": "video",
    "video/ogg": "video",
    "audio/aac": "audio", "audio/mp4": "audio", "audio/x-m4a": "audio", "audio/wav": "audio", "audio/x-wav": "audio",
    "audio/mpeg": "audio", "audio/ogg": "audio",
}


class InstagramConfig(MessagingConfig):
    ig_user_id: GraphId
    page_id: GraphId | None = None  # the linked Facebook Page, when reached through Facebook Login

    @property
    def account_id(self) -> str:
        return self.ig_user_id


class InstagramProvider(MessagingProvider):
    name: ClassVar[str] = "instagram"
    channel: ClassVar[Channel] = "instagram"
    label: ClassVar[str] = "Instagram"
    capabilities: ClassVar[Capabilities] = MESSAGING_CAPABILITIES
    config_model: ClassVar[type[BaseModel]] = InstagramConfig
    meta_object: ClassVar[MetaObject] = "instagram"
    max_text: ClassVar[int] = 1000
    mime_kinds: ClassVar[Mapping[str, str]] = MIME_KINDS
    media_limits: ClassVar[Mapping[str, int]] = {"image": 8 * MB, "video": 25 * MB, "audio": 25 * MB}
    profile_fields: ClassVar[str] = "name,username,profile_pic"
    form_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("ig_user_id", N_("ID da conta do Instagram"), required=True),
        ConfigField("page_id", N_("ID da página ligada (para enviar arquivos)")), *COMMON_FIELDS)

    @property
    def send_node(self) -> str:
        return str(self.config.page_id or self.config.ig_user_id)

    def upload_node(self) -> str:
        if not self.config.page_id:
            raise ProviderError("para enviar arquivos pelo Instagram informe o page_id da página ligada à conta, "
                                "ou envie a mídia por link", transient=False, code="media_unsupported")
        return str(self.config.page_id)

    def profile_of(self, data: Mapping[str, Any]) -> dict[str, str]:
        profile: dict[str, str] = {}
        for ours, theirs in (("name", "name"), ("username", "username"), ("picture", "profile_pic")):
            value = data.get(theirs)
            if isinstance(value, str) and value.strip():
                profile[ours] = value.strip()
        if "username" in profile and not profile["username"].startswith("@"):
            profile["username"] = "@" + profile["username"]
        profile.setdefault("name", profile.get("username", ""))
        return {k: v for k, v in profile.items() if v}


if TYPE_CHECKING:
    _provider_check: type[Provider] = InstagramProvider
