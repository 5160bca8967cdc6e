"""static/js/waiting.js colours cards between renders: its rule must be atende.domain.waiting.level."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atende
from atende.domain.waiting import Thresholds, level

JS_MODULE = Path(atende.__file__).parent / "web" / "static" / "js" / "waiting.js"
NODE = shutil.which("node") or "/usr/bin/node"
RUNNER = """
import { pathToFileURL } from "node:url";
const mod = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
process.stdout.write(JSON.stringify(JSON.parse(input).map(([w, a, b]) => mod.level(w, a, b))));
"""
EDGES = [(w, 300, 900) for w in (0, 299.999, 300, 300.001, 899, 900, 901)] + \
    [(10**6, 0, 0), (400, 0, 900), (950, 300, 0), (500, 600, 400), (0, 0, 0)]


def _drawn(n: int) -> list[tuple[float, int, int]]:
    out: list[tuple[float, int, int]] = []

    @settings(max_examples=n, database=None, suppress_health_check=list(HealthCheck))
    @given(st.floats(0, 10**7, allow_nan=False), st.integers(0, 10**5), st.integers(0, 10**5))
    def draw(w: float, warn: int, late: int) -> None:
        out.append((w, warn, late))

    draw()
    return out


def test_js_level_matches_python(tmp_path: Path) -> None:
    cases = EDGES + _drawn(500)
    runner = tmp_path / "level-runner.mjs"
    runner.write_text(RUNNER, encoding="utf-8")
    result = subprocess.run([NODE, str(runner), str(JS_MODULE)], input=json.dumps(cases),
                            capture_output=True, text=True, timeout=60, check=True)
    js = json.loads(result.stdout)
    assert js == [level(w, Thresholds(a, b)) for w, a, b in cases]
