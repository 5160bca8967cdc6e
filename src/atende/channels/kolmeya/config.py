"""Connector configuration of the Kolmeya SMS provider (contract.md, "Provider config keys")."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from atende.domain.money import parse_brl
from atende.domain.optout import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS

DEFAULT_BASE_URL = "https://kolmeya.com.br/api/v1"
DEFAULT_OPT_OUT_CONFIRMATION = (
    "Você não receberá mais nossas mensagens por SMS. Para voltar a receber, responda VOLTAR."
)


class KolmeyaConfig(BaseModel):
    """What an admin types when creating a Kolmeya connector. Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    api_token: str = Field(min_length=1, description="Bearer token from the Kolmeya panel (secret).")
    base_url: str = Field(default=DEFAULT_BASE_URL, description="API root; tests and proxies point it elsewhere.")
    tenant_segment_id: int | None = Field(
        default=None, description="Cost center (centro de custo) id from /sms/segments; Kolmeya's default when unset."
    )
    cost_per_segment: Decimal = Field(default=Decimal("0.10"), ge=0, description="BRL per SMS segment.")
    poll_interval_s: int = Field(default=60, ge=0, description="Reply/status polling interval; 0 turns it off.")
    low_balance_threshold: Decimal | None = Field(
        default=None, ge=0, description="BRL: the dashboard warns (and an event says so) when the balance drops below.")
    sms_economize: bool = Field(
        default=False, description="Economizar SMS: spell Portuguese in GSM-7 (á→a, ç→c, “”→\") when it saves segments."
    )
    # Kolmeya throttles per token (X-RateLimit-Limit: 500, window unknown). With a value here, sends
    # are paced, shared by every worker process through Redis when ATENDE_REDIS_URL is set. Having the
    # key at all also makes sends of one conversation go out in order after a provider outage.
    rate_per_second: float = Field(default=0, ge=0, description="Sends per second per connector; 0 = unpaced.")
    opt_out_keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_OPT_OUT_KEYWORDS))
    opt_in_keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_OPT_IN_KEYWORDS))
    opt_out_confirmation: str = DEFAULT_OPT_OUT_CONFIRMATION

    @field_validator("api_token")
    @classmethod
    def _clean_token(cls, value: str) -> str:
        token = value.strip()
        # People paste the header value they saw in other tools; the client adds "Bearer " itself.
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise ValueError("api_token não pode ser vazio")
        return token

    @field_validator("base_url")
    @classmethod
    def _clean_base_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url deve ser uma URL http(s) completa, ex.: {DEFAULT_BASE_URL}")
        return url

    @field_validator("cost_per_segment", "low_balance_threshold", mode="before")
    @classmethod
    def _brl_string(cls, value: object) -> object:
        # Accept "0.10", the pt-BR "0,10" and "R$ 0,10"; pydantic reports what parse_brl refuses.
        if isinstance(value, str):
            try:
                return parse_brl(value)
            except ValueError:
                return value
        return value

    @field_validator("opt_out_keywords", "opt_in_keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        return [word.strip().upper() for word in value if word.strip()]
