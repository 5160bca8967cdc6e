"""`atende import chatroom`: bring an AcruxLab ChatRoom history over from Odoo.

    atende import chatroom [--odoo-url U --db D --login L --api-key K] [--connector-map SRC=DST ...]
                           [--since YYYY-MM-DD] [--dry-run] [--verify]

Without the connection flags it uses the saved Odoo integration. A progress bar on a terminal, plain
lines otherwise (CI, logs). Exit status: 0 done, 1 `--verify` found a difference, 2 the import failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from atende.actions.errors import ActionError
from atende.integrations.odoo import chatroom_import as importer
from atende.integrations.odoo import settings as odoo_settings
from atende.integrations.odoo.client import OdooClient, OdooError

if TYPE_CHECKING:
    from atende.runtime import Runtime

EXIT_OK, EXIT_DIFFERENT, EXIT_FAILED = 0, 1, 2


def _map_item(value: str) -> tuple[int, int]:
    src, sep, dst = value.partition("=")
    if not sep or not src.strip().isdigit() or not dst.strip().isdigit():
        raise argparse.ArgumentTypeError(f"use SRC=DST com números de conector (ex.: 1=7), não {value!r}")
    return int(src), int(dst)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"data inválida {value!r}: use AAAA-MM-DD") from None


def add_arguments(sub: Any) -> None:
    imp = sub.add_parser("import", help="importar histórico de outro sistema")
    isub = imp.add_subparsers(dest="import_command", required=True)
    cr = isub.add_parser("chatroom", help="AcruxLab ChatRoom (Odoo): conectores, agentes, conversas, mensagens",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cr.add_argument("--odoo-url", help="endereço do Odoo (sem: a integração salva)")
    cr.add_argument("--db", help="banco de dados do Odoo")
    cr.add_argument("--login", help="login do usuário do Odoo")
    cr.add_argument("--api-key", default=os.environ.get("ATENDE_ODOO_API_KEY"),
                    help="chave de API do usuário (ou ATENDE_ODOO_API_KEY)")
    cr.add_argument("--connector-map", action="append", type=_map_item, default=[], metavar="SRC=DST",
                    help="o histórico do conector SRC do ChatRoom vai para o conector DST do atende (repetível)")
    cr.add_argument("--since", type=_date, metavar="AAAA-MM-DD", help="só conversas e mensagens desde esta data")
    cr.add_argument("--dry-run", action="store_true", help="mostra o que seria importado, sem gravar nada")
    cr.add_argument("--verify", action="store_true",
                    help="depois de importar, compara as contagens do Odoo e do atende por conector")
    cr.add_argument("--page-size", type=int, default=2000, help=argparse.SUPPRESS)


# ---- progress ------------------------------------------------------------------------------------

class PlainProgress:
    """A line per step, at most every few seconds: for CI and log files."""

    def __init__(self, out: TextIO, every_s: float = 2.0) -> None:
        self.out = out
        self.every_s = every_s
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.printed: dict[str, float] = {}

    def start(self, name: str, total: int) -> None:
        self.totals[name], self.done[name] = total, 0
        self.started[name] = self.printed[name] = time.monotonic()
        print(f"{name}: {total} a importar", file=self.out, flush=True)

    def advance(self, name: str, n: int) -> None:
        self.done[name] = self.done.get(name, 0) + n
        now = time.monotonic()
        total = self.totals.get(name, 0)
        if now - self.printed.get(name, 0) >= self.every_s or self.done[name] >= total:
            rate = self.done[name] / max(now - self.started.get(name, now), 1e-6)
            pct = 100 * self.done[name] / total if total else 100
            print(f"{name}: {self.done[name]}/{total} ({pct:.0f}%, {rate:.0f}/s)", file=self.out, flush=True)
            self.printed[name] = now

    def note(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def close(self) -> None:
        pass


class BarProgress:
    """tqdm bars on a terminal."""

    def __init__(self, out: TextIO) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.out = out
        self.bars: dict[str, Any] = {}

    def start(self, name: str, total: int) -> None:
        self.bars[name] = self._tqdm(total=total, desc=name, unit=" reg", file=self.out, dynamic_ncols=True,
                                     position=len(self.bars), leave=True)

    def advance(self, name: str, n: int) -> None:
        if name in self.bars:
            self.bars[name].update(n)

    def note(self, line: str) -> None:
        self._tqdm.write(line, file=self.out)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def make_progress(out: TextIO = sys.stdout) -> importer.Progress:
    if out.isatty() and not os.environ.get("CI"):
        return BarProgress(out)
    return PlainProgress(out)


# ---- output --------------------------------------------------------------------------------------

def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_report(report: importer.Report) -> str:
    rows: list[list[Any]] = [
        ["conectores novos (só histórico)", report.connectors_created],
        ["agentes", report.agents],
        ["conversas", report.conversations],
        ["  unidas a conversas existentes", report.merged],
        ["parceiros vinculados", report.partners_linked],
        ["mensagens", report.messages],
        ["anexos", f"{report.attachments} ({report.attachment_bytes / 1_048_576:.1f} MiB)"],
        ["conversas atualizadas", report.updated_conversations],
        ["mensagens atualizadas", report.updated_messages],
        ["tempo", f"{report.elapsed_s:.1f} s"],
    ]
    text = _table(["importado", "quantidade"], rows)
    if report.warnings:
        text += "\n\navisos (o resto foi importado):\n" + _table(
            ["tipo", "quantidade"], [[k, v] for k, v in sorted(report.warnings.items())])
    return text


def format_counts(rows: list[importer.ConnectorCounts], *, compare: bool) -> str:
    kinds = list(rows[0].odoo) if rows else []
    headers = ["conector ChatRoom", "canal", "destino"]
    table = []
    for row in rows:
        line: list[Any] = [f"{row.remote_id} {row.name}", row.channel, row.target]
        for kind in kinds:
            line.append(f"{row.odoo.get(kind, 0)} / {row.atende.get(kind, 0)}" if compare else row.odoo.get(kind, 0))
        if compare:
            line.append("ok" if not row.differences else "DIFERENTE")
        table.append(line)
    headers += [f"{k} (Odoo / atende)" if compare else k for k in kinds]
    if compare:
        headers.append("")
    return _table(headers, table)


# ---- the command ---------------------------------------------------------------------------------

async def _client(rt: Runtime, args: argparse.Namespace) -> OdooClient:
    given = [args.odoo_url, args.db, args.login, args.api_key]
    if args.odoo_url or args.db or args.login:
        if not all(given):
            raise importer.ImportFailed("passe --odoo-url, --db, --login e --api-key juntos "
                                        "(ou nenhum, para usar a integração salva)")
        try:
            return OdooClient(rt.http, args.odoo_url, args.db, args.login, args.api_key, timeout=120.0)
        except ValueError as exc:
            raise importer.ImportFailed(str(exc)) from None
    async with rt.read() as conn:
        config = await odoo_settings.load(conn, rt.secrets)
    if config is None:
        raise importer.ImportFailed("a integração com o Odoo não está configurada: configure em "
                                    "Configurações → Odoo ou passe --odoo-url, --db, --login e --api-key")
    return config.client(rt.http, timeout=120.0)


async def run(rt: Runtime, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    page = max(1000, min(2000, int(args.page_size)))
    options = importer.Options(connector_map=dict(args.connector_map), since=args.since, message_page=page,
                               conversation_page=min(page, 1000))
    try:
        client = await _client(rt, args)
        print(f"Odoo: {client.url} (banco {client.db}, usuário {client.login})", file=out)
        if args.dry_run:
            rows = await importer.plan(rt, client, options)
            print("simulação (nada foi gravado): a importar por conector\n" + format_counts(rows, compare=False),
                  file=out)
            return EXIT_OK
        report = await importer.Importer(rt, client, options, make_progress(out)).run()
        print(format_report(report), file=out)
        if args.verify:
            rows = await importer.verify(rt, client)
            print("\nverificação\n" + format_counts(rows, compare=True), file=out)
            if any(r.differences for r in rows):
                print("as contagens não batem: veja as linhas DIFERENTE acima", file=out)
                return EXIT_DIFFERENT
            print("todas as contagens batem", file=out)
    except importer.ImportFailed as exc:
        print(f"erro: {exc.detail}", file=out)
        return EXIT_FAILED
    except (OdooError, ActionError) as exc:
        print(f"erro: {exc.detail}", file=out)
        return EXIT_FAILED
    return EXIT_OK
