"""Hostile or broken clients against a real uvicorn: wrong origins, junk frames, stuck and half-open sockets."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .._support.clients import (
    CONNECT_TIMEOUT,
    SSE_PATH,
    WS_PATH,
    Listener,
    check_message,
    get_status,
    listen,
    subscriber_count,
    subscribers_are,
    ws_url,
)
from .._support.servers import Server, assert_clean_log
from .._support.waiting import eventually

SEND_TIMEOUT = 10.0  # the package drops a client that has not taken a message for this long
MEMORY_GROWTH_LIMIT_MB = 30


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process from /proc, in MB (`VmHWM` is the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def connected(server_port: int, client_port: int) -> bool:
    """Whether the server still holds an open TCP connection to the client's port (Linux's /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return state in ("01", "08")  # ESTABLISHED, CLOSE_WAIT: the server's end is still open
    return False


def read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 16) -> bytes:
    """Read from a blocking socket (which has a timeout) until `marker` has arrived."""
    data = b""
    while marker not in data:
        chunk = sock.recv(1)  # byte by byte: leave whatever follows the marker in the socket
        assert chunk, f"connection closed before {marker!r}; got {data!r}"
        data += chunk
        assert len(data) < limit, data
    return data


@contextmanager
def raw_connection(server: Server, request: bytes = b"", receive_buffer: int | None = None) -> Iterator[socket.socket]:
    """A plain TCP connection to the server that sends `request` and does nothing else by itself."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connect: sets the window
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request)
        yield sock


def ws_handshake(server: Server) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def sse_request(server: Server) -> bytes:
    return f"GET {SSE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAccept: text/event-stream\r\n\r\n".encode()


def reset(sock: socket.socket) -> None:
    """Drop the connection with a TCP RST: no close frame, no FIN, as a crashed or unplugged client."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def assert_refused(server: Server, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(server), origin=origin, open_timeout=CONNECT_TIMEOUT):
            pass
    assert refused.value.response.status_code == 403, (origin, refused.value)


async def assert_accepted(server: Server, origin: str | None) -> None:
    async with listen(server, origin=origin) as listener:
        assert listener.hello["type"] == "hello", origin


