from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from atende.channels.kolmeya import KolmeyaConfig, KolmeyaProvider
from atende.domain.optout import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS


def test_defaults_follow_the_contract() -> None:
    config = KolmeyaConfig(api_token="abc")
    assert config.base_url == "https://kolmeya.com.br/api/v1"
    assert config.tenant_segment_id is None
    assert config.cost_per_segment == Decimal("0.10")
    assert config.poll_interval_s == 60
    assert config.opt_out_keywords == list(DEFAULT_OPT_OUT_KEYWORDS)
    assert config.opt_in_keywords == list(DEFAULT_OPT_IN_KEYWORDS)
    assert "VOLTAR" in config.opt_out_confirmation


@pytest.mark.parametrize("raw", ["0.08", "0,08", "R$ 0,08", Decimal("0.08")])
def test_cost_per_segment_accepts_decimal_strings(raw: object) -> None:
    config = KolmeyaConfig.model_validate({"api_token": "abc", "cost_per_segment": raw})
    assert config.cost_per_segment == Decimal("0.08")


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"api_token": ""},
        {"api_token": "   "},
        {"api_token": "abc", "poll_interval_s": -1},
        {"api_token": "abc", "cost_per_segment": "-0.10"},
        {"api_token": "abc", "cost_per_segment": "dez centavos"},
        {"api_token": "abc", "base_url": "kolmeya.com.br/api/v1"},
        {"api_token": "abc", "segment_id": 109},  # the company's wrong key: refused, not ignored
    ],
)
def test_bad_config_is_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        KolmeyaConfig.model_validate(values)


def test_token_and_url_are_cleaned() -> None:
    config = KolmeyaConfig(api_token="  Bearer abc123 \n", base_url="https://kolmeya.com.br/api/v1/")
    assert config.api_token == "abc123"
    assert config.base_url == "https://kolmeya.com.br/api/v1"


def test_poll_interval_zero_turns_polling_off() -> None:
    assert KolmeyaConfig(api_token="abc", poll_interval_s=0).poll_interval_s == 0


def test_provider_declares_its_contract() -> None:
    assert KolmeyaProvider.name == "kolmeya"
    assert KolmeyaProvider.channel == "sms"
    assert KolmeyaProvider.capabilities.segments and KolmeyaProvider.capabilities.polling
    assert not KolmeyaProvider.capabilities.media
    assert KolmeyaProvider.config_model is KolmeyaConfig
    assert KolmeyaProvider.secret_fields == frozenset({"api_token"})
