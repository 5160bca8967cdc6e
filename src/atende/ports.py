"""Is the port free? Checked by `atende serve` and `atende demo` before printing any login hint."""

from __future__ import annotations

import socket
import sys


def port_taken(host: str, port: int) -> bool:
    """True when something already listens on host:port (checked before printing any login hint)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def exit_if_port_taken(host: str, port: int, command: str) -> None:
    if port_taken(host, port):
        sys.exit(f"erro: a porta {port} em {host} já está em uso (outro atende ainda rodando?).\n"
                 f"  Pare o outro processo ou escolha outra porta: {command} --port {port + 1}")
