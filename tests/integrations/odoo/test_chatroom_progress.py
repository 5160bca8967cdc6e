"""The import's progress: a tqdm bar on a terminal, plain lines otherwise (CI, logs)."""

from __future__ import annotations

import io

import pytest

from atende.integrations.odoo.chatroom_cli import BarProgress, PlainProgress, make_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = make_progress(out)
    assert isinstance(progress, PlainProgress)
    progress.start("mensagens", 4000)
    progress.advance("mensagens", 2000)
    progress.advance("mensagens", 2000)
    progress.note("aviso: mensagem 7: tipo 'product' desconhecido")
    text = out.getvalue()
    assert "mensagens: 4000 a importar" in text and "mensagens: 4000/4000 (100%" in text and "aviso:" in text
    assert "\r" not in text  # no bar redraws in logs


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    out = _Terminal()
    progress = make_progress(out)
    assert isinstance(progress, BarProgress)
    progress.start("conversas", 5)
    progress.advance("conversas", 5)
    progress.note("aviso: linha")
    progress.close()
    assert "conversas" in out.getvalue() and "5/5" in out.getvalue() and "aviso: linha" in out.getvalue()
    monkeypatch.setenv("CI", "true")
    assert isinstance(make_progress(_Terminal()), PlainProgress)
