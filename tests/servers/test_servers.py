"""Every dev server: restarts and Ctrl+C with websocket and SSE clients connected, edits reaching the clients
whatever the server's reloader ignores, and the startup warning when that reloader restarts for templates."""

from __future__ import annotations

import os
import re
import signal
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from fast_hot_reload._server.compat import release

from .._support.clients import RESTART_TIMEOUT, Listener, StreamEnded, listen, new_hello
from .._support.servers import Server, assert_clean_log, edit_python
from .._support.waiting import eventually

RELOADING = ["fastapi", "uvicorn.run", "hypercorn", "granian"]  # `uvicorn --reload` itself: test_server.py
GRANIAN_QUIET = ["--reload-ignore-dirs", "templates", "--reload-ignore-dirs", "static"]
GRANIAN_WARNING = "granian restarts the worker when a template or static file is saved"
# what a server logs about its own Ctrl+C (granian's worker gets the terminal's SIGINT before its parent stops it)
CTRL_C_NOISE = ("Unexpected exit from worker",)


async def connect_all(stack: AsyncExitStack, server: Server, transports: tuple[str, ...]) -> list[Listener]:
    return [await stack.enter_async_context(listen(server, transport)) for transport in transports]


async def ended_with_restart_notice(listener: Listener, command: str) -> None:
    """The stream ends right after our restart notice (a websocket may get the server's own 1012 close first).

    granian closes (or drops) the streams itself as it stops a worker, racing our notice: there, they must end.
    """
    with pytest.raises((StreamEnded, ConnectionClosed)) as ended:
        await listener.next(RESTART_TIMEOUT)
    if command == "granian":
        return
    if isinstance(ended.value, StreamEnded):
        assert ended.value.clean and listener.restarted, f"the SSE stream ended without the restart notice: {ended}"
    else:
        assert isinstance(ended.value, ConnectionClosed)
        close = ended.value.rcvd
        assert listener.restarted or (close is not None and close.code == 1012), f"not a restart: {ended.value!r}"


def old_granian_sse(command: str) -> bool:
    """granian 1.x cancels the receive of an SSE response that sse-starlette before 3 still awaits as the stream
    ends: it logs a CancelledError traceback for each stream a restart ends (harmless; README, Dev servers)."""
    return command == "granian" and release("granian") < (2,) and release("sse-starlette") < (3,)


def assert_clean_stop(server: Server, since: int = 0) -> None:
    log = "\n".join(line for line in server.log()[since:].splitlines() if not any(n in line for n in CTRL_C_NOISE))
    assert not any(m in log for m in ("Traceback", "ERROR", "Waiting for connections to close")), log


@pytest.mark.anyio
@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", RELOADING)
async def test_python_edit_restarts_with_websocket_and_sse_clients_connected(serve: Any, command: str) -> None:
    # hypercorn on Python 3.12+ never restarted while a stream was open, granian waited for SSE clients to leave
    server: Server = serve(command=command, args=GRANIAN_QUIET if command == "granian" else ())
    boot = ""
    for restart in (1, 2):
        async with AsyncExitStack() as stack:
            clients = await connect_all(stack, server, ("ws", "sse", "ws", "sse"))
            assert {c.hello["boot"] for c in clients} == {clients[0].hello["boot"]} != {boot}
            boot = clients[0].hello["boot"]
            edit_python(server, restart)
            for client in clients:
                await ended_with_restart_notice(client, command)
        for transport in ("ws", "sse"):
            hello = await new_hello(server, boot, transport)
            assert hello["version"] == 0
    if not old_granian_sse(command):
        assert_clean_log(server)


@pytest.mark.anyio
@pytest.mark.timeout(90)
@pytest.mark.parametrize("command", ["uvicorn", *RELOADING])
async def test_ctrl_c_with_clients_connected_ends_their_streams_and_the_server(serve: Any, command: str) -> None:
    # hypercorn's workers ignore SIGINT and wait for every connection (for ever on 3.12+); granian waited for SSE
    server: Server = serve(command=command)
    async with AsyncExitStack() as stack:
        clients = await connect_all(stack, server, ("ws", "sse"))
        log_start = len(server.log())
        server.interrupt()
        for client in clients:
            await ended_with_restart_notice(client, command)
        await eventually(lambda: server.process.poll() is not None, RESTART_TIMEOUT, what="the server to exit")
    if not old_granian_sse(command):
        assert_clean_stop(server, log_start)


