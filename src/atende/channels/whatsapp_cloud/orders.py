"""A WhatsApp `order` (a cart sent from the business catalog) as items, totals and a readable summary.

Shape (Meta's order webhook): `{"catalog_id", "text", "product_items": [{"product_retailer_id",
"quantity", "item_price", "currency"}]}`. Prices are JSON numbers: they are read through their
decimal text, never as binary floats, and totals are exact per currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_id: str
    quantity: int
    price: Decimal | None
    currency: str | None

    @property
    def subtotal(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 1


def order_items(order: Mapping[str, Any]) -> list[OrderItem]:
    raw = order.get("product_items")
    items: list[OrderItem] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        product = entry.get("product_retailer_id")
        currency = entry.get("currency")
        items.append(OrderItem(
            product_id=str(product) if isinstance(product, str | int) and not isinstance(product, bool) else "?",
            quantity=_quantity(entry.get("quantity")),
            price=_decimal(entry.get("item_price")),
            currency=currency.strip().upper() if isinstance(currency, str) and currency.strip() else None,
        ))
    return items


def order_totals(items: Sequence[OrderItem]) -> dict[str, Decimal]:
    """Sum of quantity × price per currency (items without a price or currency add nothing)."""
    totals: dict[str, Decimal] = {}
    for item in items:
        if item.subtotal is not None and item.currency:
            totals[item.currency] = totals.get(item.currency, Decimal(0)) + item.subtotal
    return totals


def money_text(amount: Decimal, currency: str) -> str:
    try:
        return format_currency(amount, currency, locale="pt_BR").translate(_SPACES)
    except (ValueError, KeyError, TypeError):  # a currency code Babel does not know
        return f"{currency} {amount:.2f}"


def order_summary(order: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(text shown in the chat, attributes kept on the message) of one order."""
    items = order_items(order)
    totals = order_totals(items)
    lines = ["🛒 Pedido"]
    for item in items:
        price = f" × {money_text(item.price, item.currency)}" if item.price is not None and item.currency else ""
        lines.append(f"• {item.quantity}× {item.product_id}{price}")
    if totals:
        lines.append("Total: " + " + ".join(money_text(v, k) for k, v in sorted(totals.items())))
    note = order.get("text")
    if isinstance(note, str) and note.strip():
        lines.append(note.strip())
    attributes: dict[str, Any] = {
        "items": [{"product_id": i.product_id, "quantity": i.quantity,
                   "price": str(i.price) if i.price is not None else None, "currency": i.currency,
                   "subtotal": str(i.subtotal) if i.subtotal is not None else None} for i in items],
        "totals": {currency: str(total) for currency, total in totals.items()},
    }
    catalog = order.get("catalog_id")
    if isinstance(catalog, str | int) and not isinstance(catalog, bool):
        attributes["catalog_id"] = str(catalog)
    return "\n".join(lines), attributes
