"""Texts with variables: normal names, rendering, missing values (and the JS twin agrees)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atende
from atende.domain.variables import normal_name, normal_values, render, variables_in

JS_MODULE = Path(atende.__file__).parent / "web" / "static" / "js" / "template-vars.js"
NODE = shutil.which("node") or "/usr/bin/node"


def test_names_meet_in_normal_form() -> None:
    assert normal_name(" Nome ") == "nome"
    assert normal_name("Data de Vencimento") == "data_de_vencimento"
    assert normal_name("Endereço") == "endereco"
    assert normal_name("VALOR-TOTAL") == "valor_total"
    assert variables_in("Olá {{Nome}}, {{ valor }} vence {{vencimento}}; {{NOME}} {{}}") == [
        "nome", "valor", "vencimento"]


def test_render_fills_and_reports_missing() -> None:
    values = normal_values({"Nome": "Ana", "valor": "R$ 10,00", "vencimento": "  ", "x": None})
    assert values == {"nome": "Ana", "valor": "R$ 10,00"}
    done = render("Oi {{ nome }}, {{valor}} vence {{Vencimento}} ({{vencimento}})", values)
    assert done.text == "Oi Ana, R$ 10,00 vence {{Vencimento}} ({{vencimento}})"
    assert done.missing == ("vencimento",)
    assert render("sem variáveis", {}).missing == ()


def test_a_value_with_braces_is_not_rendered_again() -> None:
    assert render("{{a}} {{b}}", {"a": "{{b}}", "b": "B"}).text == "{{b}} B"


names = st.text(st.sampled_from("abcdeçãé ABC-_12"), min_size=0, max_size=12)
texts = st.lists(st.one_of(st.text(st.sampled_from("xyz ,.ãé{}"), max_size=6), names.map(lambda n: "{{" + n + "}}")),
                 max_size=12).map("".join)
value_maps = st.dictionaries(names, st.text(st.sampled_from("ab 1ç{}"), max_size=5), max_size=6)


@given(texts, value_maps)
def test_rendered_text_has_no_placeholder_with_a_value(text: str, raw: dict[str, str]) -> None:
    values = normal_values(raw)
    done = render(text, values)
    for name in variables_in(text):
        assert (name in done.missing) == (name not in values)


RUNNER = """
import { pathToFileURL } from "node:url";
const mod = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
process.stdout.write(JSON.stringify(cases.map(([text, raw]) => {
  const values = mod.normalValues(raw);
  const done = mod.render(text, values);
  return [mod.variablesIn(text), done.text, done.missing, Object.keys(values).sort()];
})));
"""


def test_js_twin_matches_python(tmp_path: Path) -> None:
    cases: list[tuple[str, dict[str, str]]] = [
        ("Olá {{Nome}}, {{constructor}} {{__proto__}} {{ toString }}", {"Nome": "Ana"}),
        ("{{Endereço}} {{data de vencimento}}", {"endereco": "Rua 1", "Data-de-Vencimento": "10/12"}),
    ]

    @settings(max_examples=300, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(texts, value_maps)
    def draw(text: str, raw: dict[str, str]) -> None:
        cases.append((text, raw))

    draw()
    runner = tmp_path / "vars-runner.mjs"
    runner.write_text(RUNNER, encoding="utf-8")
    proc = subprocess.run([NODE, str(runner), str(JS_MODULE)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    assert js[0][1] == "Olá Ana, {{constructor}} {{__proto__}} {{ toString }}"
    mismatches = []
    for (text, raw), got in zip(cases, js, strict=True):
        values = normal_values(raw)
        done = render(text, values)
        expected = [variables_in(text), done.text, list(done.missing), sorted(values)]
        if got != expected:
            mismatches.append((text, raw, expected, got))
    assert not mismatches, mismatches[:3]
