"""Real uvicorn (and `fastapi dev`) on a free port, with real websocket and SSE clients."""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import anyio
import httpx
import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .conftest import Server

WS_PATH = "/__hot_reload/ws"
SSE_PATH = "/__hot_reload/events"
CONNECT_TIMEOUT = 5.0
EVENT_TIMEOUT = 5.0  # a file edit reaches every client well within this
RESTART_TIMEOUT = 20.0  # uvicorn --reload: old worker down, new one imported and answering
RETRY_PAUSE = 0.05  # between connection attempts while a server restarts
MESSAGE_TYPES = {"hello", "css", "reload", "ping", "error", "server-log", "restart"}
BAD_LOG_LINES = ("Waiting for connections to close", "ERROR", "Traceback")


class StreamEnded(Exception):
    """The SSE stream ended; `clean` is False when the chunked body was cut off."""

    def __init__(self, clean: bool) -> None:
        super().__init__("clean end" if clean else "incomplete chunked body")
        self.clean = clean


class UncleanLog(AssertionError):
    """The server logged an error, a traceback or a wait for connections (see `assert_clean_log`)."""


def ws_url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}{WS_PATH}"


def check_message(text: str | bytes, server: Server) -> dict[str, Any]:
    """Parse one protocol message and check it: a known type, and no absolute path anywhere in it."""
    assert isinstance(text, str), f"the server sent a binary frame: {text!r}"
    for root in {str(server.root), str(server.root.resolve())}:
        assert root not in text, f"an event carries the server's folder {root}: {text}"
    message: dict[str, Any] = json.loads(text)
    assert message["type"] in MESSAGE_TYPES, message
    if message["type"] != "ping":
        assert isinstance(message["boot"], str) and int(message["boot"], 16) >= 0, message
    if message["type"] in ("hello", "css", "reload"):
        assert isinstance(message["version"], int) and message["version"] >= 0, message
    for path in message.get("paths", []):
        assert not PurePosixPath(path).is_absolute() and not PureWindowsPath(path).is_absolute(), message
        assert ".." not in PurePosixPath(path).parts, message
    return message


