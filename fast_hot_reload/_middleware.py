from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Iterable, Sequence

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._hosts import client_address
from ._inject import TagInserter
from ._manual import serve_lifespan
from ._pages import MAX_PAGE_BYTES
from ._state import STATE_KEY, Runtime
from ._templates import RENDERED

logger = logging.getLogger(__name__)

NONCE_RE = re.compile(rb"'nonce-([A-Za-z0-9+/=_-]+)'")
ASCII_UNSAFE_CHARSET = re.compile(rb"utf-16|utf-32|ucs-2")  # the tag is ASCII: these would garble it
PATHSEND_CHUNK = 64 * 1024
INJECTED = "fast_hot_reload.injected"  # scope key: the tag is already in this response
TEMPLATES_HEADER = b"x-hot-reload-templates"  # on htmx fragments: the templates they used, for their tab
NOT_PAGE, PAGE, DOCUMENT, FRAGMENT = range(4)  # what a request asks for, as far as the tag is concerned


class HotReloadMiddleware:
    """Pure ASGI middleware that adds the hot reload `<script>` tag to HTML responses.

    `FastHotReload(app)` adds it for you. For manual wiring, include `hot_reload_router` and add
    this middleware: it finds the running hot reload in the app state, and passes everything
    through untouched when there is none (switched off, or the router was not included). On
    FastAPI before 0.112.2, which leaves an included router's lifespan out, it runs the router's.

    Example:
        ```python
        app.include_router(hot_reload_router)
        app.add_middleware(HotReloadMiddleware)
        ```
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") if scope["type"] == "http" else None
        runtime = state.get(STATE_KEY) if state else None
        if runtime is None:
            if scope["type"] == "lifespan":
                await serve_lifespan(self.app, scope, receive, send)  # manual wiring on older FastAPI needs us
                return
            await self.app(scope, receive, send)  # switched off, or not an HTTP request
            return
        inserter: TagInserter | None = None
        rendered: set[str] = set()  # the template files the response used, noted by the Jinja hook
        root_path = scope.get("root_path", "")  # the app's: a Mount (StaticFiles) extends the scope's as it routes

        def send_page(message: Message) -> Awaitable[None]:
            # a plain function handing back the next awaitable: no coroutine of ours per message, so a
            # response that is not a page costs a call and a compare or two per message
            nonlocal inserter
            if inserter is None:
                if message["type"] == "http.response.start" and is_html(message.get("headers", ())):
                    message, inserter = self.start_page(runtime, scope, message, rendered, root_path)
                return send(message)
            if message["type"] == "http.response.body":
                more = message.get("more_body", False)
                body = inserter.feed(message.get("body", b""), last=not more)
                if not more:
                    inserter = None
                return send({**message, "body": body})
            if message["type"] == "http.response.pathsend":
                file, inserter = inserter, None
                return _send_file(message["path"], file, send)
            return send(message)

        token = RENDERED.set(rendered)
        try:
            await self.app(scope, receive, send_page)
        finally:
            RENDERED.reset(token)  # a server that runs requests one after another in one context sees no stale set

    def start_page(
        self, runtime: Runtime, scope: Scope, message: Message, rendered: set[str], root_path: str
    ) -> tuple[Message, TagInserter | None]:
        """The start message to send, and the inserter for the body if this page gets the tag."""
        try:
            kind = request_kind(scope["headers"])
            if kind == FRAGMENT:
                return with_templates(runtime, message, rendered), None
            status = message.get("status", 200)
            tag, keep = self.tag_for(runtime, scope, kind, status, message["headers"], rendered, root_path)
            if tag is None:
                return message, None
            headers = tagged_headers(message["headers"], len(tag))
        except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
            logger.debug("not injecting into an unusual response: %r", exc)
            return message, None
        scope[INJECTED] = True  # for the outer layer: this page has its tag
        # HEAD: the headers promise the tag, and there is no body to put it in
        inserter = TagInserter(tag, keep, MAX_PAGE_BYTES) if scope.get("method") != "HEAD" else None
        return {**message, "headers": headers}, inserter

    def tag_for(
        self,
        runtime: Runtime,
        scope: Scope,
        kind: int,
        status: int,
        headers: Sequence[tuple[bytes, bytes]],
        rendered: set[str],
        root_path: str,
    ) -> tuple[bytes | None, TagInserter.Keep | None]:
        """The tag for this HTML response (None when it is to be left alone), and where to keep the page."""
        # a 206 is a part of a file: the tag in it would make a whole that never existed
        if status < 200 or status in (204, 206, 304) or kind == NOT_PAGE:
            return None, None
        fields = {key.lower(): value for key, value in reversed(headers)}  # the first of a repeated one wins
        if b"content-range" in fields:
            return None, None
        if ASCII_UNSAFE_CHARSET.search(fields[b"content-type"].lower()):
            return None, None
        if fields.get(b"content-encoding", b"identity").lower() != b"identity":
            logger.debug("not injecting into a compressed page: add FastHotReload after GZipMiddleware")
            return None, None
        policy = fields.get(b"content-security-policy")
        nonce = NONCE_RE.search(policy) if policy else None
        page = runtime.pages.new_id()
        templates = runtime.template_paths(rendered)
        tag = runtime.tag(root_path, nonce.group(1).decode() if nonce else None, page, templates)
        # the client keeps the pages it fetches itself: only pages a tab opened need a baseline here
        # a baseline is for a document a tab shows (its first three-way morph): not for fetches, the client's own
        # included (it keeps what it fetched), nor for tools like wrk; browsers name their navigations
        client, content_type = client_address(scope), fields[b"content-type"]
        keep = (lambda chunks: runtime.pages.keep(page, chunks, client, content_type)) if kind == DOCUMENT else None
        return tag, keep


def tagged_headers(headers: Iterable[tuple[bytes, bytes]], grow: int) -> list[tuple[bytes, bytes]]:
    """The headers of a response that gets the tag: its length grown, and nothing that promises the original bytes.

    Byte ranges of the original file would not fit the tagged one (Accept-Ranges goes), and a strong ETag
    would let If-Range join them (it becomes weak: revalidation with If-None-Match still works).
    """
    out = []
    for key, value in headers:
        name = key.lower()
        if name == b"content-length":
            value = b"%d" % (int(value) + grow)
        elif name == b"accept-ranges":
            continue
        elif name == b"etag" and not value.startswith(b"W/"):
            value = b"W/" + value
        out.append((key, value))
    return out


def request_kind(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """A page (browsers always say they accept HTML), a browser's navigation to one, or an htmx fragment."""
    kind = NOT_PAGE
    document = fetch_dest = False
    for key, value in headers:  # ASGI request header names are lower-case: plain compares
        if key == b"accept":
            kind = PAGE if b"text/html" in value or b"*/*" in value else NOT_PAGE
        elif key == b"hx-request":
            return FRAGMENT
        elif key == b"sec-fetch-dest":
            document = value in (b"document", b"iframe")
            fetch_dest = True
        elif key == b"upgrade-insecure-requests" and not fetch_dest:
            document = True  # what browsers send on a navigation where they send no Sec-Fetch (plain http, LAN)
    return DOCUMENT if document and kind == PAGE else kind


def with_templates(runtime: Runtime, message: Message, rendered: set[str]) -> Message:
    """An htmx fragment names the templates it used, so that its tab updates when they change."""
    templates = runtime.template_paths(rendered)
    if not templates:
        return message
    value = json.dumps(templates).encode()
    return {**message, "headers": [*message["headers"], (TEMPLATES_HEADER, value)]}


def is_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key == b"content-type" or (len(key) == 12 and key.lower() == b"content-type"):
            return value[:9].lower() == b"text/html"
    return False


async def _send_file(path: str, inserter: TagInserter, send: Send) -> None:
    """A file sent by path (ASGI pathsend), streamed through the inserter so the tag gets in."""
    async with await anyio.open_file(path, "rb") as file:
        while chunk := await file.read(PATHSEND_CHUNK):
            await send({"type": "http.response.body", "body": inserter.feed(chunk), "more_body": True})
    await send({"type": "http.response.body", "body": inserter.finish(), "more_body": False})
