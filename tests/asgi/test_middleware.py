from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from hypothesis import given, settings
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fast_hot_reload import FastHotReload, HotReloadMiddleware
from fast_hot_reload._config import Config
from fast_hot_reload._events.broadcaster import Broadcaster
from fast_hot_reload._web.pages import PageStore
from fast_hot_reload._web.runtime import STATE_KEY, Runtime

from .._support.clients import LocalClient
from .._support.html import chunked, inject

FIXED_PAGE_ID = "f" * 32  # page ids are random: the tests fix them to know the tag to expect


@pytest.fixture(autouse=True)
def _fixed_page_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PageStore, "new_id", staticmethod(lambda: FIXED_PAGE_ID))


PAGE = b"<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>"


def new_runtime() -> Runtime:
    return Runtime(Config(), Broadcaster())  # Broadcaster needs a running event loop


def make_scope(
    runtime: Runtime | None,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str = "",
    **extra: Any,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"accept", b"text/html,*/*;q=0.8")] if headers is None else headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "extensions": {},
        **extra,
    }
    if runtime is not None:
        scope["state"] = {STATE_KEY: runtime}
    return scope


async def receive() -> Message:
    await anyio.Event().wait()  # the apps here never read the request
    raise AssertionError("unreachable")  # pragma: no cover


async def run(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(scope, receive, send)
    return sent


def replay(*messages: Message) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return app


def start(content_type: bytes | None = b"text/html; charset=utf-8", status: int = 200, **headers: bytes) -> Message:
    raw = [(b"content-type", content_type)] if content_type is not None else []
    raw += [(k.replace("_", "-").encode(), v) for k, v in headers.items()]
    return {"type": "http.response.start", "status": status, "headers": raw}


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def header(messages: list[Message], name: bytes) -> bytes | None:
    values = [v for k, v in messages[0]["headers"] if k.lower() == name]
    assert len(values) <= 1
    return values[0] if values else None


async def through(app: ASGIApp, **scope_options: Any) -> tuple[list[Message], bytes]:
    """Run `app` under the middleware; return the messages and the tag it should have used."""
    runtime = new_runtime()
    messages = await run(HotReloadMiddleware(app), make_scope(runtime, **scope_options))
    return messages, runtime.tag(scope_options.get("root_path", ""), None, page=FIXED_PAGE_ID)


async def untouched(app: ASGIApp, **scope_options: Any) -> None:
    """The middleware changes nothing at all: same messages, byte for byte, headers included."""
    runtime = new_runtime()
    bare = await run(app, make_scope(runtime, **scope_options))
    wrapped = await run(HotReloadMiddleware(app), make_scope(runtime, **scope_options))
    assert wrapped == bare


# ---- where the tag goes ----

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><p>hi</p></body></html>",
        b"<HTML><BODY><P>hi</P></BODY></HTML>",
        b"<html><body><p>hi</p></Body ></html>",
        b"<html><body><p>hi</p></body\n></html>",
    ],
)
async def test_tag_goes_before_closing_body(page: bytes) -> None:
    messages, tag = await through(HTMLResponse(page))
    assert body_of(messages) == page[: page.lower().index(b"</body")] + tag + page[page.lower().index(b"</body") :]
    assert body_of(messages).count(b"<script") == 1


async def test_no_body_tag_appends() -> None:
    page = b"<p>a fragment, no body tag</p>"
    messages, tag = await through(HTMLResponse(page))
    assert body_of(messages) == page + tag


async def test_empty_page_gets_the_tag() -> None:
    messages, tag = await through(HTMLResponse(b""))
    assert body_of(messages) == tag
    assert header(messages, b"content-length") == str(len(tag)).encode()


async def test_tag_goes_before_the_last_closing_body() -> None:
    page = b"<html><body><pre>write &lt;/body&gt; or </body> in text</pre><p>x</p></body></html>"
    messages, tag = await through(HTMLResponse(page))
    assert body_of(messages) == b"<html><body><pre>write &lt;/body&gt; or </body> in text</pre><p>x</p>" + tag + (
        b"</body></html>"
    )


async def test_tag_content() -> None:
    messages, tag = await through(HTMLResponse(PAGE), root_path="/sub")
    text = tag.decode()
    assert text.startswith('<script src="/sub/__hot_reload/client.js?h=')
    assert text.endswith(" defer></script>")
    assert 'data-version="0"' in text and "data-boot=" in text and "nonce" not in text
    assert tag in body_of(messages)


