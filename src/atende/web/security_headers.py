"""Security headers (issue 7 §7), as a pure ASGI middleware so streaming responses (SSE) pass untouched.

HTML answers carry a strict Content-Security-Policy: scripts only from our origin (no inline script,
no eval: Alpine's CSP build, htmx with allowEval off), no framing. Every answer carries nosniff and
a same-origin referrer; HTML is never stored by browsers or proxies (it shows customers' data).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    # Alpine's x-show and htmx's swaps set element styles through the CSSOM; style attributes in a few
    # templates need 'unsafe-inline' for styles only (never for scripts).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
HTML_ONLY = ((b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
             (b"cache-control", b"no-store"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])]
                present = {k.lower() for k, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = list(ALWAYS)
                if content_type.startswith(b"text/html"):
                    extra += [h for h in HTML_ONLY if h[0] != b"cache-control"]
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                headers += [h for h in extra if h[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