@pytest.mark.anyio
async def test_websocket_origin_of_another_site_is_refused(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    port = server.port
    for origin in (
        "http://evil.example",
        f"http://evil.example:{port}",
        f"http://127.0.0.1.evil.example:{port}",
        f"http://localhost.evil.example:{port}",
        "null",  # sandboxed iframes and file:// pages
        f"http://localhost:{port + 1}",  # another dev server's page on this machine, in another tab
        f"http://127.0.0.1:{port + 1}",
    ):
        await assert_refused(server, origin)
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", None):
        await assert_accepted(server, origin)
    assert await get_status(server) == 200
    assert "refused a hot reload websocket from origin 'http://evil.example'" in server.log()


@pytest.mark.anyio
async def test_an_event_stream_for_a_page_of_another_origin_is_refused(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        for origin in ("http://evil.example", f"http://localhost:{server.port + 1}"):
            refused = await client.get(server.url + SSE_PATH, headers={"origin": origin})
            assert refused.status_code == 403, origin
        async with client.stream("GET", server.url + SSE_PATH, headers={"origin": server.url}) as stream:
            assert stream.status_code == 200


@pytest.mark.anyio
async def test_websocket_origin_of_the_host_override_is_accepted(serve: Any) -> None:
    server: Server = serve("probe", env={"FHR_WS_HOST": "custom_host"}, reload=False)
    await assert_accepted(server, "http://custom_host:1234")
    await assert_accepted(server, "http://CUSTOM_HOST:1234")  # host names are case-insensitive
    await assert_accepted(server, f"http://127.0.0.1:{server.port}")
    await assert_refused(server, "http://other_host:1234")
    await assert_refused(server, "http://evil.example")


JUNK: dict[str, list[str | bytes]] = {
    "binary frames": [os.urandom(64 * 1024), b"\x00", b'{"type":"reload"}'],
    "1 MB text frame": ["x" * (1 << 20)],
    "invalid JSON": ["{not json", '{"type": "hello", ', "null", "[]", '{"type":"reload","paths":["/etc/passwd"]}', ""],
    "10,000 junk messages": [f"junk {i}" for i in range(10_000)],
}


@pytest.mark.anyio
@pytest.mark.parametrize("junk", JUNK.keys())
async def test_junk_from_a_client_harms_nobody(serve: Any, junk: str) -> None:
    server: Server = serve("probe", reload=False)
    async with (
        listen(server, "ws") as other_ws,
        listen(server, "sse") as other_sse,
        connect(ws_url(server), open_timeout=CONNECT_TIMEOUT, max_size=None) as sender,
    ):
        check_message(await sender.recv(), server)
        started = time.monotonic()
        for frame in JUNK[junk]:
            await sender.send(frame)
        with anyio.fail_after(10):
            await (await sender.ping())  # the pong comes after the server has taken in every frame
        print(f"{junk}: sent and taken in {time.monotonic() - started:.2f}s")
        assert await get_status(server) == 200
        assert await subscriber_count(server) == 3
        server.edit("watched/page.html", "watched-v1", "watched-v2")
        for listener in (other_ws, other_sse):
            event = await listener.next()
            assert event["type"] == "reload" and event["paths"] == ["watched/page.html"], event
        # the sender itself is not punished either: it still gets events
        event = check_message(await sender.recv(), server)
        assert event["paths"] == ["watched/page.html"], event
    assert_clean_log(server)


def deep_files(root: Path, count: int = 50) -> list[Path]:
    """Files whose relative paths are ~10 KB of JSON each (non-ASCII names in deep folders): big events."""
    folder = root.joinpath(*(f"{level:02d}" + "é" * 120 for level in range(13)))  # 13 x 242 bytes, < PATH_MAX
    folder.mkdir(parents=True)
    return [folder / (f"{i:02d}" + "é" * 100) for i in range(count)]


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_a_client_that_never_reads_slows_nobody_and_memory_stays_bounded(serve: Any) -> None:
    server: Server = serve("probe", reload=False)  # no reloader: the process is the server itself
    pid = server.process.pid
    files = deep_files(server.root)
    batches = 120  # x ~500 KB per event: ~60 MB that the stuck client never takes
    async with listen(server, "ws", max_size=None) as reader_ws, listen(server, "sse") as reader_sse:
        with raw_connection(server, ws_handshake(server), receive_buffer=4096) as stuck:
            read_until(stuck, b"\r\n\r\n")  # switched protocols; from now on it reads nothing
            await eventually(lambda: subscribers_are(server, 3), what="three subscribers")
            version, latencies, sizes = reader_ws.hello["version"], [], []
            baseline = rss_mb(pid)
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
            for batch in range(batches):
                started = time.monotonic()
                for path in files:
                    path.write_text(f"batch {batch}")
                event, _ = await catch_up([reader_ws, reader_sse], after=version)
                latencies.append(time.monotonic() - started)
                sizes.append(len(event["paths"]) * len(event["paths"][0]))
                version = event["version"]
            grown = rss_mb(pid, "VmHWM") - baseline
            print(
                f"never-reading client: {batches} batches, {version} events of ~{max(sizes) * 6 // 1024} KB JSON, "
                f"reader latency median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms; server RSS {baseline:.1f} MB, peak growth {grown:.1f} MB"
            )
            assert grown < MEMORY_GROWTH_LIMIT_MB
            # the stuck client is dropped once a send to it has waited SEND_TIMEOUT; the readers stay
            await eventually(lambda: subscribers_are(server, 2), SEND_TIMEOUT + 15, what="the stuck client dropped")
            # and its socket is closed by the server, not left open with its unsent bytes for as long as it lives
            stuck_port = stuck.getsockname()[1]
            await eventually(lambda: not connected(server.port, stuck_port), SEND_TIMEOUT + 15, what="socket closed")
        server.edit("watched/page.html", "watched-v1", "watched-v2")
        for reader in (reader_ws, reader_sse):
            seen = version
            while (event := await reader.next_change(after=seen))["paths"] != ["watched/page.html"]:
                seen = event["version"]  # the rest of the last batch, when the watcher split it in two
    assert_clean_log(server)


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_an_sse_client_that_never_reads_is_dropped(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    files = deep_files(server.root)
    async with listen(server, "ws", max_size=None) as reader:
        with raw_connection(server, sse_request(server), receive_buffer=4096) as stuck:
            read_until(stuck, b'"hello"')  # from now on it reads nothing
            await eventually(lambda: subscribers_are(server, 2), what="two subscribers")
            version = reader.hello["version"]
            while await subscriber_count(server) == 2:  # until the stuck client's buffers are full for SEND_TIMEOUT
                started = time.monotonic()
                for path in files:
                    path.write_text(f"version {version}")
                version = (await reader.next_change(after=version))["version"]
                assert time.monotonic() - started < SEND_TIMEOUT, "the stuck client held up the reader"
                assert version < 1000, "the stuck client was never dropped"
            stuck_port = stuck.getsockname()[1]
            await eventually(lambda: not connected(server.port, stuck_port), SEND_TIMEOUT, what="the socket closed")
        server.edit("watched/page.html", "watched-v1", "watched-v2")
        while (event := await reader.next_change(after=version))["paths"] != ["watched/page.html"]:
            version = event["version"]  # the rest of the last batch
    # uvicorn logs the send that timed out ("Exception in ASGI application"), as it did under sse-starlette


async def catch_up(listeners: list[Listener], after: int) -> list[dict[str, Any]]:
    """The next change on every listener, all brought to the same (newest) version."""
    events = [await listener.next_change(after) for listener in listeners]
    newest = max(event["version"] for event in events)
    for i, listener in enumerate(listeners):
        while events[i]["version"] < newest:
            events[i] = await listener.next_change(events[i]["version"])
    return events


@pytest.mark.anyio
async def test_half_open_and_abruptly_dropped_sockets_harm_nobody(serve: Any) -> None:
    server: Server = serve("probe", reload=False)
    async with listen(server, "ws") as watcher:
        with ExitStack() as stack:
            idle = stack.enter_context(raw_connection(server))  # TCP only, not a byte sent
            half = ws_handshake(server)[:40]
            partial = stack.enter_context(raw_connection(server, half))  # a handshake that never ends
            dropped = []
            for request in (ws_handshake(server), ws_handshake(server), sse_request(server)):
                sock = stack.enter_context(raw_connection(server, request))
                read_until(sock, b'"hello"')
                dropped.append(sock)
            assert await subscriber_count(server) == 4
            reset(dropped[0])  # websocket: RST, no close frame
            dropped[1].shutdown(socket.SHUT_RDWR)  # websocket: FIN, no close frame
            dropped[1].close()
            reset(dropped[2])  # SSE stream: RST
            await eventually(lambda: subscribers_are(server, 1), what="the dropped clients to be let go")
            assert await get_status(server) == 200
            server.edit("watched/style.css", "0, 0, 255", "0, 128, 0")
            event = await watcher.next()
            assert event == {"type": "css", "boot": watcher.hello["boot"], "version": 1, "paths": ["watched/style.css"]}
            async with listen(server, "sse") as late:
                recent = [{"version": 1, "type": "css", "paths": ["watched/style.css"]}]
                assert late.hello == {"type": "hello", "boot": watcher.hello["boot"], "version": 1, "recent": recent}
            assert idle.fileno() >= 0 and partial.fileno() >= 0  # both were open the whole time
    assert_clean_log(server)
