"""Connector configuration of the Meta providers (keys of shared/contract.md): the pieces WhatsApp,
Messenger and Instagram share, and the config of the last two."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
GraphId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{1,30}$")]
ApiVersion = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^v\d+\.\d+$")]


def _graph_base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https://")
    return value.rstrip("/")


#: Where the Graph API answers (a fake or a proxy in tests); kept without a trailing slash.
BaseUrl = Annotated[NonEmpty, AfterValidator(_graph_base_url)]


class MessagingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_access_token: NonEmpty  # secret
    app_secret: NonEmpty  # signs webhooks (X-Hub-Signature-256); secret
    verify_token: NonEmpty  # our answer to the GET hub.challenge handshake; secret
    base_url: BaseUrl = "https://graph.facebook.com"
    api_version: ApiVersion = "v25.0"
    # The app was granted the HUMAN_AGENT tag: agents may answer up to 7 days after the customer.
    human_agent_tag: bool = False
