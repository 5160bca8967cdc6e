"""What a campaign will send, to whom, at what cost, and whom it skips. Pure, no I/O.

A row goes through, in this order (the first reason found is the one reported):

1. `invalid`: no phone, or not a phone number;
2. `blocked`: a number this channel cannot reach (SMS to a landline or abroad);
3. `duplicate`: the same subscriber (in any spelling) on an earlier row;
4. `blocked`: a number the provider refused for good before (the caller tells, `Screener.finish`);
5. `opted_out`: the customer asked not to receive it (SAIR/PARE/STOP; WhatsApp: Meta's 131050);
6. `missing_vars`: the text uses a variable this row has no value for (counted apart from the four
   exclusions above, and never sent with a hole in it).

Each kept row becomes a recipient with its rendered text; segments and cost are counted on that text
with the one GSM-7/UCS-2 rule (`atende.domain.sms`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from atende.domain.campaign_csv import Row, check_phone
from atende.domain.sms import count_segments, sms_cost
from atende.domain.templates import render_template
from atende.domain.variables import render, variables_in

__all__ = [
    "EXCLUSION_REASONS", "Composed", "Estimate", "Exclusion", "MessageSpec", "Recipient", "Screener", "phone_display",
]

EXCLUSION_REASONS: tuple[str, ...] = ("opted_out", "duplicate", "invalid", "blocked")


@dataclass(frozen=True, slots=True)
class Exclusion:
    row_no: int
    phone: str
    reason: str  # one of EXCLUSION_REASONS, or "missing_vars"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Recipient:
    row_no: int
    address: str  # canonical E.164
    values: dict[str, str]
    text: str
    segments: int
    cost: Decimal
    encoding: str | None


@dataclass(frozen=True, slots=True)
class Composed:
    text: str
    segments: int
    encoding: str | None
    missing: tuple[str, ...]


@dataclass(frozen=True)
class MessageSpec:
    """The campaign's message: an SMS/free text with variables, or a WhatsApp template whose
    parameters are texts with variables (positional list, or {name: text} for named parameters)."""

    text: str | None = None
    template_components: Sequence[Any] = ()  # the approved template, as synced
    params: Sequence[str] | Mapping[str, str] = ()
    counts_segments: bool = True

    def variables(self) -> list[str]:
        if self.text is not None:
            return variables_in(self.text)
        found: list[str] = []
        for param in self._param_texts():
            found += [name for name in variables_in(param) if name not in found]
        return found

    def _param_texts(self) -> list[str]:
        return list(self.params.values()) if isinstance(self.params, Mapping) else list(self.params)

    def send_components(self, values: Mapping[str, str]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """The template's send components for one recipient, and the variables it lacks."""
        missing: list[str] = []
        parameters: list[dict[str, Any]] = []
        named = isinstance(self.params, Mapping)
        items = list(self.params.items()) if isinstance(self.params, Mapping) else [(None, p) for p in self.params]
        for name, raw in items:
            done = render(raw, values)
            missing += [m for m in done.missing if m not in missing]
            parameter: dict[str, Any] = {"type": "text", "text": done.text}
            if named:
                parameter["parameter_name"] = name
            parameters.append(parameter)
        return ([{"type": "body", "parameters": parameters}] if parameters else []), tuple(missing)

    def compose(self, values: Mapping[str, str]) -> Composed:
        if self.text is not None:
            done = render(self.text, values)
            if not self.counts_segments:
                return Composed(done.text, 0, None, done.missing)
            count = count_segments(done.text)
            return Composed(done.text, count.segments, count.encoding, done.missing)
        components, missing = self.send_components(values)
        text = render_template(list(self.template_components), components) or ""
        return Composed(text, 0, None, missing)


