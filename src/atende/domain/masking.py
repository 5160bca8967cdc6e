"""Masking of Brazilian documents and card numbers in previews (LGPD). Pure, no I/O.

CPF `123.456.789-09` → `***.456.789-**`, CNPJ `12.345.678/0001-95` → `**.345.678/****-**`, a card
`4111 1111 1111 1111` → `**** **** **** 1111`. Separators are kept, so the text keeps its length and
shape. A number written in the document's own format is masked whatever its check digits; a bare run
of digits only when its check digits (CPF, CNPJ) or Luhn (cards) say it is one: a phone number or an
order number stays readable.
"""

from __future__ import annotations

import re

__all__ = ["cnpj_valid", "cpf_valid", "luhn_valid", "mask_documents"]

STAR = "*"

# Digits not glued to other digits (nor to a "+", which starts a phone number).
_CNPJ = re.compile(r"(?<![\d+])(\d{2})(\.?)(\d{3})(\.?)(\d{3})(/?)(\d{4})(-?)(\d{2})(?!\d)", re.ASCII)
_CPF = re.compile(r"(?<![\d+])(\d{3})(\.?)(\d{3})(\.?)(\d{3})(-?)(\d{2})(?!\d)", re.ASCII)
# 13 to 19 digits, optionally in groups split by one space or dash.
_CARD = re.compile(r"(?<![\d+*])\d(?:[ -]?\d){12,18}(?![\d*])", re.ASCII)


def _check_digit(digits: str, weights: range | list[int]) -> int:
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=False))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def cpf_valid(digits: str) -> bool:
    if len(digits) != 11 or not digits.isdigit() or digits == digits[0] * 11:
        return False
    first = _check_digit(digits[:9], range(10, 1, -1))
    second = _check_digit(digits[:10], range(11, 1, -1))
    return digits[9:] == f"{first}{second}"


_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def cnpj_valid(digits: str) -> bool:
    if len(digits) != 14 or not digits.isdigit() or digits == digits[0] * 14:
        return False
    first = _check_digit(digits[:12], _CNPJ_W1)
    second = _check_digit(digits[:13], _CNPJ_W2)
    return digits[12:] == f"{first}{second}"


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_cnpj(m: re.Match[str]) -> str:
    g = m.groups()
    digits = g[0] + g[2] + g[4] + g[6] + g[8]
    formatted = g[1] == "." and g[3] == "." and g[5] == "/" and g[7] == "-"
    if not (formatted or cnpj_valid(digits)):
        return m.group(0)
    return f"{STAR * 2}{g[1]}{g[2]}{g[3]}{g[4]}{g[5]}{STAR * 4}{g[7]}{STAR * 2}"


def _mask_cpf(m: re.Match[str]) -> str:
    g = m.groups()
    digits = g[0] + g[2] + g[4] + g[6]
    formatted = g[1] == "." and g[3] == "." and g[5] == "-"
    if not (formatted or cpf_valid(digits)):
        return m.group(0)
    return f"{STAR * 3}{g[1]}{g[2]}{g[3]}{g[4]}{g[5]}{STAR * 2}"


def _mask_card(m: re.Match[str]) -> str:
    text = m.group(0)
    digits = "".join(ch for ch in text if ch.isdigit())
    if not luhn_valid(digits):
        return m.group(0)
    keep = 4  # the last four digits, as receipts print them
    out: list[str] = []
    seen = 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > len(digits) - keep else STAR)
        else:
            out.append(ch)
    return "".join(out)


def mask_documents(text: str) -> str:
    """`text` with every CPF, CNPJ and card number masked; everything else untouched."""
    if not text or sum("0" <= ch <= "9" for ch in text) < 11:
        return text
    text = _CNPJ.sub(_mask_cnpj, text)
    text = _CPF.sub(_mask_cpf, text)
    return _CARD.sub(_mask_card, text)
