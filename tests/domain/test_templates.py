"""The text of a WhatsApp template message as the customer reads it (atende.domain.templates)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.templates import MAX_RENDERED_CHARS, fill_placeholders, parameter_text, render_template

ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}"},
    {"type": "BODY", "text": "Olá {{1}}, seu pedido de {{2}} chega em {{3}}."},
    {"type": "FOOTER", "text": "Loja Exemplo"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Falar com atendente"},
        {"type": "URL", "text": "Rastrear", "url": "https://loja.example/r/{{1}}"},
    ]},
]


def text(value: str, name: str | None = None) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"parameter_name": name} if name else {})}


def test_header_body_footer_and_buttons_with_every_parameter_kind() -> None:
    send = [
        {"type": "header", "parameters": [text("#4512")]},
        {"type": "body", "parameters": [
            text("Maria"),
            {"type": "currency", "currency": {"amount_1000": 100990, "code": "BRL", "fallback_value": "R$ 100,99"}},
            {"type": "date_time", "date_time": {"fallback_value": "3 de março"}},
        ]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [text("4512")]},
    ]
    assert render_template(ORDER_UPDATE, send) == (
        "Pedido #4512\n"
        "Olá Maria, seu pedido de R$ 100,99 chega em 3 de março.\n"
        "Loja Exemplo\n"
        "[Falar com atendente] [Rastrear]"
    )


def test_named_parameters_by_name_in_any_order() -> None:
    definition = [{"type": "BODY", "text": "Oi {{first_name}}, seu código é {{code}}. Até logo, {{first_name}}!"}]
    send = [{"type": "body", "parameters": [text("123456", "code"), text("Ana", "first_name")]}]
    assert render_template(definition, send) == "Oi Ana, seu código é 123456. Até logo, Ana!"


def test_named_placeholders_without_names_take_parameters_in_order_of_appearance() -> None:
    definition = [{"type": "BODY", "text": "Oi {{first_name}}, pedido {{order}}; {{first_name}} de novo"}]
    send = [{"type": "body", "parameters": [text("Ana"), text("77")]}]
    assert render_template(definition, send) == "Oi Ana, pedido 77; Ana de novo"


def test_missing_or_non_text_parameters_leave_the_placeholder_visible() -> None:
    definition = [{"type": "BODY", "text": "Olá {{1}}, total {{2}}, data {{3}}, extra {{4}}"}]
    send = [{"type": "body", "parameters": [
        text("Ana"),
        {"type": "image", "image": {"link": "https://x.example/a.jpg"}},
        {"type": "currency", "currency": {"amount_1000": 1000}},  # no fallback_value
    ]}]
    assert render_template(definition, send) == "Olá Ana, total {{2}}, data {{3}}, extra {{4}}"
    named = [{"type": "BODY", "text": "Oi {{first_name}} {{last_name}}"}]
    assert render_template(named, [{"type": "body", "parameters": [text("Ana", "first_name")]}]) == \
        "Oi Ana {{last_name}}"
    assert render_template(definition, None) == definition[0]["text"]


def test_values_are_not_substituted_twice() -> None:
    definition = [{"type": "BODY", "text": "{{1}} e {{2}}"}]
    send = [{"type": "body", "parameters": [text("{{2}}"), text("dois")]}]
    assert render_template(definition, send) == "{{2}} e dois"


def test_media_header_and_empty_templates() -> None:
    definition = [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Seu boleto chegou."}]
    send = [{"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.example/b.jpg"}}]}]
    assert render_template(definition, send) == "Seu boleto chegou."
    assert render_template([], []) is None  # known only from a status webhook: nothing to show
    assert render_template(None, None) is None
    assert render_template("BODY", {"type": "body"}) is None
    assert render_template([{"type": "BODY", "text": "   "}, {"type": "FOOTER", "text": 3}], None) is None


def test_header_and_body_parameters_do_not_mix() -> None:
    definition = [{"type": "HEADER", "format": "TEXT", "text": "Olá {{1}}"},
                  {"type": "BODY", "text": "Pedido {{1}}"}]
    send = [{"type": "body", "parameters": [text("99")]}, {"type": "header", "parameters": [text("Ana")]}]
    assert render_template(definition, send) == "Olá Ana\nPedido 99"


def test_parameter_text_kinds() -> None:
    assert parameter_text(text("x")) == "x"
    assert parameter_text({"text": "sem tipo"}) == "sem tipo"
    assert parameter_text({"type": "TEXT", "text": 12}) == "12"
    assert parameter_text({"type": "text", "text": True}) is None
    assert parameter_text({"type": "date_time", "date_time": "3 de março"}) is None
    assert parameter_text({"type": "payload", "payload": "STOP"}) is None
    assert parameter_text(["text", "x"]) is None
    assert parameter_text({"type": "text", "text": 10**5000}) is None  # too long to print: no crash


def test_long_renders_are_cut() -> None:
    definition = [{"type": "BODY", "text": "{{1}}"}]
    out = render_template(definition, [{"type": "body", "parameters": [text("a" * 10_000)]}])
    assert out is not None and len(out) == MAX_RENDERED_CHARS and out.endswith("…")


# ------------------------------------------------------------------------------------- properties

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "text", "format", "buttons", "parameters", "parameter_name", "currency",
                         "date_time", "fallback_value", "x"]) | st.text(max_size=5), inner, max_size=5),
    max_leaves=25,
)
component_type = st.sampled_from(["HEADER", "BODY", "FOOTER", "BUTTONS", "header", "body", "button", "x"])
placeholder_text = st.lists(
    st.sampled_from(["Oi ", "{{1}}", "{{2}}", "{{ 3 }}", "{{nome}}", "{{", "}}", "{{}}", " fim", "\n"]), max_size=8,
).map("".join)
parameter = st.one_of(
    json_value,
    st.builds(lambda v, n: {"type": "text", "text": v, **({"parameter_name": n} if n else {})},
              json_leaf, st.none() | st.sampled_from(["nome", "1", ""])),
    st.builds(lambda k, v: {"type": k, k: {"fallback_value": v}}, st.sampled_from(["currency", "date_time"]),
              json_leaf),
)
definition_component = st.fixed_dictionaries(
    {"type": component_type},
    optional={"text": placeholder_text | json_leaf, "format": st.sampled_from(["TEXT", "IMAGE"]) | json_leaf,
              "buttons": st.lists(st.fixed_dictionaries({}, optional={"text": json_leaf}), max_size=3) | json_leaf},
)
send_component = st.fixed_dictionaries(
    {"type": component_type}, optional={"parameters": st.lists(parameter, max_size=5) | json_value},
)


@given(st.lists(definition_component, max_size=5) | json_value, st.lists(send_component, max_size=4) | json_value)
def test_rendering_never_raises(definition: Any, send: Any) -> None:
    out = render_template(definition, send)
    assert out is None or (isinstance(out, str) and 0 < len(out) <= MAX_RENDERED_CHARS)


@given(placeholder_text, st.lists(parameter, max_size=6) | json_value)
def test_substitution_never_raises(template_text: str, params: Any) -> None:
    assert isinstance(fill_placeholders(template_text, params), str)


plain = st.text(alphabet=st.characters(blacklist_characters="{}|", blacklist_categories=("Cs",)), max_size=12)


@given(st.integers(min_value=1, max_value=6), st.data())
def test_given_parameters_fill_their_placeholders_and_missing_ones_stay_visible(n: int, data: st.DataObject) -> None:
    body = "|".join(f"{{{{{i}}}}}" for i in range(1, n + 1))
    values = data.draw(st.lists(plain, max_size=n))
    pieces = fill_placeholders(body, [text(v) for v in values]).split("|")
    assert len(pieces) == n
    for i, piece in enumerate(pieces, start=1):
        # Given: its value. Missing: the placeholder is left for the agent to see.
        assert piece == (values[i - 1] if i <= len(values) else f"{{{{{i}}}}}")
