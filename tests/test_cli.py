"""The CLI tells the truth: the address it serves, the logins that work, and a busy port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atende.cli import main
from atende.demo import DEMO_PASSWORD, DEMO_USERS, demo_banner
from atende.ports import port_taken
from tests.support.services import free_port


def test_serve_refuses_a_busy_port_with_a_clear_hint() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert port_taken("127.0.0.1", port)
        with pytest.raises(SystemExit) as exc:
            main(["serve", "--setup", "--port", str(port)])
    message = str(exc.value.code)
    assert f"porta {port}" in message and "já está em uso" in message
    assert f"scripts/run --port {port + 1}" in message


def test_demo_banner_names_every_login_and_role() -> None:
    banner = demo_banner("127.0.0.1", 8123, 0.2)
    assert "http://127.0.0.1:8123" in banner and DEMO_PASSWORD in banner
    for email, name, _ in DEMO_USERS:
        assert f"{email:<22} {name}" in banner
    assert "(supervisão)" in banner and "(administração)" in banner


def test_scripts_run_prints_the_login_for_the_port_it_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ATENDE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
           "ATENDE_SECRET_KEY": "k" * 32}
    env.pop("ATENDE_PUBLIC_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "atende.cli", "serve", "--setup", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline and "senha:" not in out:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
    finally:
        proc.terminate()
        proc.wait(10)
    assert f"Primeiro acesso: http://127.0.0.1:{port}" in out, out
    assert "admin@atende.local" in out
