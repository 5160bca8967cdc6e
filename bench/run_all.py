"""Every row of issue 12's performance table in one command, printed as a markdown table with the
machine, the date and the exact command of each row (each row runs its own benchmark script).

    .venv/bin/python bench/run_all.py                 # full sizes: 1 M conversations / 10 M messages (long)
    .venv/bin/python bench/run_all.py --quick         # small sizes, a few minutes
    .venv/bin/python bench/run_all.py --conversations 100000 --messages 1000000 --only scale

Rows: ingest (SQLite, one process; PostgreSQL + Redis, 2 web + 1 worker; batched WhatsApp webhooks; the
ingest transaction's CPU per message), live updates (1,000 idle
streams' memory; webhook → SSE p99 at 50 msg/s with 50 reading + 1,000 idle streams), and the board,
a conversation, board search and message search on SQLite and on PostgreSQL, and the supervisors'
dashboard and reports summary at that many conversations (issue 9).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem_kb = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{model}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, load average {load:.1f} at start")


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "?"


def run_json(args: list[str]) -> tuple[list[dict[str, Any]], str, float]:
    """Run a benchmark script with --json; its JSON lines, the command as typed, seconds taken."""
    cmd = [PY, *args, "--json"]
    shown = ".venv/bin/python " + " ".join(shlex.quote(a) for a in args)
    print(f"$ {shown}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"failed: {shown}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return rows, shown, took


Row = tuple[str, str, str, bool | None, str]  # measure, result, goal, met, command


def ingest_rows(quick: bool) -> list[Row]:
    requests = "5000" if quick else "20000"
    out: list[Row] = []
    runs = (("inbound Kolmeya webhooks stored, SQLite, one process", "bench/ingest.py", [], 5000),
            ("inbound Kolmeya webhooks stored, PostgreSQL + Redis, 2 web + 1 worker", "bench/ingest.py",
             ["--database", "postgres", "--web-processes", "2"], 5000),
            ("inbound WhatsApp webhooks stored, 10 messages per webhook, SQLite, one process",
             "bench/whatsapp_ingest.py", ["--per-request", "10", "--warmup", "100"], 10000))
    for label, script, extra, goal in runs:
        n = str(int(requests) // 10) if "--per-request" in extra else requests
        [r], cmd, _ = run_json([script, "--requests", n, "--concurrency", "64", *extra])
        lost = r["acked"] - r["stored"]
        out.append((label, f"{r['throughput']:.0f} msg/s (p99 {r['p99_ms']:.0f} ms, {r['acked']} acked, {lost} lost; "
                           f"{r['cpu_us_per_msg']:.0f} µs CPU per message)",
                    f"{goal:,} msg/s, none lost", r["throughput"] >= goal and lost <= 0, cmd))
    [r], cmd, _ = run_json(["bench/ingest_tx.py", "--messages", requests])
    out.append(("the ingest transaction alone (Kolmeya reply, existing conversation, SQLite)",
                f"{r['cpu_us_per_msg']:.0f} µs CPU per message", "—", None, cmd))
    return out


def sse_rows(quick: bool) -> list[Row]:
    idle, readers, seconds = ("200", "10", "5") if quick else ("1000", "50", "20")
    [r], cmd, _ = run_json(["bench/sse.py", "--idle", idle, "--readers", readers, "--rate", "50",
                            "--seconds", seconds])
    per_1000 = r["idle_mb"] * 1000 / max(1, r["idle"])
    return [
        (f"memory of {idle} idle SSE streams", f"+{r['idle_mb']:.1f} MB ({per_1000:.0f} MB per 1,000)",
         "< 60 MB per 1,000", per_1000 < 60, cmd),
        (f"webhook → SSE event, {readers} reading + {idle} idle streams, 50 msg/s",
         f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, {r['missed']} missed, RSS {r['peak_mb']:.0f} MB",
         "p99 < 100 ms, none missed, RSS < 200 MB",
         r["p99_ms"] < 100 and r["missed"] == 0 and r["peak_mb"] < 200, cmd),
    ]


def scale_rows(conversations: int, messages: int, iterations: int) -> list[Row]:
    out: list[Row] = []
    for database in ("sqlite", "postgres"):
        [r], cmd, took = run_json(["bench/scale.py", "--database", database, "--conversations", str(conversations),
                                   "--messages", str(messages), "--iterations", str(iterations)])
        for page in r["rows"]:
            out.append((f"{page['page']}, {database}, {conversations:,} conv. / {messages:,} msgs",
                        f"p50 {page['p50']:.1f} ms, p95 {page['p95']:.1f} ms", f"p95 < {page['goal_ms']:.0f} ms",
                        page["p95"] < page["goal_ms"], cmd))
        print(f"  ({database}: {took:.0f} s with seeding)", file=sys.stderr)
    return out


def dashboard_rows(conversations: int, iterations: int) -> list[Row]:
    rows, cmd, took = run_json(["bench/dashboard.py", "--conversations", str(conversations),
                                "--iterations", str(iterations)])
    out: list[Row] = []
    for r in rows:
        summary = r["page"].startswith("summary")  # grows with the period's attendances: no fixed goal
        out.append((f"{r['page']}, sqlite, {conversations:,} conv.", f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms",
                    "—" if summary else "p95 < 100 ms", None if summary else r["p95"] < 100, cmd))
    print(f"  (dashboard: {took:.0f} s with seeding)", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (minutes, not an hour)")
    ap.add_argument("--conversations", type=int)
    ap.add_argument("--messages", type=int)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--only", nargs="+", choices=("ingest", "sse", "scale", "dashboard"),
                    default=["ingest", "sse", "scale", "dashboard"])
    args = ap.parse_args()
    conversations = args.conversations or (20_000 if args.quick else 1_000_000)
    messages = args.messages or (200_000 if args.quick else 10_000_000)
    started = datetime.now(UTC)
    header = machine()
    rows: list[Row] = []
    if "ingest" in args.only:
        rows += ingest_rows(args.quick)
    if "sse" in args.only:
        rows += sse_rows(args.quick)
    if "scale" in args.only:
        rows += scale_rows(conversations, messages, 60 if args.quick else args.iterations)
    if "dashboard" in args.only:
        rows += dashboard_rows(conversations, 60 if args.quick else 100)
    print(f"\n**Machine:** {header}  ")
    print(f"**Date:** {started:%Y-%m-%d %H:%M} UTC, commit {commit()}, "
          f"{(datetime.now(UTC) - started).total_seconds() / 60:.0f} min in all\n")
    print("| measure | result | goal | met | command |")
    print("|---|---|---|---|---|")
    for measure, result, goal, met, cmd in rows:
        mark = "—" if met is None else ("yes" if met else "**no**")
        print(f"| {measure} | {result} | {goal} | {mark} | `{cmd}` |")


if __name__ == "__main__":
    main()
