"""Faults and restarts on the server side: many reloads, a syntax error, a vanished folder, leaked clients."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import time
from contextlib import AsyncExitStack, nullcontext
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .._support.clients import (
    RESTART_TIMEOUT,
    StreamEnded,
    get_status,
    listen,
    new_hello,
    subscriber_count,
    subscribers_are,
    ws_url,
)
from .._support.servers import Server, assert_clean_log, edit_python
from .._support.waiting import eventually

RESTARTS = 20
WATCH_WARNING = "WARNING:fast_hot_reload._files.watch: watching"  # the probe app's log format


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_streams_end_on_uvicorns_signal_not_on_the_poll(serve: Any) -> None:
    # uvicorn looks for open connections 0.1 s into its shutdown: with the poll as good as off, only the
    # chained signal handler can end the SSE stream before that
    server: Server = serve(env={"FHR_EXIT_POLL": "30"})
    boot = (await new_hello(server, old_boot=""))["boot"]
    for restart in range(1, 4):
        async with listen(server, "sse") as sse:
            assert sse.hello["boot"] == boot
            edit_python(server, restart)
            with pytest.raises(StreamEnded) as ended:
                await sse.next(RESTART_TIMEOUT)
            assert ended.value.clean, "the SSE stream was cut off without its last chunk"
        boot = (await new_hello(server, boot))["boot"]
    assert_clean_log(server)


@pytest.mark.anyio
@pytest.mark.timeout(180)
@pytest.mark.parametrize("transports", [("ws",), ("ws", "sse")], ids=["ws", "ws+sse"])
async def test_twenty_restarts_with_clients_reconnecting(serve: Any, transports: tuple[str, ...]) -> None:
    server: Server = serve()
    boot = (await new_hello(server, old_boot=""))["boot"]
    durations: list[float] = []
    stale: list[float] = []
    started = time.monotonic()
    for restart in range(1, RESTARTS + 1):
        async with listen(server, "ws") as ws, listen(server, "sse") if "sse" in transports else nullcontext() as sse:
            assert ws.hello["boot"] == boot
            assert sse is None or sse.hello["boot"] == boot
            edited = time.monotonic()
            edit_python(server, restart)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.next(RESTART_TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value
            if sse is not None:
                with pytest.raises(StreamEnded) as ended:
                    await sse.next(RESTART_TIMEOUT)
                assert ended.value.clean, "the SSE stream was cut off without its last chunk"
        boot = (await new_hello(server, boot, stale=stale))["boot"]
        durations.append(time.monotonic() - edited)
    total = time.monotonic() - started
    print(
        f"{RESTARTS} restarts with {'+'.join(transports)} clients: total {total:.1f}s, per restart "
        f"median {sorted(durations)[RESTARTS // 2]:.2f}s max {max(durations):.2f}s (edit to new hello); "
        f"{len(stale)} reconnects reached the stopping server first"
    )
    log = server.log()
    assert log.count("Started server process") == RESTARTS + 1, log
    assert_clean_log(server)


@pytest.mark.anyio
async def test_syntax_error_leaves_no_server_until_the_fix_is_saved(serve: Any) -> None:
    server: Server = serve()
    async with listen(server) as listener:
        log_start = len(server.log())
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1" +')
        # the running server checks the save before the reloader replaces it, and tells the tabs what is wrong
        error = await listener.next(RESTART_TIMEOUT)
        assert error["type"] == "error", error
        details = error["details"]
        assert (details["kind"], details["title"], details["location"]["file"]) == ("syntax", "SyntaxError", "main.py")
        line = (server.root / "main.py").read_text().splitlines().index('MESSAGE = "python-v1" +') + 1
        assert details["location"]["line"] == line and details["frames"] == []
        with pytest.raises(ConnectionClosed) as closed:
            await listener.next(RESTART_TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    await eventually(lambda: "SyntaxError" in server.log()[log_start:], RESTART_TIMEOUT, what="the failed import")
    # the reloader still holds the listening socket: connections wait in its backlog and never get a hello
    for _ in range(3):
        # asyncio.TimeoutError is not the builtin one before Python 3.11
        with pytest.raises((TimeoutError, asyncio.TimeoutError, OSError, WebSocketException)):
            async with connect(ws_url(server), open_timeout=0.5) as ws:
                await ws.recv()
    assert not server.answers()
    fixed = time.monotonic()
    server.edit("main.py", 'MESSAGE = "python-v1" +', 'MESSAGE = "python-v2"')
    hello = await new_hello(server, listener.hello["boot"])
    print(f"syntax error fixed: hello from the new server {time.monotonic() - fixed:.2f}s after the save")
    assert hello["version"] == 0
    assert await get_status(server, "/api") == 200


async def delete_watched_folder(server: Server) -> None:
    shutil.rmtree(server.root / "watched")
    await eventually(lambda: WATCH_WARNING in server.log(), what="a warning about the watched folder")


def names_end_with(event: dict[str, Any], name: str) -> bool:
    # paths are relative to the watched folder, even while it is gone
    return any(path.endswith(name) for path in event["paths"])


@pytest.mark.anyio
async def test_watched_folder_deleted_and_recreated(serve: Any) -> None:
    server: Server = serve("probe", env={"FHR_WATCH": "watched"}, reload=False)
    watched = server.root / "watched"
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        await delete_watched_folder(server)
        assert await get_status(server) == 200
        assert await subscriber_count(server) == 2
        # the folder stays missing for 2 s (4 retries at the package's 0.5 s pace): the warning must not repeat
        with pytest.raises(AssertionError, match="timed out"):
            await eventually(lambda: server.log().count(WATCH_WARNING) > 1, timeout=2.0)
        watched.mkdir()
        # watching resumes: a file written in the new folder (again, until the watch is back) gives an event
        edits = iter(range(1000))
        await eventually(lambda: (watched / "new.html").write_text(f"<p>{next(edits)}</p>") and _changed(server))
        for listener in (ws, sse):  # events about the deletion come first; then the new file
            event = await listener.next()
            while not names_end_with(event, "new.html"):
                event = await listener.next()
            assert event["type"] == "reload" and event["paths"] == ["new.html"], event
        assert await get_status(server) == 200
    assert server.log().count(WATCH_WARNING) == 1, server.log()
    assert_clean_log(server)


def _changed(server: Server) -> bool:
    return re.search(r"reload \(v\d+\): new\.html", server.log()) is not None


@pytest.mark.anyio
async def test_change_in_a_recreated_folder_is_not_lost(serve: Any) -> None:
    server: Server = serve("probe", env={"FHR_WATCH": "watched"}, reload=False)
    watched = server.root / "watched"
    await delete_watched_folder(server)
    async with listen(server, "ws") as ws:  # connected after the deletion was announced: the next event is news
        watched.mkdir()
        (watched / "new.html").write_text("<p>written as soon as the folder is back</p>")
        event = await ws.next()  # TimeoutError when the write goes unannounced
        assert event["type"] == "reload", event
    assert_clean_log(server)


@pytest.mark.anyio
async def test_unreadable_file_in_the_watched_folder(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    secret = server.root / "watched" / "secret.html"
    locked = server.root / "watched" / "locked"
    async with listen(server, "ws") as ws:
        secret.write_text("<p>secret</p>")
        secret.chmod(0)
        locked.mkdir()
        (locked / "inside.html").write_text("<p>inside</p>")
        locked.chmod(0)
        try:
            if os.geteuid() == 0:
                print("running as root: mode 000 does not stop root from reading, so only 'no crash' is checked")
            else:
                assert not os.access(secret, os.R_OK) and not os.access(locked, os.R_OK)
            server.edit("watched/page.html", "watched-v1", "watched-v2")
            event = await ws.next()
            while "watched/page.html" not in event["paths"]:  # the new files may come in an event of their own
                event = await ws.next()
            assert await get_status(server) == 200
        finally:
            locked.chmod(stat.S_IRWXU)
            secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert_clean_log(server)


@pytest.mark.anyio
async def test_closed_clients_free_their_subscriptions(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    assert await subscriber_count(server) == 0
    async with AsyncExitStack() as stack:
        for transport in ["ws", "sse"] * 10:
            await stack.enter_async_context(listen(server, transport))
        assert await subscriber_count(server) == 20
    await eventually(lambda: subscribers_are(server, 0), what="every subscription released")
    async with listen(server, "sse"), listen(server, "ws"):
        assert await subscriber_count(server) == 2
    await eventually(lambda: subscribers_are(server, 0), what="every subscription released again")
    assert_clean_log(server)
