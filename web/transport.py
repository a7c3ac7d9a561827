"""Transport security: HSTS and ``Secure`` cookies whenever the form is reached over HTTPS.

A request came over HTTPS when uvicorn served it with TLS (``icpc web --tls-certfile``), or
when a reverse proxy says so in ``X-Forwarded-Proto: https``. The header is honoured only with
``ICPC_TRUSTED_PROXY=1`` (the setting that also makes the form read the client's address from
``X-Forwarded-For``): without a proxy in front, anyone could send it. With several values (a
chain of proxies) the right-most, the one the nearest proxy wrote, counts.

Over HTTPS every answer carries ``Strict-Transport-Security`` and every cookie set is marked
``Secure``, whatever the code that set it asked for. ``ICPC_WEB_SECURE_COOKIES=1`` still
marks cookies ``Secure`` on every request, for a proxy that does not send the header.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000"  # a year, as the NCSC advises; subdomains are the council's to choose


def forwarded_https(headers: list[tuple[bytes, bytes]]) -> bool:
    values = [
        value.strip().lower()
        for name, raw in headers
        if name.lower() == b"x-forwarded-proto"
        for value in raw.decode("latin-1").split(",")
    ]
    return bool(values) and values[-1] == "https"


def is_https(scope: Scope, trusted_proxy: bool) -> bool:
    if scope.get("scheme") == "https":
        return True
    return trusted_proxy and forwarded_https(list(scope.get("headers", [])))


def _secure(cookie: bytes) -> bytes:
    attributes = [part.strip().lower() for part in cookie.split(b";")[1:]]
    return cookie if b"secure" in attributes else cookie + b"; Secure"


class TransportSecurity:
    """ASGI middleware: over HTTPS, add HSTS and mark each ``Set-Cookie`` ``Secure``."""

    def __init__(self, app: ASGIApp, trusted_proxy: bool = False) -> None:
        self.app = app
        self.trusted_proxy = trusted_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_https(scope, self.trusted_proxy):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _secure(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"strict-transport-security"
                ]
                headers.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secure)
