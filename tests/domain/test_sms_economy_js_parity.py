"""The composer's "Economizar SMS" (sms-economy.js) must spell exactly like atende.domain.sms_economy.

Every character up to U+2FFF and around the typographic blocks, one at a time, then Hypothesis texts:
all in ONE node process that imports the module and answers with its spellings as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atende
from atende.domain.sms_economy import REPLACEMENTS, cheaper, economize

JS_MODULE = Path(atende.__file__).parent / "web" / "static" / "js" / "sms-economy.js"
NODE = shutil.which("node") or "/usr/bin/node"

RUNNER = """
import { pathToFileURL } from "node:url";
const mod = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const texts = JSON.parse(input);
process.stdout.write(JSON.stringify(texts.map((t) => [mod.economize(t), mod.cheaper(t)])));
"""

SINGLE_CHARS = [chr(cp) for cp in range(0x3000) if not 0xD800 <= cp <= 0xDFFF] + ["\u3000", "\ufeff", "😀", "👍🏽"]
PT = [*list("abcdeçãõáéíóúâêôàÇÃÕÁÉÍÓÚÂÊÔü .,!?“”‘’–—…ºª°0123456789\n"), "😀", "€", "\xa0"]
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(PT), max_size=400).map("".join),
    st.lists(st.sampled_from([*REPLACEMENTS, "a", "ã"]), max_size=300).map("".join),
)


def _collect(n: int) -> list[str]:
    drawn: list[str] = []

    @settings(max_examples=n, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(texts)
    def draw(text: str) -> None:
        drawn.append(text)

    draw()
    return drawn


def test_js_economize_matches_python(tmp_path: Path) -> None:
    samples = [*SINGLE_CHARS, "Olá, João! “2ª via” – até 30/11…", "…" * 160, *_collect(300)]
    runner = tmp_path / "economy-runner.mjs"
    runner.write_text(RUNNER, encoding="utf-8")
    proc = subprocess.run([NODE, str(runner), str(JS_MODULE)], input=json.dumps(samples), capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    assert len(js) == len(samples)
    assert js[SINGLE_CHARS.index("ã")] == ["a", "ã"]  # node really spelled what it was sent
    mismatches = [(t, [economize(t), cheaper(t)], got) for t, got in zip(samples, js, strict=True)
                  if got != [economize(t), cheaper(t)]]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:5]!r}"
