"""Error messages in the caller's language: pydantic's validation errors and the actions' details.

Pydantic writes "String should have at most 4096 characters"; an agent reads "Mensagem: use no
máximo 4.096 caracteres (tem 5.000)." or its English twin, by the language of the signed-in user
(else the language cookie, else Accept-Language, else pt-BR). The JSON shape stays the same
(`{"detail": [{"loc", "msg", "type"}]}`): only `msg` changes, so integrators keep `type` and `loc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal
from fastapi import Request

# i18n is imported inside the functions: importing the pages package runs its __init__, which loads the
# page modules, some of which import this one.

# Read here, set by the pages (core.LANG_COOKIE); not imported from there: the pages import this module.
LANG_COOKIE = "atende_lang"

Gettext = Callable[[str], str]


def request_language(request: Request) -> str:
    """The language errors are written in for this request."""
    from atende.web.pages import i18n

    user = getattr(request.state, "user", None)
    if user is not None and getattr(user, "language", None):
        return i18n.normalize_language(user.language)
    if cookie := request.cookies.get(LANG_COOKIE):
        return i18n.normalize_language(cookie)
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].split(";")[0].strip()
    return i18n.normalize_language(first) if first else i18n.DEFAULT_LANGUAGE


def field_labels(_: Gettext) -> dict[str, str]:
    """What agents and admins call the fields they type into (the last part of an error's `loc`)."""
    return {
        "text": _("Mensagem"), "to": _("Número"), "connector_id": _("Conector"), "template": _("Modelo"),
        "template_id": _("Modelo"), "name": _("Nome"), "email": _("E-mail"), "password": _("Senha"),
        "agent_id": _("Agente"), "presence": _("Presença"), "language": _("Idioma"), "timezone": _("Fuso horário"),
        "shortcut": _("Atalho"), "role": _("Papel"), "capacity": _("Capacidade"), "note": _("Nota"),
        "media_url": _("Link da mídia"), "media_id": _("Arquivo"), "reason": _("Motivo"),
        "close_reason_id": _("Motivo de encerramento"), "priority": _("Prioridade"), "q": _("Busca"),
        "limit": _("Limite"), "cursor": _("Cursor"), "phone": _("Telefone"),
        "cost_per_segment": _("Custo por segmento"), "expires_at": _("Validade"), "body": _("Corpo da requisição"),
    }


def _field(loc: Sequence[Any], _: Gettext) -> str:
    names = [str(p) for p in loc if not isinstance(p, int) and p not in ("body", "query", "path", "header", "form")]
    if not names:
        return _("Corpo da requisição") if loc and loc[0] == "body" else ""
    last = names[-1]
    return field_labels(_).get(last, last)


def _number(value: Any, language: str) -> str:
    from atende.web.pages import i18n

    try:
        return format_decimal(value, locale=i18n.Formatter(language, i18n.DEFAULT_TIMEZONE).locale)
    except (TypeError, ValueError, ArithmeticError):
        return str(value)


def _noop(message: str) -> str:
    return message


N_ = _noop  # marks a msgid translated later, where the language is known

# Error types whose sentence needs no numbers.
_FIXED: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"missing"}), N_("campo obrigatório")),
    (frozenset({"int_parsing", "int_type", "int_from_float"}), N_("use um número inteiro")),
    (frozenset({"float_parsing", "float_type", "decimal_parsing", "decimal_type"}), N_("use um número (ex.: 0,10)")),
    (frozenset({"bool_parsing", "bool_type"}), N_("use verdadeiro ou falso (true/false)")),
    (frozenset({"string_type", "string_unicode"}), N_("use um texto")),
    (frozenset({"json_invalid", "dict_type", "model_attributes_type", "model_type"}),
     N_("JSON inválido ou no formato errado")),
    (frozenset({"list_type"}), N_("use uma lista")),
    (frozenset({"extra_forbidden"}), N_("campo desconhecido")),
    (frozenset({"datetime_parsing", "datetime_type", "datetime_from_date_parsing"}),
     N_("use uma data e hora ISO 8601 (ex.: 2026-03-01T09:00:00-03:00)")),
    (frozenset({"date_parsing", "date_type", "date_from_datetime_parsing"}), N_("use uma data AAAA-MM-DD")),
)


def _sentence(kind: str, ctx: Mapping[str, Any], size: int | None, msg: str, _: Gettext,
              num: Callable[[Any], str]) -> str:
    """The part after the field's name."""
    if kind == "string_too_long":
        if size is None:
            return _("use no máximo %(max)s caracteres") % {"max": num(ctx.get("max_length"))}
        return _("use no máximo %(max)s caracteres (tem %(n)s)") % {"max": num(ctx.get("max_length")), "n": num(size)}
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("não pode ficar vazio")
        return _("use pelo menos %(min)s caracteres") % {"min": num(ctx.get("min_length"))}
    if kind in ("greater_than_equal", "greater_than"):
        return _("use um valor a partir de %(min)s") % {"min": num(ctx.get("ge", ctx.get("gt")))}
    if kind in ("less_than_equal", "less_than"):
        return _("use um valor até %(max)s") % {"max": num(ctx.get("le", ctx.get("lt")))}
    if kind == "too_long":
        return _("no máximo %(max)s itens") % {"max": num(ctx.get("max_length"))}
    if kind == "too_short":
        return _("pelo menos %(min)s itens") % {"min": num(ctx.get("min_length"))}
    if kind in ("literal_error", "enum"):
        return _("valor inválido; use um destes: %(options)s") % {"options": ctx.get("expected", "")}
    if kind == "value_error":
        # Our own validators write Portuguese; pydantic prefixes "Value error, ".
        raw = msg.removeprefix("Value error, ").strip()
        return _(raw) if raw else _("valor inválido")
    for kinds, sentence in _FIXED:
        if kind in kinds:
            return _(sentence)
    return _("valor inválido")


def describe(error: Mapping[str, Any], language: str) -> str:
    """One pydantic error as a sentence in `language` (the field's name first, when it has one)."""
    from atende.web.pages import i18n

    lang = i18n.normalize_language(language)
    _ = i18n.translations(lang).gettext
    value = error.get("input")
    size = len(value) if isinstance(value, str | list | dict | tuple) else None
    text = _sentence(str(error.get("type", "")), error.get("ctx") or {}, size, str(error.get("msg", "")), _,
                     lambda v: _number(v, lang))
    label = _field(error.get("loc", ()), _)
    return f"{label}: {text}" if label else text


def translate_errors(errors: Sequence[Mapping[str, Any]], language: str) -> list[dict[str, Any]]:
    """The validation answer's `detail`: same loc and type, `msg` in the caller's language."""
    return [{"loc": list(e.get("loc", ())), "msg": describe(e, language), "type": e.get("type", "")} for e in errors]


def translate_detail(detail: str, language: str, params: Mapping[str, object] | None = None) -> str:
    """An action's or route's Portuguese detail in the caller's language (unchanged when the catalog
    has no entry: it stays pt-BR, the default). With `params`, `detail` is a template to fill."""
    if not detail:  # gettext("") is the catalog's header
        return detail
    from atende.web.pages import i18n

    lang = i18n.normalize_language(language)
    text = i18n.translations(lang).gettext(detail)
    if not params:
        return text
    return text % {k: _number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
                   for k, v in params.items()}