@pytest.mark.anyio
@pytest.mark.timeout(90)
@pytest.mark.parametrize("command", ["hypercorn", "granian"])
async def test_without_its_reloader_a_python_save_leaves_the_streams_open(serve: Any, command: str) -> None:
    """No `--reload` on their command line: no reloader will stop the server, so a save must not end the streams."""
    server: Server = serve(command=command, reload=False)
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        edit_python(server, 1)
        server.edit("templates/index.html", "template-v1", "template-v2")  # seen after the save, on the same streams
        for client in (ws, sse):
            assert (await client.next())["paths"] == ["templates/index.html"]
        assert not ws.restarted and not sse.restarted
    assert_clean_log(server)


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_granian_told_to_ignore_templates_still_lets_them_reach_the_tabs(serve: Any) -> None:
    # granian extends watchfiles.DefaultFilter in place before forking the worker; our ignore list used to follow it
    server: Server = serve(command="granian", args=GRANIAN_QUIET)
    async with listen(server, "ws") as ws, listen(server, "sse") as sse:
        server.edit("templates/index.html", "template-v1", "template-v2")
        assert (await ws.next())["paths"] == (await sse.next())["paths"] == ["templates/index.html"]
        server.edit("static/style.css", "0, 0, 255", "255, 0, 0")
        for client in (ws, sse):
            event = await client.next()
            assert (event["type"], event["boot"], event["version"]) == ("css", ws.hello["boot"], 2)
        assert not ws.restarted and not sse.restarted  # swapped in place: granian did not restart for either file
    assert GRANIAN_WARNING not in server.log()
    assert_clean_log(server)


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_granian_restarting_for_templates_says_how_to_stop_it(serve: Any) -> None:
    server: Server = serve(command="granian")
    await eventually(lambda: GRANIAN_WARNING in server.log(), what="the reloader warning")
    (line,) = [line for line in server.log().splitlines() if GRANIAN_WARNING in line]
    assert "--reload-ignore-dirs templates" in line and "--reload-ignore-dirs static" in line, line
    assert "templates/index.html" in line and str(server.root) not in line, line


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_uvicorn_restarting_for_templates_says_how_to_stop_it(serve: Any) -> None:
    server: Server = serve(args=["--reload-include", "*.html"])
    warning = "uvicorn restarts the server when a template or static file is saved (--reload-include '*.html')"
    await eventually(lambda: warning in server.log(), what="the reloader warning")


@pytest.mark.anyio
@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["gunicorn", "uvicorn"])
async def test_the_workers_of_one_server_agree_on_boot_id_and_versions(serve: Any, command: str) -> None:
    """A page and its connection may land on different workers: the page's boot id and version must mean the same
    on each (no refresh for nothing), and every connection, whichever worker holds it, gets every change."""
    server: Server = serve(command=command, workers=2, reload=False)
    pids: set[int] = set()

    async def spread() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:  # a fresh connection each time: any worker may take it
            pids.add((await client.get(server.url + "/worker")).json())
        return len(pids) > 1

    await eventually(spread, what="both workers to answer")
    async with AsyncExitStack() as stack:
        clients = await connect_all(stack, server, ("ws", "sse") * 6)
        pages = [await page_identity(server) for _ in range(6)]
        boot = clients[0].hello["boot"]
        assert {c.hello["boot"] for c in clients} == {boot}
        assert set(pages) == {(boot, "0")}
        for version, (relative, old, new) in enumerate(EDITS, start=1):
            server.edit(relative, old, new)
            for client in clients:
                event = await client.next()
                assert (event["boot"], event["version"], event["paths"]) == (boot, version, [relative]), event
    async with listen(server, "ws") as late, listen(server, "sse") as later:
        for client in (late, later):
            assert (client.hello["boot"], client.hello["version"]) == (boot, len(EDITS))
            assert [e["version"] for e in client.hello["recent"]] == list(range(1, len(EDITS) + 1))
    assert {await page_identity(server) for _ in range(6)} == {(boot, str(len(EDITS)))}
    assert_clean_log(server)


EDITS = [
    ("templates/index.html", "template-v1", "template-v2"),
    ("static/style.css", "0, 0, 255", "255, 0, 0"),
    ("templates/index.html", "template-v2", "template-v3"),
]


async def page_identity(server: Server) -> tuple[str, str]:
    async with httpx.AsyncClient(timeout=5) as client:
        page = (await client.get(server.url + "/", headers={"accept": "text/html"})).text
    found = re.search(r'data-boot="([0-9a-f]+)" data-version="(\d+)"', page)
    assert found, page
    return found.group(1), found.group(2)


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_a_worker_that_dies_leaves_the_others_watching(serve: Any) -> None:
    """gunicorn replaces a worker that died: if it was the one watching the files, another one takes over, and the
    newcomer joins the server's boot id and versions."""
    server: Server = serve(command="gunicorn", workers=2, reload=False)
    seen: set[int] = set()

    async def answered_by(count: int) -> bool:
        seen.add(await worker_pid(server))  # a fresh connection each time: any worker may take it
        return len(seen) >= count

    await eventually(lambda: answered_by(2), what="both workers to answer")
    version = 0
    boot = ""
    for victim in sorted(seen):  # one of the two is the watcher: end each in turn
        os.kill(victim, signal.SIGKILL)
        await eventually(lambda: answered_by(len(seen) + 1), what="the new worker to serve")  # it joined by then
        async with AsyncExitStack() as stack:
            clients = await connect_all(stack, server, ("ws", "sse") * 4)
            assert {c.hello["boot"] for c in clients} == {clients[0].hello["boot"]}
            assert boot in ("", clients[0].hello["boot"])  # the newcomer joined the survivor's boot id
            boot = clients[0].hello["boot"]
            version += 1
            server.edit("templates/index.html", f"template-v{version}", f"template-v{version + 1}")
            for client in clients:
                assert (await client.next())["version"] == version
    assert_clean_log(server, since=server.log().rindex("SIGKILL"))


async def worker_pid(server: Server) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        pid: int = (await client.get(server.url + "/worker")).json()
        return pid
