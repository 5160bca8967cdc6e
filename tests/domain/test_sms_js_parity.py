"""The composer's live counter (sms-segments.js) must agree with atende.domain.sms.count_segments.

Hypothesis generates the texts; all of them go to ONE node process, which imports the module and
answers with its counts as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atende
from atende.domain.sms import GSM7_BASIC, GSM7_EXTENSION, count_segments

JS_MODULE = Path(atende.__file__).parent / "web" / "static" / "js" / "sms-segments.js"
NODE = shutil.which("node") or "/usr/bin/node"

RUNNER = """
import { pathToFileURL } from "node:url";
const mod = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const texts = JSON.parse(input);
process.stdout.write(JSON.stringify(texts.map((t) => mod.countSegments(t))));
"""

GSM = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
PIECES = [*GSM, *"ãõçáéíóúâêôÃÕÇ`\t", "😀", "👍🏽", "🇧🇷", "👨‍👩‍👧", "漢", "€", "^", "{", "\f", "é", "\u00a0"]

texts = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from(GSM), max_size=400),
    st.lists(st.sampled_from(PIECES), max_size=350).map("".join),
    # around the single-part limits and the part boundaries
    st.builds(
        lambda n, tail: "a" * n + tail,
        st.integers(140, 320),
        st.text(st.sampled_from(["€", "^", "a", "ã", "😀"]), max_size=12),
    ),
    st.builds(
        lambda n, tail: "ã" * n + tail,
        st.integers(60, 210),
        st.text(st.sampled_from(["😀", "ã", "a", "€"]), max_size=8),
    ),
)

EDGE_CASES = [
    "",
    "a" * 160,
    "a" * 161,
    "a" * 152 + "€" + "a" * 7,
    "€" * 80,
    "€" * 81,
    "ã" * 70,
    "ã" * 71,
    "ã" * 66 + "😀" + "ã" * 3,
    "😀" * 35,
    "😀" * 36,
    "`",
    "\f",
    "Olá! Responda SAIR para não receber mais.",
]
# every character of Latin-1, Latin Extended and Greek alone, plus the euro and typographic marks:
# the two alphabet tables must agree character by character, not only on random texts.
SINGLE_CHARS = [chr(cp) for cp in range(0x400) if not 0xD800 <= cp <= 0xDFFF] + list("€‘’“”–—…•")


def _collect_texts(n: int) -> list[str]:
    """Draw n texts with Hypothesis (no shrinking needed: the comparison happens afterwards)."""
    drawn: list[str] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(texts)
    def draw(text: str) -> None:
        drawn.append(text)

    draw()
    return drawn


def _node_counts(samples: list[str], workdir: Path) -> list[dict[str, object]]:
    runner = workdir / "count-runner.mjs"
    runner.write_text(RUNNER, encoding="utf-8")
    proc = subprocess.run(
        [NODE, str(runner), str(JS_MODULE)],
        input=json.dumps(samples),  # ASCII with \\u escapes: surrogate pairs survive
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: list[dict[str, object]] = json.loads(proc.stdout)
    return result


def test_js_counter_matches_python(tmp_path: Path) -> None:
    samples = EDGE_CASES + SINGLE_CHARS + _collect_texts(300)
    assert len(samples) >= 1300
    js = _node_counts(samples, tmp_path)
    assert len(js) == len(samples)
    # node really counted what it was sent (EDGE_CASES[2] is "a" * 161, [9] is 35 emoji)
    assert js[2] == {"encoding": "gsm7", "segments": 2, "units": 161, "perSegment": 153, "remaining": 145}
    assert js[9] == {"encoding": "ucs2", "segments": 1, "units": 70, "perSegment": 70, "remaining": 0}
    mismatches = []
    for text, got in zip(samples, js, strict=True):
        py = asdict(count_segments(text))
        expected = {
            "encoding": py["encoding"],
            "segments": py["segments"],
            "units": py["units"],
            "perSegment": py["per_segment"],
            "remaining": py["remaining"],
        }
        if got != expected:
            mismatches.append((text, expected, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]!r}"