async def test_utf8_multibyte_text() -> None:
    page = "<html><body><p>héllo ✓ 日本語 🎉</p></body></html>".encode()
    messages, tag = await through(HTMLResponse(page))
    out = body_of(messages)
    assert out == inject(page, tag)
    assert out.decode("utf-8") == inject(page, tag).decode("utf-8")
    assert header(messages, b"content-length") == str(len(out)).encode()


async def test_latin1_page() -> None:
    page = "<html><body><p>café àéîõü ÿ</p></body></html>".encode("latin-1")
    response = Response(page, headers={"content-type": "text/html; charset=latin-1"})
    messages, tag = await through(response)
    assert body_of(messages) == inject(page, tag)
    assert body_of(messages).decode("latin-1").count("<script") == 1


async def test_100kb_page() -> None:
    page = b"<html><body>" + b"<p>" + b"x" * 100_000 + b"</p></body></html>"
    messages, tag = await through(HTMLResponse(page))
    assert body_of(messages) == inject(page, tag)
    assert header(messages, b"content-length") == str(len(page) + len(tag)).encode()


def splits(data: bytes) -> Iterator[list[bytes]]:
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            yield [data[:i], data[i:j], data[j:]]


async def test_streaming_split_at_every_position() -> None:
    page = b"<body>a</body><!-- </BODY --></body>x"
    for chunks in splits(page):
        messages, tag = await through(StreamingResponse(iter(chunks), media_type="text/html"))
        assert body_of(messages) == inject(page, tag), chunks
        assert header(messages, b"content-length") is None


async def test_streaming_is_not_buffered_whole() -> None:
    # everything before a possible `</body` goes out with the chunk that brought it
    chunks = [b"<html><body>", b"<p>one</p>", b"<p>two</p>", b"</body></html>"]
    messages, tag = await through(StreamingResponse(iter(chunks), media_type="text/html"))
    bodies = [m["body"] for m in messages[1:]]
    assert bodies[:3] == chunks[:3]
    assert b"".join(bodies[3:]) == tag + chunks[3]


async def test_content_length_is_fixed() -> None:
    messages, tag = await through(HTMLResponse(PAGE))
    out = body_of(messages)
    assert out == inject(PAGE, tag)
    assert header(messages, b"content-length") == str(len(out)).encode()
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]


async def test_head_agrees_with_get() -> None:
    get, _ = await through(HTMLResponse(PAGE), method="GET")
    head, _ = await through(HTMLResponse(PAGE), method="HEAD")
    assert header(head, b"content-length") == header(get, b"content-length") == str(len(body_of(get))).encode()


async def test_other_headers_are_kept() -> None:
    response = HTMLResponse(PAGE, status_code=404, headers={"x-custom": "1", "set-cookie": "a=b"})
    messages, tag = await through(response)
    assert messages[0]["status"] == 404
    assert header(messages, b"x-custom") == b"1" and header(messages, b"set-cookie") == b"a=b"
    assert body_of(messages) == inject(PAGE, tag)


# ---- what is left alone ----


@pytest.mark.parametrize("status", [204, 304, 101, 103])
async def test_status_without_body_untouched(status: int) -> None:
    await untouched(replay(start(status=status), body(b"")))
    await untouched(replay(start(status=status, content_length=b"0"), body(b"")))


@pytest.mark.parametrize(
    "response",
    [
        JSONResponse({"html": "</body>"}),
        PlainTextResponse("<html><body></body></html>"),
        Response(b"<svg></svg>", media_type="image/svg+xml"),
        Response(b"<html><body></body></html>", media_type="application/xhtml+xml"),
        Response(b"<html><body></body></html>"),  # no content-type at all
    ],
    ids=["json", "text", "svg", "xhtml", "no-type"],
)
async def test_non_html_untouched(response: Response) -> None:
    await untouched(response)


async def test_event_stream_untouched() -> None:
    def stream() -> StreamingResponse:  # a streaming body can be sent once: one response per run
        return StreamingResponse([b"data: </body>\n\n", b"data: x\n\n"], media_type="text/event-stream")

    runtime = new_runtime()
    assert await run(HotReloadMiddleware(stream()), make_scope(runtime)) == await run(stream(), make_scope(runtime))


async def test_non_html_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "style.css"
    path.write_bytes(b"body { color: red } </body>")
    await untouched(FileResponse(path))
    await untouched(FileResponse(path), extensions={"http.response.pathsend": {}})


async def test_compressed_page_untouched() -> None:
    data = gzip.compress(PAGE)
    await untouched(replay(start(content_encoding=b"gzip", content_length=str(len(data)).encode()), body(data)))
    await untouched(replay(start(content_encoding=b"br"), body(b"\x00\x01</body>")))


