"""Connector configuration of the WhatsApp Cloud API provider (keys of shared/contract.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from atende.channels.meta.config import ApiVersion, BaseUrl

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class WhatsAppCloudConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: NonEmpty  # System-User token; secret
    phone_number_id: NonEmpty
    app_secret: NonEmpty  # signs webhooks (X-Hub-Signature-256); secret
    verify_token: NonEmpty  # our answer to the GET hub.challenge handshake; secret
    waba_id: NonEmpty | None = None  # WhatsApp Business Account id, needed for template sync
    base_url: BaseUrl = "https://graph.facebook.com"
    api_version: ApiVersion = "v25.0"
    rate_per_second: float = Field(default=80, gt=0)  # throughput per phone number (Meta: 80/s)
    pair_interval_s: float = Field(default=6.0, ge=0)  # one send per recipient per this many seconds…
    pair_burst: int = Field(default=3, ge=1, le=20)  # …with short bursts of up to this many (Meta's pair limit)

    @property
    def account_id(self) -> str:
        """What webhooks name this connector by (`metadata.phone_number_id`)."""
        return self.phone_number_id

    @property
    def account_group(self) -> str | None:
        """The WhatsApp Business Account: templates and account alerts concern all its numbers."""
        return self.waba_id
