"""Account and number webhooks → `ProviderEvent("account_alert", …)` the engine keeps on the connector.

Fields (Meta's webhook references): `account_update` (restriction, ban, violation, …),
`phone_number_quality_update` (FLAGGED, DOWNGRADE, messaging limit), `phone_number_name_update`
(display name review), `account_review_update` (WABA review) and `business_capability_update`
(limits). Each becomes `{"type", "detail", "severity", "at", "waba_id", …}`: `detail` is what a
supervisor reads (pt-BR); `severity` "critical" (sending is or may soon be blocked: supervisors are
told live), "warning" or "info".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from atende.channels.base import ProviderEvent

ALERT_FIELDS = frozenset({
    "account_update", "phone_number_quality_update", "phone_number_name_update", "account_review_update",
    "business_capability_update",
})
Severity = Literal["critical", "warning", "info"]

_RESTRICTIONS = {
    "RESTRICTED_BIZ_INITIATED_MESSAGING": "iniciar conversas",
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": "responder clientes",
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": "adicionar números",
}
_QUALITY: dict[str, tuple[str, Severity, str]] = {
    "FLAGGED": ("quality_flagged", "critical",
                "Qualidade do número marcada como baixa pela Meta (FLAGGED): reduza envios para evitar bloqueio"),
    "UNFLAGGED": ("quality_unflagged", "info", "Qualidade do número normalizada (UNFLAGGED)"),
    "DOWNGRADE": ("quality_downgrade", "warning", "Limite de mensagens do número reduzido pela Meta"),
    "UPGRADE": ("quality_upgrade", "info", "Limite de mensagens do número aumentado pela Meta"),
    "THROUGHPUT_UPGRADE": ("throughput_upgrade", "info", "Vazão do número aumentada pela Meta"),
    "ONBOARDING": ("number_onboarding", "info", "Número ainda em registro na Meta"),
}


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _when(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 32503680000:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.isdigit():
        return _when(int(value))
    return datetime.now(UTC)


def _account_update(value: Mapping[str, Any]) -> tuple[str, Severity, str]:
    event = _text(value.get("event")) or "UNKNOWN"
    if event == "ACCOUNT_RESTRICTION":
        infos = [i for i in value.get("restriction_info") or [] if isinstance(i, dict)]
        what = [_RESTRICTIONS.get(str(i.get("restriction_type")), str(i.get("restriction_type"))) for i in infos]
        until = [_when(i.get("expiration")) for i in infos if i.get("expiration") is not None]
        detail = "Conta restringida pela Meta"
        if what:
            detail += ": não pode " + ", ".join(what)
        if until:
            detail += f" (até {max(until).strftime('%d/%m/%Y %H:%M')} UTC)"
        return "account_restriction", "critical", detail
    if event == "DISABLED_UPDATE":
        ban = _obj(value.get("ban_info"))
        state = _text(ban.get("waba_ban_state")) or "DISABLE"
        date = _text(ban.get("waba_ban_date"))
        suffix = f" em {date}" if date else ""
        if state == "REINSTATE":
            return "account_reinstated", "info", f"Conta reativada pela Meta{suffix}"
        if state == "SCHEDULE_FOR_DISABLE":
            return "account_ban", "critical", f"Conta será desativada pela Meta{suffix}"
        return "account_ban", "critical", f"Conta desativada (banida) pela Meta{suffix}"
    if event == "ACCOUNT_VIOLATION":
        info = _obj(value.get("violation_info"))
        kind = _text(info.get("violation_type"))
        detail = "Violação de política registrada pela Meta" + (f": {kind}" if kind else "")
        return "account_violation", "warning", detail
    if event == "ACCOUNT_DELETED":
        return "account_deleted", "critical", "Conta do WhatsApp Business excluída"
    if event == "ACCOUNT_OFFBOARDED":
        return "account_offboarded", "critical", "Conta desligada da plataforma (offboarded)"
    if event == "ACCOUNT_RECONNECTED":
        return "account_reconnected", "info", "Conta reconectada"
    return event.lower(), "info", f"Atualização da conta: {event}"


def _quality_update(value: Mapping[str, Any]) -> tuple[str, Severity, str]:
    event = _text(value.get("event")) or "UNKNOWN"
    kind, severity, detail = _QUALITY.get(event, (event.lower(), "info", f"Atualização do número: {event}"))
    limit = _text(value.get("max_daily_conversations_per_business")) or _text(value.get("current_limit"))
    if limit:
        detail += f" (limite atual: {limit})"
    return kind, severity, detail


def _name_update(value: Mapping[str, Any]) -> tuple[str, Severity, str]:
    decision = _text(value.get("decision")) or "PENDING"
    name = _text(value.get("requested_verified_name"))
    shown = f" “{name}”" if name else ""
    if decision == "APPROVED":
        return "name_approved", "info", f"Nome de exibição{shown} aprovado"
    if decision == "REJECTED":
        reason = _text(value.get("rejection_reason"))
        return "name_rejected", "warning", f"Nome de exibição{shown} rejeitado" + (f": {reason}" if reason else "")
    return "name_review", "info", f"Nome de exibição{shown} em análise ({decision})"


def _review_update(value: Mapping[str, Any]) -> tuple[str, Severity, str]:
    decision = _text(value.get("decision")) or "PENDING"
    if decision == "APPROVED":
        return "account_review_approved", "info", "Conta aprovada na revisão da Meta"
    if decision == "REJECTED":
        return "account_review_rejected", "critical", "Conta rejeitada na revisão da Meta: não pode usar a API"
    return "account_review_pending", "warning", f"Revisão da conta pendente na Meta ({decision})"


def _capability_update(value: Mapping[str, Any]) -> tuple[str, Severity, str]:
    parts = []
    limit = _text(value.get("max_daily_conversations_per_business")) or _text(
        value.get("max_daily_conversation_per_phone"))
    if limit:
        parts.append("ilimitado" if limit == "-1" else f"limite diário de conversas {limit}")
    phones = _text(value.get("max_phone_numbers_per_waba")) or _text(value.get("max_phone_numbers_per_business"))
    if phones:
        parts.append(f"até {phones} números")
    return "capability_update", "info", "Capacidade da conta atualizada" + (": " + ", ".join(parts) if parts else "")


_BUILDERS = {
    "account_update": _account_update,
    "phone_number_quality_update": _quality_update,
    "phone_number_name_update": _name_update,
    "account_review_update": _review_update,
    "business_capability_update": _capability_update,
}


def alert_event(field: str, value: Mapping[str, Any], waba_id: str | None, entry_time: Any) -> ProviderEvent:
    kind, severity, detail = _BUILDERS[field](value)
    data: dict[str, Any] = {
        "type": kind, "detail": detail, "severity": severity, "at": _when(entry_time).isoformat(),
        "field": field, "waba_id": waba_id, "raw": dict(value),
    }
    number = _text(value.get("display_phone_number"))
    if number:
        data["display_phone_number"] = number
    return ProviderEvent("account_alert", data)
