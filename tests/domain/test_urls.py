"""Provider base URLs: https only; http to this machine only when allowed; no link-local/metadata."""

from __future__ import annotations

import pytest

from atende.domain.urls import UnsafeUrl, check_provider_url


@pytest.mark.parametrize("url", ["https://kolmeya.com.br/api/v1", "https://graph.facebook.com",
                                 "https://10.0.0.5:8443/proxy"])
def test_https_is_allowed(url: str) -> None:
    check_provider_url(url, allow_http_loopback=False)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/api", "http://localhost/api", "http://[::1]/x",
                                 "http://kolmeya.test/api/v1"])
def test_http_to_this_machine_only_with_the_setting(url: str) -> None:
    check_provider_url(url, allow_http_loopback=True)
    with pytest.raises(UnsafeUrl):
        check_provider_url(url, allow_http_loopback=False)


@pytest.mark.parametrize("url", [
    "http://kolmeya.com.br/api/v1", "https://169.254.169.254/latest/meta-data", "http://169.254.169.254/",
    "https://metadata.google.internal/computeMetadata", "https://[fe80::1]/", "https://[::ffff:169.254.169.254]/",
    "https://100.100.100.200/", "https://user:pass@kolmeya.com.br/", "gopher://x", "https://", "https://0.0.0.0/",
])
def test_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_provider_url(url, allow_http_loopback=True)
