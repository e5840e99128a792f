"""The outer layer, around the app's whole middleware stack: our endpoints first, error pages, no-cache."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._errors.describe import describe_exception
from .._server.compat import drop_stuck
from .endpoints import Endpoints
from .error_page import NO_CACHE, ErrorPage
from .hosts import HostCheck
from .request import CURRENT, RequestRecord
from .runtime import STATE_KEY, Runtime


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
        record = RequestRecord(scope["headers"])  # what the inner layer and the Jinja hook learn, for us
        token = CURRENT.set(record)
        failed: ErrorPage | None = None  # a browser page's 5xx, held until it is known why
        started = False  # a response of the app's went out: an exception after it is the server's to log
        root_path = scope.get("root_path", "")  # as it comes in: routing into a Mount extends the scope's

        def relay(message: Message) -> Awaitable[None]:
            # a plain function on the way of every response: no coroutine or object of ours unless a 5xx is held
            nonlocal failed, started
            if failed is not None:
                return failed.hold(message)
            if message["type"] == "http.response.start":
                if message.get("status", 200) >= 500 and not record.injected and record.browser_page:
                    failed = ErrorPage(runtime, scope, send, self.hosts, root_path)
                    return failed.hold(message)  # ServerErrorMiddleware's page, or the app's: it raises next, or ends
                started = True
                return send(no_cache(message))
            return send(message)

        try:
            await self.app(scope, receive, relay)
        except Exception as exc:
            if not started and record.browser_page:
                page = failed or ErrorPage(runtime, scope, send, self.hosts, root_path)
                await page.replace(partial(describe_exception, exc, runtime.config.roots), private=True)
            raise  # the server logs it, as it would have without us
        finally:
            CURRENT.reset(token)  # a server that runs requests one after another in one context sees no stale one
        if failed is not None:  # a 5xx the app made on purpose, with no exception: show what it said
            await failed.replace(failed.plain_details)

    async def served_ours(self, scope: Scope, receive: Receive, send: Send) -> bool:
        match, child = self.endpoints.matches(scope)
        if match is not Match.FULL:  # a wrong method goes on to the app's router, which answers 405
            return False
        await self.serve_ours({**scope, **child}, receive, send)
        return True

    async def serve_ours(self, scope: Scope, receive: Receive, send: Send) -> None:
        # this task serves us alone: the server's log lines about it (its access line) are not the app's
        CURRENT.set(RequestRecord(scope.get("headers", ()), ours=True))
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


def _timed_out(exc: BaseException) -> bool:
    inner = getattr(exc, "exceptions", None)  # a task group's, around the stream's send that timed out
    return isinstance(exc, TimeoutError) or (isinstance(inner, tuple) and any(_timed_out(e) for e in inner))


def no_cache(message: Message) -> Message:
    """The start message with `no-cache` added when only a heuristic would decide how long to cache it.

    Browsers cache a response with no Cache-Control nor Expires for a share of its Last-Modified age
    (StaticFiles' files): those get `no-cache`, so a reload revalidates them. Others stay as they are.
    """
    modified = False
    for key, _ in message.get("headers", ()):
        size = len(key)
        if size != 13 and size != 7:  # a length test first (last-modified and cache-control: 13, expires: 7)
            continue
        name = key.lower()
        if name == b"last-modified":
            modified = True
        elif name == b"cache-control" or name == b"expires":
            return message  # the response says how to cache it: that stands
    return {**message, "headers": [*message["headers"], NO_CACHE]} if modified else message
