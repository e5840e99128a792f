"""Our error page: what a browser page's request gets when it fails with a 5xx, with the error and the script."""

from __future__ import annotations

import html
import http
import json
from collections.abc import Awaitable, Callable

from starlette.types import Message, Scope, Send

from .._errors.details import Details, app_error_details, withheld_details
from .._errors.paths import clip
from .hosts import HostCheck
from .runtime import Runtime

NO_CACHE = (b"cache-control", b"no-cache")
MAX_ERROR_BODY = 64 * 1024  # of the app's own 5xx body, kept to show when no exception says more
JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


class ErrorPage:
    """A browser page's 5xx, held until it is known why; then our error page goes out instead."""

    def __init__(self, runtime: Runtime, scope: Scope, send: Send, hosts: HostCheck, root_path: str) -> None:
        self.runtime = runtime
        self.scope = scope
        self.send = send
        self.hosts = hosts
        self.root_path = root_path
        self.held: list[Message] = []  # the app's own response, sent as it is where ours may not go
        self.body = b""

    def hold(self, message: Message) -> Awaitable[None]:
        self.held.append(message)
        if message["type"] == "http.response.body" and len(self.body) < MAX_ERROR_BODY:
            self.body += message.get("body", b"")
        return _nothing()

    def plain_details(self) -> Details:
        return app_error_details(self.held[0].get("status", 500) if self.held else 500, self.body)

    async def replace(self, details: Callable[[], Details], private: bool = False) -> None:
        """Send our error page; `private` details (a traceback, source lines) go only to a trusted client."""
        if not self.hosts.allowed(self.scope):  # error details carry source lines: not for a rebound host
            for message in self.held or [_plain_500()]:
                await self.send(message)
            return
        status = self.held[0].get("status", 500) if self.held else 500
        if private and not self.runtime.trust.trusted(self.scope):
            shown = withheld_details(f"{status} {phrase(status)}", self.runtime.trust.withheld(self.scope))
        else:
            shown = details()
        page = render_error_page(shown, self.runtime.tag(self.root_path, None), status)
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"%d" % len(page)), NO_CACHE]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": page if self.scope.get("method") != "HEAD" else b""})


def render_error_page(details: Details, tag: bytes, status: int = 500) -> bytes:
    """A complete HTML page for a failed request: the error as text, as JSON for the overlay, and the client tag.

    Args:
        details: what `describe_exception` returned.
        tag: the client's `<script>` tag, put just before `</body>`.
        status: the response's status code, named in the heading.
    """
    name = str(details.get("title") or "Error").rsplit(".", 1)[-1]
    message = str(details.get("message") or "")
    title = clip(f"{name}: {message}" if message else name, 120)
    text = str(details.get("text") or title)
    data = json.dumps(details, ensure_ascii=False, default=str)
    for raw, escaped in JSON_ESCAPES:  # nothing in it can end the script element or a JS string
        data = data.replace(raw, escaped)
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"<h1>{status} {html.escape(phrase(status))}</h1>\n"
        f'<pre id="fast-hot-reload-error-text" style="white-space: pre-wrap">{html.escape(text)}</pre>\n'
        f'<script type="application/json" id="fast-hot-reload-error">{data}</script>\n'
    )
    return page.encode("utf-8", "backslashreplace") + tag + b"\n</body>\n</html>\n"


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _nothing() -> None:
    pass


def _plain_500() -> Message:
    return {"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]}
