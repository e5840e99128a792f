"""The inner layer, innermost of the app's middleware: the tag into each page a browser asks for."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .inject import TagInserter
from .pages import MAX_PAGE_BYTES
from .request import CURRENT, DOCUMENT, FRAGMENT, NOT_PAGE, HeaderReader, RequestRecord
from .runtime import STATE_KEY, Runtime
from .trust import client_address

logger = logging.getLogger(__name__)

NONCE_RE = re.compile(rb"'nonce-([A-Za-z0-9+/=_-]+)'")
ASCII_UNSAFE_CHARSET = re.compile(rb"utf-16|utf-32|ucs-2")  # the tag is ASCII: these would garble it
PATHSEND_CHUNK = 64 * 1024
TEMPLATES_HEADER = b"x-hot-reload-templates"  # on htmx fragments: the templates they used, for their tab
PAGE_HEADERS = HeaderReader(
    b"content-type", b"content-encoding", b"content-range", b"content-security-policy"
)  # what decides whether and how a response gets the tag


class InnerMiddleware:
    """Pure ASGI middleware that adds the hot reload `<script>` tag to the HTML pages browsers ask for.

    Any other response passes through untouched; so do a 206 or any `Content-Range` (a part of a file), a
    compressed or UTF-16/32 body, and pages when hot reload is not running (switched off, no lifespan).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") if scope["type"] == "http" else None
        runtime = state.get(STATE_KEY) if state else None
        if runtime is None:
            await self.app(scope, receive, send)  # switched off, or not an HTTP request
            return
        record = CURRENT.get()
        token = None
        if record is None:  # wired by hand: no outer layer made the request's record
            record = RequestRecord(scope["headers"])
            token = CURRENT.set(record)
        root_path = scope.get("root_path", "")  # the app's: a Mount (StaticFiles) extends the scope's as it routes
        inserter: TagInserter | None = None

        def send_page(message: Message) -> Awaitable[None]:
            # a plain function handing back the next awaitable: no coroutine of ours per message, so a
            # response that is not a page costs a call and a compare or two per message
            nonlocal inserter
            if inserter is None:
                if message["type"] == "http.response.start":
                    message, inserter = start_page(runtime, record, scope, message, root_path)
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

        try:
            await self.app(scope, receive, send_page)
        finally:
            if token is not None:
                CURRENT.reset(token)  # a server that runs requests one after another in one context sees no stale one


def start_page(
    runtime: Runtime, record: RequestRecord, scope: Scope, message: Message, root_path: str
) -> tuple[Message, TagInserter | None]:
    """The start message to send, and the inserter for the body if this response gets the tag."""
    try:
        fields = PAGE_HEADERS.read(message.get("headers", ()))
        if fields.get(b"content-type", b"")[:9].lower() != b"text/html":
            return message, None
        kind = record.kind
        if kind == FRAGMENT:
            return with_templates(runtime, message, record.rendered), None
        keep_page = kind == DOCUMENT  # a tab's first document: the base of its first three-way morph
        tag, keep = tag_for(runtime, record, scope, message.get("status", 200), fields, root_path, keep_page)
        if tag is None:
            return message, None
        headers = tagged_headers(message["headers"], len(tag))
    except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
        logger.debug("not injecting into an unusual response: %r", exc)
        return message, None
    record.injected = True  # for the outer layer: this page has its tag
    # HEAD: the headers promise the tag, and there is no body to put it in
    inserter = TagInserter(tag, keep, MAX_PAGE_BYTES) if scope.get("method") != "HEAD" else None
    return {**message, "headers": headers}, inserter


def tag_for(
    runtime: Runtime,
    record: RequestRecord,
    scope: Scope,
    status: int,
    fields: dict[bytes, bytes],
    root_path: str,
    keep_page: bool,
) -> tuple[bytes | None, Callable[[list[bytes]], None] | None]:
    """The tag for this HTML response (None when it is to be left alone), and where to keep the page."""
    # a 206 is a part of a file: the tag in it would make a whole that never existed
    if status < 200 or status in (204, 206, 304) or record.kind == NOT_PAGE or b"content-range" in fields:
        return None, None
    content_type = fields[b"content-type"]
    if ASCII_UNSAFE_CHARSET.search(content_type.lower()):
        return None, None
    if fields.get(b"content-encoding", b"identity").lower() != b"identity":
        logger.debug("not injecting into a compressed page: add FastHotReload after GZipMiddleware")
        return None, None
    policy = fields.get(b"content-security-policy")
    nonce = NONCE_RE.search(policy) if policy else None
    page = runtime.pages.new_id()
    templates = runtime.template_paths(record.rendered or ())
    tag = runtime.tag(root_path, nonce.group(1).decode() if nonce else None, page, templates)
    if not keep_page:
        return tag, None  # the client keeps the pages it fetches itself; tools like wrk need none
    client = client_address(scope)
    return tag, lambda chunks: runtime.pages.keep(page, chunks, client, content_type)


def tagged_headers(headers: list[tuple[bytes, bytes]], grow: int) -> list[tuple[bytes, bytes]]:
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


def with_templates(runtime: Runtime, message: Message, rendered: set[str] | None) -> Message:
    """An htmx fragment names the templates it used, so that its tab updates when they change."""
    templates = runtime.template_paths(rendered or ())
    if not templates:
        return message
    value = json.dumps(templates).encode()
    return {**message, "headers": [*message["headers"], (TEMPLATES_HEADER, value)]}


async def _send_file(path: str, inserter: TagInserter, send: Send) -> None:
    """A file sent by path (ASGI pathsend), streamed through the inserter so the tag gets in."""
    async with await anyio.open_file(path, "rb") as file:
        while chunk := await file.read(PATHSEND_CHUNK):
            await send({"type": "http.response.body", "body": inserter.feed(chunk), "more_body": True})
    await send({"type": "http.response.body", "body": inserter.finish(), "more_body": False})