async def test_identity_encoding_is_injected() -> None:
    messages, tag = await through(replay(start(content_encoding=b"identity"), body(PAGE)))
    assert body_of(messages) == inject(PAGE, tag)


async def test_htmx_request_untouched() -> None:
    await untouched(HTMLResponse(b"<div>fragment</div>"), headers=[(b"accept", b"*/*"), (b"hx-request", b"true")])
    await untouched(HTMLResponse(PAGE), headers=[(b"hx-request", b"true"), (b"accept", b"text/html")])


@pytest.mark.parametrize("charset", [b"utf-16", b"UTF-16LE", b"utf-32", b"ucs-2"])
async def test_ascii_unsafe_charset_untouched(charset: bytes) -> None:
    page = "<html><body>hi</body></html>".encode("utf-16")
    await untouched(replay(start(b"text/html; charset=" + charset), body(page)))


async def test_csp_nonce_is_copied() -> None:
    csp = b"default-src 'self'; script-src 'self' 'nonce-abc' 'strict-dynamic'"
    runtime = new_runtime()
    messages = await run(
        HotReloadMiddleware(replay(start(content_security_policy=csp), body(PAGE))), make_scope(runtime)
    )
    tag = runtime.tag("", "abc", page=FIXED_PAGE_ID)
    assert b' nonce="abc" ' in tag
    assert body_of(messages) == inject(PAGE, tag)


async def test_uppercase_header_names_are_read() -> None:
    app = replay(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"Content-Type", b"TEXT/HTML"), (b"Content-Length", str(len(PAGE)).encode())],
        },
        body(PAGE),
    )
    messages, tag = await through(app)
    assert body_of(messages) == inject(PAGE, tag)
    assert header(messages, b"content-length") == str(len(PAGE) + len(tag)).encode()


# ---- files sent by path ----


async def test_pathsend_html_is_streamed_with_the_tag(tmp_path: Path) -> None:
    page = b"<html><body>" + b"y" * 200_000 + b"</body></html>"
    path = tmp_path / "page.html"
    path.write_bytes(page)
    app = replay(start(content_length=str(len(page)).encode()), {"type": "http.response.pathsend", "path": str(path)})
    messages, tag = await through(app)
    assert all(m["type"] != "http.response.pathsend" for m in messages)
    assert [m.get("more_body", False) for m in messages[1:]] == [True] * (len(messages) - 2) + [False]
    assert len(messages) > 3  # streamed in chunks, not read whole
    assert body_of(messages) == inject(page, tag)
    assert header(messages, b"content-length") == str(len(page) + len(tag)).encode()


