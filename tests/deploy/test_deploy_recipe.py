"""The production recipe in deploy/ is valid as far as this machine can tell without docker or systemd
running: nginx -t on the site, systemd-analyze verify on the units, the compose file and Containerfile
parsed and checked against the code (CLI commands, settings, body limits), the README's environment
reference complete."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from atende.cli import _parser
from atende.media.policy import MAX_UPLOAD_BYTES
from atende.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ATENDE = str(Path(sys.executable).parent / "atende")


def need(tool: str) -> str:
    """The tool's path, or fail (never skip): scripts/setup installs it."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/setup (Debian package for {tool})", pytrace=False)
    return path


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atende.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "fullchain.pem", tmp / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_site() -> str:
    return (DEPLOY / "nginx" / "atende.conf").read_text()


def location(site: str, pattern: str) -> str:
    match = re.search(r"location\s+" + pattern + r"\s*\{(.*?)\n    \}", site, re.S)
    assert match, f"no location {pattern}"
    return match.group(1)


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx = need("nginx")
    cert, key = self_signed(tmp_path)
    site = (nginx_site().replace("/etc/letsencrypt/live/atende.example.com/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/atende.example.com/privkey.pem", str(key)))
    (tmp_path / "atende.conf").write_text(site)
    temp = "".join(f"    {kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                               "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}    include {tmp_path / 'atende.conf'};\n}}\n")
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_nginx_site_matches_the_service() -> None:
    site = nginx_site()
    assert re.search(r"listen 443 ssl http2;", site)
    events = location(site, r"= /api/v1/events")
    assert "proxy_buffering off;" in events and "proxy_read_timeout 1h;" in events
    webhooks = location(site, r"/webhooks/")
    limit = size(re.search(r"client_max_body_size (\w+);", webhooks).group(1))  # type: ignore[union-attr]
    assert limit >= Settings().max_webhook_bytes  # never refuses what atende itself accepts
    assert "access_log off;" in webhooks  # webhook URLs carry tokens
    uploads = location(site, r"= /api/v1/media")
    assert size(re.search(r"client_max_body_size (\w+);", uploads).group(1)) >= MAX_UPLOAD_BYTES  # type: ignore[union-attr]
    assert "X-Forwarded-Proto" in site and "return 301 https://" in site


@pytest.mark.parametrize("unit", ["atende-web.service", "atende-worker.service", "atende-backup.service",
                                  "atende-backup.timer"])
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    env = tmp_path / "atende.env"
    env.write_text((DEPLOY / "atende.env.example").read_text())
    for source in (DEPLOY / "systemd").iterdir():  # the executable and env file as installed here
        text = (source.read_text().replace("/opt/atende/.venv/bin/atende", ATENDE)
                .replace("/etc/atende/atende.env", str(env)))
        (tmp_path / source.name).write_text(text)
    done = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    problems = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert problems == []  # unknown keys and bad values are only warned about: none allowed


def test_systemd_commands_are_real_cli_commands() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in unit.read_text().splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                argv = shlex.split(line.split("=", 1)[1])
                assert argv[0] == "/opt/atende/.venv/bin/atende"
                _parser().parse_args(argv[1:])  # exits (fails the test) if atende does not know it


def test_compose_file() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker"}
    build = services["migrate"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Containerfile"
    for name in ("migrate", "web", "worker"):
        service = services[name]
        assert service["command"][0] == "atende"
        _parser().parse_args(service["command"][1:])
        env = service["environment"]
        assert env["ATENDE_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["ATENDE_REDIS_URL"].startswith("redis://")
        assert env["ATENDE_RUN_MIGRATIONS_ON_START"] == "false"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert services["web"]["volumes"] == services["worker"]["volumes"]  # media shared by both roles


def test_containerfile_builds_from_the_repository() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    cmd = re.search(r'^CMD (\[.*\])$', text, re.M).group(1)  # type: ignore[union-attr]
    argv = yaml.safe_load(cmd)
    assert argv[0] == "atende"
    _parser().parse_args(argv[1:])
    assert "npm ci" in text and "package-lock.json" in text


def test_every_setting_is_in_the_environment_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    fields = {f"ATENDE_{name.upper()}" for name in Settings.model_fields}
    missing = sorted(f for f in fields if f"`{f}`" not in readme)
    assert not missing, f"README.md environment reference lacks {missing}"
    example = (DEPLOY / "atende.env.example").read_text()
    for name in re.findall(r"^(ATENDE_\w+)=", example, re.M):
        assert name in fields or name == "ATENDE_NODE_MODULES", name