@dataclass
class Estimate:
    """Running totals while a list is screened; `as_dict()` is the API's `estimate`."""

    price_per_segment: Decimal
    rows: int = 0
    recipients: int = 0
    segments: int = 0
    cost: Decimal = Decimal(0)
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSION_REASONS, 0))
    missing_vars: int = 0
    missing_by_var: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, int] = field(default_factory=dict)
    min_segments: int | None = None
    max_segments: int | None = None

    def add(self, item: Recipient | Exclusion) -> None:
        self.rows += 1
        if isinstance(item, Exclusion):
            if item.reason == "missing_vars":
                self.missing_vars += 1
                for name in item.detail.removeprefix("sem valor para: ").split(", "):
                    if name:
                        self.missing_by_var[name] = self.missing_by_var.get(name, 0) + 1
            else:
                self.excluded[item.reason] += 1
            return
        self.recipients += 1
        self.segments += item.segments
        self.cost += item.cost
        if item.encoding:
            self.encodings[item.encoding] = self.encodings.get(item.encoding, 0) + 1
        self.min_segments = item.segments if self.min_segments is None else min(self.min_segments, item.segments)
        self.max_segments = item.segments if self.max_segments is None else max(self.max_segments, item.segments)

    def as_dict(self) -> dict[str, Any]:
        average = (self.cost / self.recipients).quantize(Decimal("0.0001")) if self.recipients else Decimal(0)
        per_segment = self.price_per_segment
        return {
            "rows": self.rows,
            "recipients": self.recipients,
            "segments": self.segments,
            "cost": _money(self.cost),
            "price_per_segment": _money(per_segment),
            "cost_per_recipient": {
                "min": _money(sms_cost(self.min_segments or 0, per_segment)),
                "max": _money(sms_cost(self.max_segments or 0, per_segment)),
                "average": _money(average),
            },
            "segments_per_recipient": {"min": self.min_segments or 0, "max": self.max_segments or 0},
            "encodings": dict(self.encodings),
            "excluded": dict(self.excluded),
            "missing_vars": self.missing_vars,
            "missing_by_var": dict(sorted(self.missing_by_var.items())),
        }


def phone_display(e164: str) -> str:
    """"+5548991910234" → "(48) 99191-0234" (Brazil), else the E.164 form: what {{telefone}} shows."""
    if e164.startswith("+55") and len(e164) in (13, 14):
        national = e164[3:]
        return f"({national[:2]}) {national[2:-4]}-{national[-4:]}"
    return e164


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.0001")).normalize(), "f")


class Screener:
    """Screens rows one at a time, remembering the numbers already taken (duplicates)."""

    def __init__(self, channel: str, spec: MessageSpec, price_per_segment: Decimal,
                 base: Mapping[str, str] | None = None) -> None:
        self.channel = channel
        self.spec = spec
        self.price = price_per_segment
        self.base = dict(base or {})  # values every row has ({{agente}}: who created the campaign)
        self._seen: set[str] = set()
        self._cost_of: dict[int, Decimal] = {}

    def check(self, row: Row) -> str | Exclusion:
        """Step 1: the row's phone (invalid, blocked, duplicate) → its canonical address."""
        found = check_phone(row.phone, self.channel)
        if found.address is None:
            return Exclusion(row.row_no, row.phone, found.reason or "invalid", found.detail)
        if found.address in self._seen:
            return Exclusion(row.row_no, row.phone, "duplicate", "número repetido em uma linha anterior")
        self._seen.add(found.address)
        return found.address

    def finish(self, row: Row, address: str, *, opted_out: bool = False, blocked: str | None = None,
               known: Mapping[str, str] | None = None) -> Recipient | Exclusion:
        """Step 2, with what the database knows of the number: its opt-out, a provider's permanent
        refusal (`blocked`: the reason) and the contact's fields (`known`, used when the row lacks them)."""
        if blocked:
            return Exclusion(row.row_no, row.phone, "blocked", blocked)
        if opted_out:
            return Exclusion(row.row_no, row.phone, "opted_out", "o cliente pediu para não receber")
        values = {**self.base, "telefone": phone_display(address), **(known or {}), **row.values}
        composed = self.spec.compose(values)
        if composed.missing:
            return Exclusion(row.row_no, row.phone, "missing_vars", "sem valor para: " + ", ".join(composed.missing))
        cost = self._cost_of.get(composed.segments)
        if cost is None:
            cost = self._cost_of[composed.segments] = sms_cost(composed.segments, self.price)
        return Recipient(row.row_no, address, values, composed.text, composed.segments, cost, composed.encoding)
