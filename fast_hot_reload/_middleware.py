from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Iterable, Sequence

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
        if runtime is not None:
            # wrapped at once; the request's headers are read only when the response turns out to be a page
            send = _Responder(runtime, scope, send, self.errors_only).send
        await self.app(scope, receive, send)


class ErrorPageMiddleware(HotReloadMiddleware):
    """Outside Starlette's ServerErrorMiddleware: its debug traceback page gets the tag too, so a
    tab showing it updates once the fix is saved. Pages the inner middleware handled are left alone."""

    errors_only = True


def wants_page(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A browser asking for a page: it accepts HTML (browsers always say so), and it is not htmx after a fragment."""
    accepts = False
    for key, value in headers:  # ASGI request header names are lower-case: plain compares
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
    """Per-request state: decides on the start message, then rewrites the body if it is HTML.

    `send` is a plain function returning the downstream awaitable: no coroutine of its own per
    message, so a response that is not a page costs a call and a compare per message.
    """

    __slots__ = ("downstream", "errors_only", "inserter", "runtime", "scope")

    def __init__(self, runtime: Runtime, scope: Scope, send: Send, errors_only: bool) -> None:
        self.runtime = runtime
        self.scope = scope
        self.downstream = send
        self.errors_only = errors_only
        self.inserter: TagInserter | None = None

    def send(self, message: Message) -> Awaitable[None]:
        if self.inserter is None:  # not a page (or not yet known): forward as it is
            if message["type"] == "http.response.start":
                return self.downstream(self.start(message))
            return self.downstream(message)
        if message["type"] == "http.response.body":
            return self.downstream(self.body(message))
        if message["type"] == "http.response.pathsend":
            return self.pathsend(message["path"])
        return self.downstream(message)

    def start(self, message: Message) -> Message:
        headers = message.get("headers", ())
        if not is_html(headers):
            return message  # the fast path: one header look-up for everything that is not a page
        try:
            tag = self.decide(message.get("status", 200), headers)
            if tag is None:
                return message
            grow = len(tag)
            headers = [(k, b"%d" % (int(v) + grow) if k.lower() == b"content-length" else v) for k, v in headers]
        except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
            logger.debug("not injecting into an unusual response: %r", exc)
            return message
        self.scope[INJECTED] = True  # for an ErrorPageMiddleware further out: this page has its tag
        if self.scope.get("method") != "HEAD":  # HEAD: the headers promise the tag, there is no body to change
            self.inserter = TagInserter(tag)
        return {**message, "headers": headers}

    def decide(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
        """The tag to insert, or None when this response is to be left alone."""
        if status < 200 or status in (204, 304):
            return None
        if self.errors_only and (status < 500 or INJECTED in self.scope):
            return None
        if not wants_page(self.scope["headers"]):
            return None
        fields = {key.lower(): value for key, value in reversed(headers)}  # the first of a repeated one wins
        if ASCII_UNSAFE_CHARSET.search(fields[b"content-type"].lower()):
            return None
        if fields.get(b"content-encoding", b"identity").lower() != b"identity":
            logger.debug("not injecting into a compressed page: add FastHotReload after GZipMiddleware")
            return None
        policy = fields.get(b"content-security-policy")
        nonce = NONCE_RE.search(policy) if policy else None
        return self.runtime.tag(self.scope.get("root_path", ""), nonce.group(1).decode() if nonce else None)

    def body(self, message: Message) -> Message:
        assert self.inserter is not None
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
