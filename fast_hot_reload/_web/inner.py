"""The inner layer, innermost of the app's middleware: the tag into each page a browser asks for."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Iterable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .inject import TagInserter
from .pages import MAX_PAGE_BYTES
from .request import CURRENT, DOCUMENT, FRAGMENT, NOT_PAGE, RequestRecord
from .runtime import STATE_KEY, Runtime
from .trust import client_address

logger = logging.getLogger(__name__)

NONCE_RE = re.compile(rb"'nonce-([A-Za-z0-9+/=_-]+)'")
ASCII_UNSAFE_CHARSET = re.compile(rb"utf-16|utf-32|ucs-2")  # the tag is ASCII: these would garble it
PATHSEND_CHUNK = 64 * 1024
TEMPLATES_HEADER = b"x-hot-reload-templates"  # on htmx fragments: the templates they used, for their tab
PLAIN_HTML = frozenset((b"text/html; charset=utf-8", b"text/html"))  # what most pages say: no charset to check
# the response headers a page's tag reads or rewrites, and their lengths (a quick first test)
WATCHED = frozenset(
    (b"content-type", b"content-encoding", b"content-range", b"content-security-policy")
    + (b"content-length", b"accept-ranges", b"etag")
)
LENGTHS = frozenset(len(name) for name in WATCHED)


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
    """The start message to send, and the inserter for the body if this response gets the tag.

    Every response of the app passes here: one look for its Content-Type settles all but HTML; a page's
    headers are then read and rewritten in one more pass.
    """
    try:
        headers = message.get("headers", ())
        if content_type(headers)[:9].lower() != b"text/html":
            return message, None
        kind = record.kind
        if kind == FRAGMENT:
            return with_templates(runtime, message, record.rendered), None
        status = message.get("status", 200)
        # a 206 is a part of a file: the tag in it would make a whole that never existed
        if kind == NOT_PAGE or status < 200 or status in (204, 206, 304):
            return message, None
        rewritten = tagged(headers)
        if rewritten is None:
            return message, None
        out, length_at, fields = rewritten
        nonce = NONCE_RE.search(fields[b"content-security-policy"]) if b"content-security-policy" in fields else None
        page = runtime.pages.new_id()
        runtime.tabs.issue(page, client_address(scope), record.rendered)
        templates = runtime.template_paths(record.rendered) if record.rendered else ()
        tag = runtime.tag(root_path, nonce.group(1).decode() if nonce else None, page, templates)
        if length_at >= 0:
            out[length_at] = (out[length_at][0], b"%d" % (int(out[length_at][1]) + len(tag)))
    except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
        logger.debug("not injecting into an unusual response: %r", exc)
        return message, None
    record.injected = True  # for the outer layer: this page has its tag
    if scope.get("method") == "HEAD":
        return {**message, "headers": out}, None  # the headers promise the tag, and there is no body to put it in
    keep = None
    if kind == DOCUMENT:  # a tab's first document: the base of its first three-way morph (tools like wrk need none)
        client, charset = client_address(scope), fields[b"content-type"]
        keep = lambda chunks: runtime.pages.keep(page, chunks, client, charset)  # noqa: E731
    return {**message, "headers": out}, TagInserter(tag, keep, MAX_PAGE_BYTES)


def content_type(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    for key, value in headers:
        if key == b"content-type" or (len(key) == 12 and key.lower() == b"content-type"):
            return value
    return b""


def tagged(headers: Iterable[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], int, dict[bytes, bytes]] | None:
    """A page's headers for its tagged body, where its Content-Length is, and the headers that decide; None when
    the page is to be left alone (a byte range, a compressed or UTF-16/32 body).

    Byte ranges of the original file would not fit the tagged one (Accept-Ranges goes), and a strong ETag
    would let If-Range join them (it becomes weak: revalidation with If-None-Match still works).
    """
    out: list[tuple[bytes, bytes]] = []
    fields: dict[bytes, bytes] = {}
    length_at = -1
    for key, value in headers:
        name = key.lower() if len(key) in LENGTHS else None  # a length test first: most names are none of these
        if name is None or name not in WATCHED:
            out.append((key, value))
            continue
        if name == b"accept-ranges":
            continue
        if name == b"content-length":
            length_at = len(out)
        elif name == b"etag" and not value.startswith(b"W/"):
            value = b"W/" + value
        elif name not in fields:
            fields[name] = value
        out.append((key, value))
    if b"content-range" in fields:
        return None
    if fields.get(b"content-encoding", b"identity").lower() != b"identity":
        logger.debug("not injecting into a compressed page: add FastHotReload after GZipMiddleware")
        return None
    charset = fields[b"content-type"]
    if charset not in PLAIN_HTML and ASCII_UNSAFE_CHARSET.search(charset.lower()):
        return None
    return out, length_at, fields


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
