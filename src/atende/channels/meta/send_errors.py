"""Send API errors of Messenger and Instagram → agent-facing reason (pt-BR), retry or not, and a kind.

Graph answers `{"error": {"code", "error_subcode", "message", …}}`; for the Send API the subcode says
what happened (outside the window, user unavailable…). Unknown codes are permanent unless Graph says
`is_transient` or the HTTP status is 5xx / 429, and keep Meta's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

from atende.channels.meta.graph import GraphError

WINDOW_CLOSED = "janela de 24 h encerrada: o cliente precisa escrever de novo antes de receber mensagens"
TAG_WINDOW_CLOSED = "janela de atendimento humano (7 dias) encerrada: o cliente precisa escrever de novo"

# (code, subcode) → (reason, retry, kind); a None subcode matches any.
_TABLE: dict[tuple[int, int | None], tuple[str, bool, str]] = {
    (10, 2018278): (WINDOW_CLOSED, False, "window"),
    (10, 2534022): (WINDOW_CLOSED, False, "window"),
    (10, 2018065): ("o app não tem a permissão da etiqueta HUMAN_AGENT: desligue a opção no conector", False,
                    "permission"),
    (100, 2018001): ("cliente não encontrado nesta página (o identificador não vale aqui)", False, "undeliverable"),
    (100, 2018109): ("arquivo grande demais para este canal", False, "media"),
    (100, 2018047): ("não foi possível enviar o anexo: verifique o tipo e o tamanho do arquivo", False, "media"),
    (551, None): ("o cliente não está disponível para receber mensagens agora", False, "undeliverable"),
    (190, None): ("token de acesso da página expirado ou inválido: gere um novo token", False, "auth"),
    (200, None): ("permissão negada pela Meta para enviar por esta página", False, "permission"),
    (10, None): ("permissão negada pela Meta para esta mensagem", False, "permission"),
    (1, None): ("erro temporário na Meta: nova tentativa em instantes", True, "service"),
    (2, None): ("serviço da Meta temporariamente indisponível: nova tentativa em instantes", True, "service"),
    (4, None): ("limite de chamadas do app na Meta atingido: nova tentativa em instantes", True, "rate_limit"),
    (32, None): ("limite de chamadas da página atingido: nova tentativa em instantes", True, "rate_limit"),
    (613, None): ("limite de envio atingido: nova tentativa em instantes", True, "rate_limit"),
    (100, None): ("parâmetro inválido na mensagem", False, "bad_request"),
}


@dataclass(frozen=True, slots=True)
class SendErrorInfo:
    reason: str
    retry: bool
    kind: str
    code: str | None


def classify_send_error(exc: GraphError) -> SendErrorInfo:
    code, sub = exc.graph_code, exc.error_subcode
    found = _TABLE.get((code, sub)) if code is not None else None
    if found is None and code is not None:
        found = _TABLE.get((code, None))
    label = None if code is None else (f"{code}/{sub}" if sub else str(code))
    if found is not None:
        reason, retry, kind = found
        if kind in ("bad_request", "permission") and exc.message:
            reason = f"{reason}: {exc.message}"
        return SendErrorInfo(reason, retry or bool(exc.is_transient), kind, label)
    status = exc.http_status
    retry = bool(exc.is_transient) or (status is not None and (status >= 500 or status == 429))
    said = exc.user_message or exc.message
    reason = f"erro da Meta ({'código ' + label if label else f'HTTP {exc.http_status}'})"
    return SendErrorInfo(f"{reason}: {said}" if said else reason, retry, "service" if retry else "unknown", label)
