"""Graph / WhatsApp error codes → agent-facing reason (pt-BR), retry or not, and a kind.

Meta says to branch on `code` (+ `error_data.details`), never on titles or the HTTP status, and the
same error may arrive synchronously, in a `failed` status webhook, or both
(shared/providers/whatsapp-meta.md §2.4, §2.5). `classify` is used for all three paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal[
    "auth",  # token expired / invalid: fix the connector
    "permission",  # app lacks a permission on the number / WABA
    "rate_limit",  # app, WABA or number throughput: back off and retry
    "pair_rate_limit",  # too fast to one recipient: delay that recipient only
    "window",  # 24 h customer-service window closed: send a template
    "undeliverable",  # not on WhatsApp / old client / ToS: offer SMS
    "spam",  # spam or "healthy ecosystem" limits: no immediate retry
    "opt_out",  # user stopped marketing messages
    "config",  # test-number allow list and other setup errors
    "bad_request",  # our payload is wrong: a bug, no retry
    "unsupported",  # message type unsupported
    "media",  # media upload / download failed
    "service",  # Meta side trouble: retry with backoff
    "account",  # account locked, blocked, restricted: stop and alert
    "template",  # template missing, paused, disabled or wrong parameters
    "experiment",  # user in a Meta experiment group
    "unknown",
]

WINDOW_CLOSED_REASON = "janela de 24 h encerrada: envie um modelo"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: int | None
    reason: str  # agent-facing, pt-BR
    retry: bool  # True: transient, the job worker retries with backoff
    kind: ErrorKind
    details: str | None = None  # Meta's error_data.details, for logs and the message's raw error

    @property
    def error_code(self) -> str | None:
        """The code as stored on messages (`SendResult.error_code`, `StatusUpdate.error_code`)."""
        return str(self.code) if self.code is not None else None


ERRORS: dict[int, tuple[str, bool, ErrorKind]] = {
    # Authentication and permissions
    190: ("token de acesso expirado ou inválido: gere um novo token no Meta Business", False, "auth"),
    0: ("falha de autenticação na Meta: verifique o token de acesso do conector", False, "auth"),
    10: ("permissão negada pela Meta: o app não tem acesso a este número", False, "permission"),
    3: ("o app não tem a capacidade necessária na Meta para esta chamada", False, "permission"),
    # Throughput and rate limits
    1: ("erro temporário na Meta: nova tentativa em instantes", True, "service"),
    2: ("serviço da Meta temporariamente indisponível: nova tentativa em instantes", True, "service"),
    4: ("limite de chamadas do app na Meta atingido: nova tentativa em instantes", True, "rate_limit"),
    80007: ("limite de chamadas da conta WhatsApp atingido: nova tentativa em instantes", True, "rate_limit"),
    130429: ("limite de envio do número atingido: nova tentativa em instantes", True, "rate_limit"),
    131056: (
        "muitas mensagens seguidas para este cliente: nova tentativa em alguns segundos",
        True,
        "pair_rate_limit",
    ),
    # Window, delivery, consent
    131047: (WINDOW_CLOSED_REASON, False, "window"),
    131026: (
        "mensagem não entregue: o número não usa WhatsApp, o app está desatualizado ou não aceitou os "
        "termos (tente por SMS)",
        False,
        "undeliverable",
    ),
    131048: ("envio bloqueado pelo limite de spam da Meta: aguarde antes de tentar de novo", False, "spam"),
    131049: (
        "a Meta não entregou esta mensagem de marketing (limite por cliente): tente mais tarde",
        False,
        "spam",
    ),
    131050: ("o cliente pediu para não receber mensagens de marketing", False, "opt_out"),
    131030: ("número fora da lista de destinatários permitidos (número de teste da Meta)", False, "config"),
    # Bad requests
    131008: ("parâmetro obrigatório ausente na mensagem", False, "bad_request"),
    131009: ("valor de parâmetro inválido na mensagem", False, "bad_request"),
    100: ("parâmetro inválido na chamada à Meta", False, "bad_request"),
    131051: ("tipo de mensagem não suportado pelo WhatsApp", False, "unsupported"),
    # Media
    131052: ("não foi possível baixar a mídia do cliente", False, "media"),
    131053: ("não foi possível enviar a mídia: verifique o tipo e o tamanho do arquivo", False, "media"),
    # Meta side
    131000: ("erro desconhecido na Meta: nova tentativa em instantes", True, "service"),
    131016: ("serviço do WhatsApp indisponível: nova tentativa em instantes", True, "service"),
    # Account
    131031: ("conta do WhatsApp Business bloqueada pela Meta: envio suspenso", False, "account"),
    131042: ("problema de pagamento na conta do WhatsApp Business: envio suspenso", False, "account"),
    368: ("conta temporariamente bloqueada por violação das políticas da Meta", False, "account"),
    130497: ("a conta não pode enviar mensagens para o país deste cliente", False, "account"),
    133010: ("número não registrado na Cloud API: conclua o registro do número", False, "config"),
    # Templates
    132000: ("número de parâmetros não confere com o modelo aprovado", False, "template"),
    132001: ("modelo inexistente ou não aprovado neste idioma", False, "template"),
    132005: ("texto do modelo com parâmetros grande demais", False, "template"),
    132007: ("conteúdo do modelo viola as políticas da Meta", False, "template"),
    132012: ("formato de parâmetro do modelo inválido", False, "template"),
    132015: ("modelo pausado pela Meta por baixa qualidade: escolha outro modelo", False, "template"),
    132016: ("modelo desativado pela Meta: escolha outro modelo", False, "template"),
    130472: (
        "cliente em grupo de experimento da Meta: mensagem de marketing não enviada",
        False,
        "experiment",
    ),
}

#: Codes whose failure should be retried by the job worker.
TRANSIENT_CODES = frozenset(code for code, (_, retry, _) in ERRORS.items() if retry)


def classify(
    code: int | str | None,
    details: str | None = None,
    http_status: int | None = None,
    is_transient: bool | None = None,
    *,
    title: str | None = None,
) -> ErrorInfo:
    """Map a Graph error to (reason, retry, kind).

    Known codes follow the table. Permission codes 200-299 are permanent. Unknown codes are
    permanent unless Graph says `is_transient` or the HTTP status is 5xx / 429; their reason keeps
    Meta's `title` (and `details`), the only words the agent has about them.
    """
    number: int | None
    if isinstance(code, bool):
        number = None
    elif isinstance(code, int):
        number = code
    elif isinstance(code, str) and code.strip().isdigit():
        number = int(code.strip())
    else:
        number = None
    if number is not None and number in ERRORS:
        reason, retry, kind = ERRORS[number]
        return ErrorInfo(number, reason, retry, kind, details)
    if number is not None and 200 <= number <= 299:
        return ErrorInfo(number, "permissão negada pela Meta para esta operação", False, "permission", details)
    retry = bool(is_transient) or (http_status is not None and (http_status >= 500 or http_status == 429))
    if number is None:
        label = f"HTTP {http_status}" if http_status is not None else "sem código"
        reason = f"erro do WhatsApp ({label})"
    else:
        reason = f"erro do WhatsApp (código {number})"
    said = [part for part in (title, details) if part]
    if len(said) == 2 and said[0].strip().rstrip(".").lower() == said[1].strip().rstrip(".").lower():
        said = said[1:]
    if said:
        reason = f"{reason}: {' — '.join(said)}"
    return ErrorInfo(number, reason, retry, "service" if retry else "unknown", details)
