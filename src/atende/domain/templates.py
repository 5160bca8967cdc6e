"""What a WhatsApp template message says, as the customer reads it. Pure, no I/O.

A template is stored (synced from the WABA) as Meta lists it: components `HEADER` (format TEXT,
IMAGE, ...), `BODY`, `FOOTER` and `BUTTONS`, whose texts carry placeholders `{{1}}` (positional) or
`{{first_name}}` (named). A send gives the values as components `header` / `body` with `parameters`
(providers/whatsapp-meta.md §2.2): `{"type": "text", "text": "Ana"}`, optionally with
`"parameter_name": "first_name"`, or `currency` / `date_time` objects whose `fallback_value` is what
WhatsApp shows.

`render_template` joins header text, body, footer and a short line of button labels into the text
we store on the message, so previews, the chat and the contact timeline show what was received. It
never raises on odd input: a parameter that is missing or not text leaves its placeholder visible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["MAX_RENDERED_CHARS", "PLACEHOLDER_RE", "fill_placeholders", "parameter_text", "render_template",
           "template_parameters"]

#: Placeholders of template texts: `{{1}}`, `{{ 2 }}`, `{{first_name}}`.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
#: The rendered text is cut here (a message text; WhatsApp's own body limit is 1024 characters).
MAX_RENDERED_CHARS = 4096
_SECTION_GAP = "\n"


def parameter_text(parameter: Any) -> str | None:
    """The text WhatsApp shows for one send parameter, or None (media, payloads, malformed)."""
    if not isinstance(parameter, Mapping):
        return None
    kind = parameter.get("type", "text")
    kind = kind.lower() if isinstance(kind, str) else ""
    if kind == "text":
        value = parameter.get("text")
    elif kind in ("currency", "date_time"):
        obj = parameter.get(kind)
        value = obj.get("fallback_value") if isinstance(obj, Mapping) else None
    else:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
            return None
    return None


def fill_placeholders(text: str, parameters: Any) -> str:
    """Put the parameters' values in `text`'s placeholders; unknown ones stay as they are.

    `{{n}}` takes the n-th parameter; `{{name}}` the parameter whose `parameter_name` is `name`, or,
    when no parameter is named, the parameter at that placeholder's position of first appearance.
    """
    params: list[Any] = list(parameters) if isinstance(parameters, Sequence) and not isinstance(
        parameters, str | bytes) else []
    values = [parameter_text(p) for p in params]
    named: dict[str, str] = {}
    for param, value in zip(params, values, strict=True):
        if isinstance(param, Mapping) and value is not None:
            name = param.get("parameter_name")
            if isinstance(name, str) and name and name not in named:
                named[name] = value
    order: list[str] = []
    for key in PLACEHOLDER_RE.findall(text):
        if key not in order:
            order.append(key)

    def value_for(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in named:
            return named[key]
        index: int | None = None
        if key.isdigit():
            index = int(key) - 1
        elif not named:
            index = order.index(key)
        if index is not None and 0 <= index < len(values):
            found = values[index]
            if found is not None:
                return found
        return match.group(0)

    return PLACEHOLDER_RE.sub(value_for, text)


def _components(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [c for c in value if isinstance(c, Mapping)]


def _ctype(component: Mapping[str, Any]) -> str:
    value = component.get("type")
    return value.lower() if isinstance(value, str) else ""


def _send_parameters(components: Any) -> dict[str, list[Any]]:
    """Parameters given at send time, by component ("header", "body")."""
    given: dict[str, list[Any]] = {}
    for component in _components(components):
        ctype = _ctype(component)
        params = component.get("parameters")
        if ctype in ("header", "body") and isinstance(params, Sequence) and not isinstance(params, str | bytes):
            given.setdefault(ctype, []).extend(params)
    return given


def _text_of(component: Mapping[str, Any]) -> str | None:
    text = component.get("text")
    return text if isinstance(text, str) and text.strip() else None


def render_template(definition: Any, send_components: Any = None) -> str | None:
    """The text of a template message: header text, body, footer, then `[Button] [Button]`.

    `definition` is the synced template's components; `send_components` the components of the send
    (with the parameters). None when the template has nothing to show (e.g. not synced yet).
    """
    given = _send_parameters(send_components)
    sections: list[str] = []
    buttons: list[str] = []
    for component in _components(definition):
        ctype = _ctype(component)
        if ctype == "header":
            fmt = component.get("format", "TEXT")
            text = _text_of(component)
            if text is not None and (not isinstance(fmt, str) or fmt.upper() == "TEXT"):
                sections.append(fill_placeholders(text.strip(), given.get("header")))
        elif ctype == "body":
            text = _text_of(component)
            if text is not None:
                sections.append(fill_placeholders(text.strip(), given.get("body")))
        elif ctype == "footer":
            text = _text_of(component)
            if text is not None:
                sections.append(text.strip())
        elif ctype == "buttons":
            for button in _components(component.get("buttons")):
                label = _text_of(button)
                if label is not None:
                    buttons.append(f"[{' '.join(label.split())}]")
    if buttons:
        sections.append(" ".join(buttons))
    if not sections:
        return None
    rendered = _SECTION_GAP.join(sections)
    if len(rendered) > MAX_RENDERED_CHARS:
        rendered = rendered[: MAX_RENDERED_CHARS - 1] + "…"
    return rendered


def template_parameters(components: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Parameters a template needs, per component: ({"header": 1, "body": 2, "button_0": 1}, names).

    Text placeholders are `{{1}}` (positional) or `{{first_name}}` (named); a media/location header
    takes one parameter; URL buttons with a placeholder and copy-code / OTP buttons take one each.
    """
    counts: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    if not isinstance(components, list):
        return counts, names
    for component in components:
        if not isinstance(component, dict):
            continue
        ctype = str(component.get("type", "")).lower()
        if ctype == "header":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt == "TEXT":
                found = _placeholders(component.get("text"))
                counts["header"] = len(found)
                if found:
                    names["header"] = found
            else:  # IMAGE, VIDEO, DOCUMENT, LOCATION
                counts["header"] = 1
        elif ctype == "body":
            found = _placeholders(component.get("text"))
            counts["body"] = len(found)
            if found:
                names["body"] = found
        elif ctype == "buttons":
            buttons = component.get("buttons")
            for index, button in enumerate(buttons if isinstance(buttons, list) else []):
                if not isinstance(button, dict):
                    continue
                btype = str(button.get("type", "")).upper()
                if btype == "URL":
                    found = _placeholders(button.get("url"))
                    if found:
                        counts[f"button_{index}"] = len(found)
                elif btype in ("COPY_CODE", "OTP"):
                    counts[f"button_{index}"] = 1
    return counts, names


def _placeholders(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    seen: list[str] = []
    for name in PLACEHOLDER_RE.findall(text):
        if name not in seen:
            seen.append(name)
    return seen