class Listener:
    """One hot reload client; `hello` is its first message, `next()` the following ones but pings.

    A stream the server ends because it stops says so last (`{"type": "restart"}`): `restarted` records it.
    """

    def __init__(self, server: Server, receive: Callable[[], Awaitable[str | bytes]]) -> None:
        self.server = server
        self._receive = receive
        self.hello: dict[str, Any] = {}
        self.restarted = False

    async def next(self, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        with anyio.fail_after(timeout):
            while True:
                message = check_message(await self._receive(), self.server)
                assert not self.restarted, f"{message} after the restart notice"
                if message["type"] == "restart":
                    assert message["boot"] == self.hello["boot"], message
                    self.restarted = True
                elif message["type"] != "ping":
                    return message

    async def next_change(self, after: int, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The first event with a version beyond `after` (events merge, so it may skip some)."""
        with anyio.fail_after(timeout):
            while True:
                message = await self.next(timeout)
                assert message["type"] in ("css", "reload"), message
                if message["version"] > after:
                    return message


class TurnedAway(Exception):
    """A stopping server refused a new SSE stream (503): try again, as the browser does."""


@asynccontextmanager
async def listen(server: Server, transport: str = "ws", **ws_options: Any) -> AsyncIterator[Listener]:
    """Connect over the websocket or SSE and read the hello; `headers=` also go with the SSE request."""
    if transport == "ws":
        async with connect(ws_url(server), open_timeout=CONNECT_TIMEOUT, **ws_options) as ws:
            listener = Listener(server, ws.recv)
            listener.hello = await listener.next(CONNECT_TIMEOUT)
            assert listener.hello["type"] == "hello", listener.hello
            yield listener
        return
    timeout = httpx.Timeout(CONNECT_TIMEOUT, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        aconnect_sse(client, "GET", server.url + SSE_PATH, headers=dict(ws_options.get("headers") or {})) as source,
    ):
        if source.response.status_code == 503:
            raise TurnedAway("the server is stopping")
        assert source.response.status_code == 200
        events = source.aiter_sse()

        async def receive() -> str:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                raise StreamEnded(clean=True) from None
            except httpx.RemoteProtocolError:
                raise StreamEnded(clean=False) from None
            data = json.loads(event.data)
            if "version" in data:
                assert event.id == str(data["version"]), "the SSE id is the version (Last-Event-ID)"
            return event.data

        listener = Listener(server, receive)
        listener.hello = await listener.next(CONNECT_TIMEOUT)
        assert listener.hello["type"] == "hello", listener.hello
        yield listener


async def new_hello(
    server: Server,
    old_boot: str,
    transport: str = "ws",
    timeout: float = RESTART_TIMEOUT,
    stale: list[float] | None = None,
) -> dict[str, Any]:
    """Connect again and again, as the browser does, until a server with another boot id says hello.

    A connection that reaches the old server while it stops is turned away (1012 close, or 503), or,
    in the moment before the server noticed, gets a hello with the old boot id and must then end at
    once: the client just tries again. `stale` collects when the latter happened.
    """
    with anyio.fail_after(timeout):
        while True:
            try:
                async with listen(server, transport) as listener:
                    if listener.hello["boot"] != old_boot:
                        return listener.hello
                    if stale is not None:
                        stale.append(time.monotonic())
                    await _ends_at_once(listener)
            except (OSError, TimeoutError, WebSocketException, httpx.TransportError, TurnedAway):
                pass  # the old server is going away, or the new one is not up yet
            await anyio.sleep(RETRY_PAUSE)


async def _ends_at_once(listener: Listener) -> None:
    try:
        message = await listener.next(timeout=2.0)
    except (ConnectionClosed, StreamEnded):
        return
    except TimeoutError:
        pytest.fail("a connection to the stopping server stayed open")  # Failed is not retried by the caller
    pytest.fail(f"the stopping server sent {message} after its hello")


async def eventually(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """The async twin of conftest.wait_for: poll `condition` (sync or async) until truthy, fail after `timeout`."""
    try:
        with anyio.fail_after(timeout):
            while True:
                result = condition()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result
                await anyio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}") from None


async def get_status(server: Server, path: str = "/") -> int:
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        return (await client.get(server.url + path)).status_code


def assert_clean_log(server: Server, since: int = 0) -> None:
    """No ERROR, Traceback or "Waiting for connections to close" in the server log from offset `since` on."""
    log = server.log()[since:]
    if bad := [line for line in log.splitlines() if any(marker in line for marker in BAD_LOG_LINES)]:
        raise UncleanLog("\n".join(bad[:10]) + "\n--- full log ---\n" + log[-6000:])


def edit_python(server: Server, restart: int) -> None:
    """Change main.py so that uvicorn --reload restarts the worker (site and probe apps)."""
    server.edit("main.py", f'MESSAGE = "python-v{restart}"', f'MESSAGE = "python-v{restart + 1}"')


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["ws", "sse"])
@pytest.mark.parametrize(
    ("relative", "old", "new", "kind"),
    [
        ("templates/index.html", "template-v1", "template-v2", "reload"),
        ("static/style.css", "0, 0, 255", "255, 0, 0", "css"),
    ],
)
async def test_hello_then_change_event(
    serve: Any, transport: str, relative: str, old: str, new: str, kind: str
) -> None:
    server: Server = serve()
    async with listen(server, transport) as listener:
        assert listener.hello == {"type": "hello", "boot": listener.hello["boot"], "version": 0, "recent": []}
        assert len(listener.hello["boot"]) >= 16
        server.edit(relative, old, new)
        event = await listener.next()
    assert event == {"type": kind, "boot": listener.hello["boot"], "version": 1, "paths": [relative]}
    assert_clean_log(server)


@pytest.mark.anyio
async def test_both_transports_at_once_get_the_same_events(serve: Any) -> None:
    server: Server = serve()
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        assert ws.hello == sse.hello
        server.edit("templates/index.html", "template-v1", "template-v2")
        from_ws, from_sse = await ws.next(), await sse.next()
        assert from_ws == from_sse
        assert from_ws["type"] == "reload" and from_ws["version"] == 1
        server.edit("static/style.css", "0, 0, 255", "0, 128, 0")
        from_ws, from_sse = await ws.next(), await sse.next()
        assert from_ws == from_sse
        assert from_ws["type"] == "css" and from_ws["version"] == 2
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        assert ws.hello == sse.hello
        assert (ws.hello["version"], [e["version"] for e in ws.hello["recent"]]) == (2, [1, 2])
    assert_clean_log(server)


@pytest.mark.anyio
async def test_python_edit_closes_websocket_with_1012_and_new_server_has_new_boot(serve: Any) -> None:
    server: Server = serve()
    async with listen(server, "ws") as listener:
        started = time.monotonic()
        edit_python(server, 1)
        with pytest.raises(ConnectionClosed) as closed:
            await listener.next(RESTART_TIMEOUT)
        closed_after = time.monotonic() - started
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value
    hello = await new_hello(server, listener.hello["boot"])
    print(f"websocket closed {closed_after:.2f}s after the edit; new hello after {time.monotonic() - started:.2f}s")
    assert hello["version"] == 0
    assert server.answers()


@pytest.mark.anyio
async def test_python_edit_ends_sse_stream_promptly_and_reconnect_has_new_boot(serve: Any) -> None:
    server: Server = serve()
    async with listen(server, "sse") as listener:
        started = time.monotonic()
        edit_python(server, 1)
        with pytest.raises(StreamEnded) as ended:
            # the stream ends at uvicorn's stop signal (chained by the lifespan); the deadline: a loaded machine
            await listener.next(timeout=RESTART_TIMEOUT)
        ended_after = time.monotonic() - started
    assert ended.value.clean, "the stream was cut off without its last chunk"
    hello = await new_hello(server, listener.hello["boot"], "sse")
    assert hello["version"] == 0
    print(
        f"SSE stream ended ({ended.value}) {ended_after:.2f}s after the edit; "
        f"reconnected in {time.monotonic() - started:.2f}s"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("second", ["ws", "sse"])
async def test_restart_log_is_clean_with_clients_connected(serve: Any, second: str) -> None:
    server: Server = serve()
    async with listen(server, "ws") as ws, listen(server, second) as other:
        log_start = len(server.log())
        started = time.monotonic()
        edit_python(server, 1)
        with pytest.raises((ConnectionClosed, StreamEnded)):
            await ws.next(RESTART_TIMEOUT)
        with pytest.raises((ConnectionClosed, StreamEnded)):
            await other.next(RESTART_TIMEOUT)
    await new_hello(server, ws.hello["boot"])
    print(f"restart with ws+{second} connected: new hello {time.monotonic() - started:.2f}s after the edit")
    assert "Started server process" in server.log()[log_start:]
    assert_clean_log(server, since=log_start)


@pytest.mark.anyio
async def test_idle_clients_get_keepalives_from_the_broadcaster(serve: Any) -> None:
    server: Server = serve("probe", env={"FHR_PING_INTERVAL": "0.1"}, reload=False)
    async with (
        connect(ws_url(server), open_timeout=CONNECT_TIMEOUT) as ws,
        httpx.AsyncClient(timeout=httpx.Timeout(CONNECT_TIMEOUT, read=None)) as client,
        client.stream("GET", server.url + SSE_PATH) as sse,
    ):
        assert sse.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert (sse.headers["cache-control"], sse.headers["x-accel-buffering"]) == ("no-store", "no")
        with anyio.fail_after(EVENT_TIMEOUT):
            assert check_message(await ws.recv(), server)["type"] == "hello"
            for _ in range(2):
                assert check_message(await ws.recv(), server) == {"type": "ping"}
            text = ""
            async for chunk in sse.aiter_text():
                text += chunk
                if text.count(": ping\r\n\r\n") >= 2:
                    break
        assert text.startswith("id: 0\r\ndata: ") and '"type": "hello"' in text
    assert_clean_log(server)


@pytest.mark.anyio
async def test_fastapi_dev_hello_and_template_event(serve: Any) -> None:
    server: Server = serve(command="fastapi")
    async with listen(server, "ws") as listener:
        server.edit("templates/index.html", "template-v1", "template-v2")
        event = await listener.next()
    assert event == {"type": "reload", "boot": listener.hello["boot"], "version": 1, "paths": ["templates/index.html"]}


@pytest.mark.anyio
async def test_manual_wiring_serves_pages_events_and_restarts(serve: Any) -> None:
    # include_router + add_middleware: on FastAPI before 0.112.2 the middleware runs the router's lifespan
    server: Server = serve(env={"FHR_MODE": "manual"})
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        page = (await client.get(server.url + "/", headers={"accept": "text/html"})).text
        (src,) = re.findall(r'<script src="([^"]+/client\.js[^"]*)"', page)
        script = await client.get(server.url + src.replace("&amp;", "&"))
    assert script.status_code == 200 and "SharedWorker" in script.text
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        assert ws.hello == sse.hello and ws.hello["version"] == 0
        server.edit("templates/index.html", "template-v1", "template-v2")
        expected = {"type": "reload", "boot": ws.hello["boot"], "version": 1, "paths": ["templates/index.html"]}
        assert await ws.next() == await sse.next() == expected
        edit_python(server, 1)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.next(RESTART_TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value
    assert (await new_hello(server, ws.hello["boot"]))["version"] == 0  # the restarted worker runs it again
    assert_clean_log(server)
