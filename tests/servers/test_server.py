"""Real uvicorn (and `fastapi dev`) on a free port, with real websocket and SSE clients."""

from __future__ import annotations

import re
import time
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .._support.clients import (
    CONNECT_TIMEOUT,
    EVENT_TIMEOUT,
    RESTART_TIMEOUT,
    SSE_PATH,
    StreamEnded,
    check_message,
    listen,
    new_hello,
    ws_url,
)
from .._support.servers import Server, assert_clean_log, edit_python


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
