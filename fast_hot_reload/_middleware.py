from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._inject import TagInserter
from ._state import STATE_KEY, Runtime

logger = logging.getLogger(__name__)

NONCE_RE = re.compile(rb"'nonce-([A-Za-z0-9+/=_-]+)'")
ASCII_UNSAFE_CHARSET = re.compile(rb"utf-16|utf-32|ucs-2")  # the tag is ASCII: these would garble it
PATHSEND_CHUNK = 64 * 1024
INJECTED = "fast_hot_reload.injected"  # scope key: the tag is already in this response


class HotReloadMiddleware:
    """Pure ASGI middleware that adds the hot reload `<script>` tag to HTML responses.

    `FastHotReload(app)` adds it for you. For manual wiring, include `hot_reload_router` and add
    this middleware: it finds the running hot reload in the app state, and passes everything
    through untouched when there is none (switched off, or the router was not included).

    Example:
        ```python
        app.include_router(hot_reload_router)
        app.add_middleware(HotReloadMiddleware)
        ```
    """

    errors_only = False

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = scope.get("state", {}).get(STATE_KEY) if scope["type"] == "http" else None
        if runtime is None or not wants_page(scope["headers"]):
            await self.app(scope, receive, send)  # not a browser asking for a page: not even wrapped
            return
        await self.app(scope, receive, _Responder(runtime, scope, send, self.errors_only).send)


class ErrorPageMiddleware(HotReloadMiddleware):
    """Outside Starlette's ServerErrorMiddleware: its debug traceback page gets the tag too, so a
    tab showing it updates once the fix is saved. Pages the inner middleware handled are left alone."""

    errors_only = True


def wants_page(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A browser asking for a page: it accepts HTML (browsers always say so), and it is not htmx after a fragment."""
    accepts = False
    for key, value in headers:  # ASGI request header names are lower-case: plain compares, on every request
        if key == b"accept":
            accepts = b"text/html" in value or b"*/*" in value
        elif key == b"hx-request":
            return False
    return accepts


def is_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key == b"content-type" or (len(key) == 12 and key.lower() == b"content-type"):
            return value[:9].lower() == b"text/html"
    return False


class _Responder:
    """Per-request state: decides on the start message, then rewrites the body if it is HTML."""

    def __init__(self, runtime: Runtime, scope: Scope, send: Send, errors_only: bool) -> None:
        self.runtime = runtime
        self.scope = scope
        self.downstream = send
        self.errors_only = errors_only
        self.inserter: TagInserter | None = None

    async def send(self, message: Message) -> None:
        if self.inserter is None:  # not a page (or not yet known): forward as it is
            await self.downstream(self.start(message) if message["type"] == "http.response.start" else message)
        elif message["type"] == "http.response.body":
            await self.downstream(self.body(message))
        elif message["type"] == "http.response.pathsend":
            await self.pathsend(message["path"])
        else:
            await self.downstream(message)

    def start(self, message: Message) -> Message:
        if not is_html(message.get("headers", ())):
            return message  # the fast path: one header look-up for everything that is not a page
        try:
            headers: dict[bytes, bytes] = {}
            for key, value in message["headers"]:
                headers.setdefault(key.lower(), value)  # the first of a repeated header
            tag = self.decide(message.get("status", 200), headers)
            if tag is None:
                return message
            grown = str(int(headers.get(b"content-length", b"0")) + len(tag)).encode()
            fixed = [(k, grown if k.lower() == b"content-length" else v) for k, v in message["headers"]]
        except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
            logger.debug("not injecting into an unusual response: %r", exc)
            return message
        self.inserter = TagInserter(tag)
        self.scope[INJECTED] = True  # for an ErrorPageMiddleware further out: this page has its tag
        return {**message, "headers": fixed}

    def decide(self, status: int, headers: dict[bytes, bytes]) -> bytes | None:
        """The tag to insert, or None when this response is to be left alone."""
        content_type = headers[b"content-type"].lower()
        if status in (204, 304) or status < 200:
            return None
        if self.errors_only and (status < 500 or INJECTED in self.scope):
            return None
        if ASCII_UNSAFE_CHARSET.search(content_type):
            return None
        if headers.get(b"content-encoding", b"identity").lower() != b"identity":
            logger.debug("not injecting into a compressed page: add FastHotReload after GZipMiddleware")
            return None
        nonce = NONCE_RE.search(headers.get(b"content-security-policy", b""))
        root_path = self.scope.get("root_path", "")
        return self.runtime.tag(root_path, nonce.group(1).decode() if nonce else None)

    def body(self, message: Message) -> Message:
        assert self.inserter is not None
        if self.scope.get("method") == "HEAD":
            return message  # headers already promise the tag's length; there is no body to change
        last = not message.get("more_body", False)
        chunk = self.inserter.feed(message.get("body", b""), last)
        if last:
            self.inserter = None
        return {**message, "body": chunk}

    async def pathsend(self, path: str) -> None:
        # a file sent by path (ASGI pathsend): stream it ourselves so the tag gets in
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(PATHSEND_CHUNK):
                await self.downstream(self.body({"type": "http.response.body", "body": chunk, "more_body": True}))
        await self.downstream(self.body({"type": "http.response.body", "body": b"", "more_body": False}))
