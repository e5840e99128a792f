"""Clients of the hot reload endpoints: `LocalClient` for an app run in-process, and real websocket and SSE
clients (`listen`, `new_hello`) for a real server, which check every message they get."""

from __future__ import annotations

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
import starlette
from httpx_sse import aconnect_sse
from starlette.testclient import TestClient, WebSocketTestSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from fast_hot_reload._web.runtime import Runtime

from .servers import Server

LOOPBACK_CLIENT = ("127.0.0.1", 50000)
WS_PATH = "/__hot_reload/ws"
SSE_PATH = "/__hot_reload/events"
CONNECT_TIMEOUT = 5.0
EVENT_TIMEOUT = 5.0  # a file edit reaches every client well within this
RESTART_TIMEOUT = 20.0  # uvicorn --reload: old worker down, new one imported and answering
RETRY_PAUSE = 0.05  # between connection attempts while a server restarts
MESSAGE_TYPES = {"hello", "css", "reload", "ping", "error", "server-log", "restart"}
# StaticFiles answers Range requests from Starlette 0.39 on; before, with the whole file (and a 200)
STATIC_RANGES = tuple(int(part) for part in starlette.__version__.split(".")[:2]) >= (0, 39)
ERROR_JSON = re.compile(r'<script type="application/json" id="fast-hot-reload-error">(.*?)</script>', re.S)


# ---- an app run in-process ----


class LocalClient(TestClient):
    """A TestClient addressed to `localhost` from a loopback address, as a browser on the developer's machine is.

    The hot reload endpoints refuse other hosts (DNS rebinding), and Starlette's default is `testserver`; error
    details and log lines go to loopback clients only, and Starlette's default client is `testclient`.
    `client=` gives another address (a phone on the LAN).
    """

    def __init__(
        self, app: Any, base_url: str = "http://localhost", client: tuple[str, int] = LOOPBACK_CLIENT, **kwargs: Any
    ) -> None:
        super().__init__(_from_client(app, client), base_url=base_url, **kwargs)

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> WebSocketTestSession:
        return super().websocket_connect(url if "://" in url else "ws://localhost" + url, *args, **kwargs)


def _from_client(app: Any, client: tuple[str, int]) -> Any:
    """`app` seeing requests from `client` (Starlette's TestClient names it only from 0.37 on), or from the address
    a request names in an `x-test-client` header: two browsers on one running app."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            named = next((v.decode() for k, v in scope["headers"] if k == b"x-test-client"), None)
            scope = {**scope, "client": (named, 50001) if named else client}
        await app(scope, receive, send)

    return asgi


def runtime_of(client: LocalClient) -> Runtime:
    runtime: Runtime = client.app_state["fast_hot_reload"]
    return runtime


async def stream_through(
    app: Any, path: str, headers: dict[str, str], client: tuple[str, int] = LOOPBACK_CLIENT
) -> int:
    """GET `path` of `app` by hand, lifespan included, and count the body's bytes without keeping them.

    TestClient keeps a whole body on some Starlette releases, which would hide what `app` itself keeps.
    """
    started, done = anyio.Event(), anyio.Event()
    state: dict[str, Any] = {}  # what the lifespan leaves, copied into the request's scope as servers do
    size = 0

    async def lifespan() -> None:
        messages = iter([{"type": "lifespan.startup"}])

        async def receive() -> dict[str, Any]:
            message = next(messages, None)
            if message is None:
                await done.wait()
                return {"type": "lifespan.shutdown"}
            return message

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()

        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, receive, send)

    requested = False

    async def receive_request() -> dict[str, Any]:
        nonlocal requested
        if requested:  # then the client stays until the response is done
            await done.wait()
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send_response(message: dict[str, Any]) -> None:
        nonlocal size
        if message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *((k.encode(), v.encode()) for k, v in headers.items())],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lifespan)
        with anyio.fail_after(CONNECT_TIMEOUT):
            await started.wait()
        await app({**scope, "state": dict(state)}, receive_request, send_response)
        done.set()
    return size


# ---- a real server ----


class StreamEnded(Exception):
    """The SSE stream ended; `clean` is False when the chunked body was cut off."""

    def __init__(self, clean: bool) -> None:
        super().__init__("clean end" if clean else "incomplete chunked body")
        self.clean = clean


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
        while message["type"] == "error":  # the runner's old app, serving on: the error that stands comes first
            message = await listener.next(timeout=2.0)
    except (ConnectionClosed, StreamEnded):
        return
    except TimeoutError:
        pytest.fail("a connection to the stopping server stayed open")  # Failed is not retried by the caller
    pytest.fail(f"the stopping server sent {message} after its hello")


async def get_status(server: Server, path: str = "/") -> int:
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        return (await client.get(server.url + path)).status_code


async def subscriber_count(server: Server) -> int:
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        response = await client.get(server.url + "/subscribers")
        response.raise_for_status()
        count: int = response.json()
        return count


async def subscribers_are(server: Server, expected: int) -> bool:
    return await subscriber_count(server) == expected
