from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._compat import drop_stuck
from ._endpoints import Endpoints
from ._errors import describe_exception, error_page, withheld_details
from ._hosts import HostCheck
from ._middleware import INJECTED
from ._startup import SERVING_OURS
from ._state import STATE_KEY, Runtime

logger = logging.getLogger(__name__)

NO_CACHE = (b"cache-control", b"no-cache")
MAX_ERROR_BODY = 64 * 1024  # of the app's own 5xx body, kept to show when no exception says more


class OuterMiddleware:
    """The outermost layer while hot reload is on, around the app's whole middleware stack.

    - Our endpoints are answered here, before the app's own middleware: an auth redirect, a session,
      CORS or a trusted-host check never stands between a page and its hot reload. Only hosts a
      browser on this machine uses (or the ones the user lists) get them: no DNS rebinding.
    - A response that says nothing about caching gets `no-cache`, so a reload always shows the
      current files (Chromium keeps what StaticFiles sends without Cache-Control in its heuristic cache).
    - A browser page that fails with a 5xx gets our error page instead: the error, and the script, so
      the tab shows the fixed page by itself once the fix is saved. Anything else keeps its response.
    """

    def __init__(self, app: ASGIApp, endpoints: Endpoints, hosts: HostCheck) -> None:
        self.app = app
        self.endpoints = endpoints
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # one substring test for everything that is not ours
        ours = scope["type"] != "lifespan" and self.endpoints.marker in scope["path"]
        if ours and await self.served_ours(scope, receive, send):
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.get("state")
        runtime: Runtime | None = state.get(STATE_KEY) if state else None
        if runtime is None:
            await self.app(scope, receive, send)  # switched off by the environment
            return
        failed: ErrorPage | None = None  # a browser page's 5xx, held until it is known why
        started = False  # a response of the app's went out: an exception after it is the server's to log
        root_path = scope.get("root_path", "")  # as it comes in: routing into a Mount extends the scope's

        def relay(message: Message) -> Awaitable[None]:
            # a plain function on the way of every response: no coroutine or object of ours unless a 5xx is held
            nonlocal failed, started
            if failed is not None:
                return failed.hold(message)
            if message["type"] == "http.response.start":
                if message.get("status", 200) >= 500 and INJECTED not in scope and _browser_page(scope["headers"]):
                    failed = ErrorPage(runtime, scope, send, self.hosts, root_path)
                    return failed.hold(message)  # ServerErrorMiddleware's page, or the app's: it raises next, or ends
                started = True
                return send(no_cache(message))
            return send(message)

        try:
            await self.app(scope, receive, relay)
        except Exception as exc:
            if not started and _browser_page(scope["headers"]):
                page = failed or ErrorPage(runtime, scope, send, self.hosts, root_path)
                await page.replace(partial(describe_exception, exc, runtime.config.roots), private=True)
            raise  # the server logs it, as it would have without us
        if failed is not None:  # a 5xx the app made on purpose, with no exception: show what it said
            await failed.replace(failed.plain_details)

    async def served_ours(self, scope: Scope, receive: Receive, send: Send) -> bool:
        match, child = self.endpoints.matches(scope)
        if match is not Match.FULL:  # a wrong method goes on to the app's router, which answers 405
            return False
        await self.serve_ours({**scope, **child}, receive, send)
        return True

    async def serve_ours(self, scope: Scope, receive: Receive, send: Send) -> None:
        SERVING_OURS.set(True)  # this task serves us alone: the server's log lines about it are not the app's
        if not self.hosts.allowed(scope, log=True):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # before accept: an HTTP 403
            else:
                await send({"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
            return
        try:
            await self.endpoints.handle(scope, receive, send)
        except Exception as exc:
            if scope["type"] == "http" and _timed_out(exc):
                drop_stuck(send)  # an event stream whose client stopped reading: its socket must not stay open
            raise


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

    def plain_details(self) -> dict[str, Any]:
        status = self.held[0].get("status", 500) if self.held else 500
        text = self.body.decode("utf-8", "replace").strip()[:2000]
        title = f"{status} from the app"
        return {
            "kind": "http",
            "title": title,
            "message": text,
            "location": None,
            "source": None,
            "frames": [],
            "chain": [],
            "text": f"{title}: {text}" if text else title,
        }

    async def replace(self, details: Callable[[], dict[str, Any]], private: bool = False) -> None:
        """Send our error page; `private` details (a traceback, source lines) go only to a trusted client."""
        if not self.hosts.allowed(self.scope):  # error details carry source lines: not for a rebound host
            for message in self.held or [_plain_500()]:
                await self.send(message)
            return
        status = self.held[0].get("status", 500) if self.held else 500
        if private and not self.runtime.trust.trusted(self.scope):
            shown = withheld_details(f"{status} {_phrase(status)}", self.runtime.trust.withheld(self.scope))
        else:
            shown = details()
        page = error_page(shown, self.runtime.tag(self.root_path, None), status)
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"%d" % len(page)), NO_CACHE]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": page if self.scope.get("method") != "HEAD" else b""})


def _timed_out(exc: BaseException) -> bool:
    inner = getattr(exc, "exceptions", None)  # a task group's, around the stream's send that timed out
    return isinstance(exc, TimeoutError) or (isinstance(inner, tuple) and any(_timed_out(e) for e in inner))


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _nothing() -> None:
    pass


def _plain_500() -> Message:
    return {"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]}


def _browser_page(headers: list[tuple[bytes, bytes]]) -> bool:
    """A browser asking for a page (its navigations say text/html; API clients, `*/*`), not an htmx fragment."""
    accepts = False
    for key, value in headers:
        if key == b"accept":
            accepts = b"text/html" in value
        elif key == b"hx-request":
            return False
    return accepts


def no_cache(message: Message) -> Message:
    """The start message with `no-cache` added when only a heuristic would decide how long to cache it.

    Browsers cache a response with no Cache-Control nor Expires for a share of its Last-Modified age
    (StaticFiles' files): those get `no-cache`, so a reload revalidates them. Others stay as they are.
    """
    modified = False
    for key, _ in message.get("headers", ()):
        name = key if len(key) != 13 and len(key) != 7 else key.lower()
        if name == b"last-modified":
            modified = True
        elif name == b"cache-control" or name == b"expires":
            return message  # the response says how to cache it: that stands
    return {**message, "headers": [*message["headers"], NO_CACHE]} if modified else message
