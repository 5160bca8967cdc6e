"""Errors an action raises when a request cannot be carried out; the web layer maps them to 4xx."""

from __future__ import annotations


class ActionError(Exception):
    """`detail` is Portuguese; with `params` it is `template % params`, so the web layer can translate
    the template and fill it again in the caller's language."""

    status_code = 409

    def __init__(self, detail: str, *, code: str | None = None, params: dict[str, object] | None = None) -> None:
        self.template = detail
        self.params = params
        self.detail = detail % params if params else detail
        super().__init__(self.detail)
        self.code = code


class NotFound(ActionError):
    status_code = 404


class Conflict(ActionError):
    status_code = 409


class Invalid(ActionError):
    status_code = 422


class Forbidden(ActionError):
    status_code = 403


class TooMany(ActionError):
    status_code = 429