async def test_file_response_with_pathsend(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(PAGE)
    messages, tag = await through(FileResponse(path), extensions={"http.response.pathsend": {}})
    assert body_of(messages) == inject(PAGE, tag)
    assert header(messages, b"content-length") == str(len(PAGE) + len(tag)).encode()


# ---- scopes the middleware does not handle ----


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_pass_through(kind: str) -> None:
    runtime = new_runtime()
    seen: list[tuple[Scope, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, send))

    async def send(message: Message) -> None:
        pass  # pragma: no cover

    scope = {"type": kind, "state": {STATE_KEY: runtime}}
    await HotReloadMiddleware(app)(scope, receive, send)
    assert seen == [(scope, send)]


@pytest.mark.parametrize("state", [None, {}, {"other": 1}])
async def test_no_runtime_passes_through(state: dict[str, Any] | None) -> None:
    seen: list[Send] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(send)

    async def send(message: Message) -> None:
        pass  # pragma: no cover

    scope = make_scope(None)
    if state is not None:
        scope["state"] = state
    await HotReloadMiddleware(app)(scope, receive, send)
    assert seen == [send]


# ---- unusual responses never make it raise ----


@pytest.mark.parametrize(
    "first",
    [
        {"type": "http.response.start", "status": 200},
        {"type": "http.response.start", "status": "200", "headers": [(b"content-type", b"text/html")]},
        {"type": "http.response.start", "status": None, "headers": [(b"content-type", b"text/html")]},
    ],
    ids=["no-headers", "status-str", "status-none"],
)
async def test_unusual_start_passes_through(first: Message) -> None:
    messages = await run(HotReloadMiddleware(replay(first, body(PAGE))), make_scope(new_runtime()))
    assert messages == [first, body(PAGE)]


async def test_headers_as_lists_and_no_status_are_handled() -> None:
    first = {"type": "http.response.start", "headers": [[b"content-type", b"text/html"]]}
    messages, tag = await through(replay(first, body(PAGE)))
    assert body_of(messages) == inject(PAGE, tag)


@pytest.mark.parametrize("length", [b"abc", b"12, 12", b""])
async def test_bad_content_length_passes_through(length: bytes) -> None:
    first = start(content_length=length)
    messages = await run(HotReloadMiddleware(replay(first, body(PAGE))), make_scope(new_runtime()))
    assert messages == [first, body(PAGE)]


# ---- gzip and real apps through TestClient ----


def page_app(tmp_path: Path, gzip_first: bool | None) -> FastAPI:
    app = FastAPI()
    big = b"<html><body>" + b"<p>compress me</p>" * 100 + b"</body></html>"

    @app.get("/", response_class=HTMLResponse)
    def index() -> bytes:
        return big

    @app.get("/gz")
    def already_compressed() -> Response:
        data = gzip.compress(big)
        return Response(data, media_type="text/html", headers={"content-encoding": "gzip"})

    @app.get("/file")
    def file() -> FileResponse:
        return FileResponse(tmp_path / "page.html")

    @app.get("/runtime")
    def runtime(request: Request) -> dict[str, str]:
        runtime = request.state.fast_hot_reload
        return {"tag": runtime.tag(request.scope["root_path"], None, page=FIXED_PAGE_ID).decode()}

    app.state.big = big
    if gzip_first:
        app.add_middleware(GZipMiddleware, minimum_size=100)
    FastHotReload(app, watch_paths=tmp_path)
    if gzip_first is False:
        app.add_middleware(GZipMiddleware, minimum_size=100)
    return app


@pytest.mark.parametrize("gzip_first", [True, False], ids=["gzip-before", "gzip-after"])
def test_gzip_gets_a_page_with_the_tag(tmp_path: Path, gzip_first: bool) -> None:
    app = page_app(tmp_path, gzip_first)
    with LocalClient(app) as client:
        tag = client.get("/runtime").json()["tag"].encode()
        response = client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == inject(app.state.big, tag)
    assert response.content.count(b"<script") == 1


def test_compressed_inside_is_passed_through(tmp_path: Path) -> None:
    app = page_app(tmp_path, gzip_first=None)
    with LocalClient(app) as client:
        response = client.get("/gz", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == app.state.big
    assert int(response.headers["content-length"]) == len(gzip.compress(app.state.big))


def test_file_response_html(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(PAGE)
    app = page_app(tmp_path, gzip_first=None)
    with LocalClient(app) as client:
        tag = client.get("/runtime").json()["tag"].encode()
        response = client.get("/file")
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == inject(PAGE, tag)
    assert response.headers["content-length"] == str(len(PAGE) + len(tag))


def test_json_route_untouched_through_test_client(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/api")
    def api() -> dict[str, str]:
        return {"html": "<html><body></body></html>"}

    FastHotReload(app, watch_paths=tmp_path)
    with LocalClient(app) as client:
        response = client.get("/api")
    assert json.loads(response.content) == {"html": "<html><body></body></html>"}
    assert response.headers["content-length"] == str(len(response.content))


# ---- property tests: any HTML, any chunking (the tag inserter alone: tests/unit/test_inject.py) ----


@settings(max_examples=150, deadline=None)
@given(case=chunked())
def test_middleware_property(case: tuple[bytes, list[bytes]]) -> None:
    data, chunks = case

    async def main() -> tuple[list[Message], bytes]:
        messages = [body(chunk, more=True) for chunk in chunks] + [body(b"")]
        app = replay(start(content_length=str(len(data)).encode()), *messages)
        return await through(app)

    messages, tag = anyio.run(main)
    assert body_of(messages) == inject(data, tag)
    assert header(messages, b"content-length") == str(len(data) + len(tag)).encode()


@pytest.mark.parametrize(
    "headers",
    [[], [(b"accept", b"application/json")], [(b"accept", b"image/avif,image/webp")], [(b"user-agent", b"wrk")]],
)
async def test_clients_that_do_not_ask_for_html_get_the_page_untouched(headers: list[tuple[bytes, bytes]]) -> None:
    """Browsers always send Accept with text/html for pages: anything else needs no script (and pays nothing)."""
    await untouched(HTMLResponse(PAGE), headers=headers)


@pytest.mark.parametrize("accept", [b"*/*", b"text/html", b"text/html,application/xhtml+xml,*/*;q=0.8"])
async def test_clients_that_accept_html_get_the_tag(accept: bytes) -> None:
    messages, tag = await through(replay(start(), body(PAGE)), headers=[(b"accept", accept)])
    assert body_of(messages) == inject(PAGE, tag)
