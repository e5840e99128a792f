from __future__ import annotations

from collections.abc import Awaitable

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._endpoints import Endpoints
from ._state import STATE_KEY

NO_CACHE = (b"cache-control", b"no-cache")


class OuterMiddleware:
    """The outermost layer while hot reload is on, around the app's whole middleware stack.

    Our endpoints are answered here, before the app's own middleware: an auth redirect, a session, CORS
    or a trusted-host check never stands between a page and its hot reload. And a response that says
    nothing about caching gets `no-cache`, so that a reload always shows the current files (Chromium
    would otherwise keep a stylesheet that StaticFiles served without Cache-Control from its heuristic cache).
    """

    def __init__(self, app: ASGIApp, endpoints: Endpoints) -> None:
        self.app = app
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        match, child = self.endpoints.matches(scope)  # a substring test for everything that is not ours
        if match is Match.FULL:  # a wrong method goes on to the app's router, which answers 405
            scope.update(child)
            await self.endpoints.handle(scope, receive, send)
            return
        state = scope.get("state") if scope["type"] == "http" else None
        if not state or STATE_KEY not in state:
            await self.app(scope, receive, send)  # switched off by the environment, or a websocket
            return

        def send_fresh(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and not _has_cache_control(message.get("headers", ())):
                message = {**message, "headers": [*message.get("headers", ()), NO_CACHE]}
            return send(message)

        await self.app(scope, receive, send_fresh)


def _has_cache_control(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(key == b"cache-control" or (len(key) == 13 and key.lower() == b"cache-control") for key, _ in headers)
