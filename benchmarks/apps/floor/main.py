"""The floor for figure 5 (5a*, 5b*): the least work any middleware that injects a tag can do, measured like ours.

A fixed tag is appended to every HTML response and its Content-Length is fixed up. Nothing else: no
Accept, status, encoding or nonce check, no search for </body>, no streaming care, no watcher, no
endpoints. No real hot reload tool does less, so its ratios bound what 5a and 5b can reach here.
"""

from __future__ import annotations

from collections.abc import Awaitable

from page import create_app
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE = "python-v1"
TAG = b'<script src="/__hot_reload/client.js?h=0123456789ab" data-boot="0123456789abcdef" data-version="0" defer>'
TAG += b"</script>"  # as long as our tag


class AppendTag:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        html = False

        def send_tagged(message: Message) -> Awaitable[None]:
            nonlocal html
            if message["type"] == "http.response.start":
                headers = message["headers"]
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html:
                    grow = len(TAG)
                    headers = [(k, b"%d" % (int(v) + grow) if k == b"content-length" else v) for k, v in headers]
                    return send({**message, "headers": headers})
            elif html and not message.get("more_body", False):
                html = False
                return send({**message, "body": message.get("body", b"") + TAG})
            return send(message)

        await self.app(scope, receive, send_tagged)


app = create_app(MESSAGE, setup=lambda app: app.add_middleware(AppendTag))
