"""The SSE stream as a generator of events, read with `anext()`: the endpoint, which never ends, is not driven here
(tests/asgi/test_endpoints.py reads only streams that end)."""

from __future__ import annotations

import json

import anyio
import pytest

from fast_hot_reload._events import broadcaster as _broadcast
from fast_hot_reload._events.broadcaster import Broadcaster
from fast_hot_reload._web.streams import sse_stream as _sse_stream


@pytest.mark.anyio
async def test_sse_stream_hello_then_event() -> None:
    broadcaster = Broadcaster()
    broadcaster.publish("reload", ("old.html",))
    stream = _sse_stream(broadcaster)
    boot = broadcaster.boot.encode()
    with anyio.fail_after(5):
        hello = await anext(stream)
        recent = b'[{"version": 1, "type": "reload", "paths": ["old.html"]}]'
        expected = b'id: 1\r\ndata: {"type": "hello", "boot": "%s", "version": 1, "recent": %s}\r\n\r\n'
        assert hello == expected % (boot, recent)
        assert broadcaster.subscribers == 1
        broadcaster.publish("css", ("a.css",))
        event = await anext(stream)
    assert event == b'id: 2\r\ndata: {"type": "css", "boot": "%s", "version": 2, "paths": ["a.css"]}\r\n\r\n' % boot
    await stream.aclose()
    assert broadcaster.subscribers == 0


@pytest.mark.anyio
async def test_sse_stream_merges_and_ends_on_close() -> None:
    broadcaster = Broadcaster()
    stream = _sse_stream(broadcaster)
    with anyio.fail_after(5):
        await anext(stream)
        broadcaster.publish("css", ("a.css",))
        broadcaster.publish("reload", ("b.html",))
        event = await anext(stream)
        assert event.startswith(b"id: 2\r\ndata: ") and json.loads(event.split(b"data: ")[1])["type"] == "reload"
        broadcaster.close()
        assert await anext(stream) == b'data: {"type": "restart", "boot": "%s"}\r\n\r\n' % broadcaster.boot.encode()
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
    assert broadcaster.subscribers == 0


@pytest.mark.anyio
async def test_ending_the_streams_sends_notices_first_then_turns_clients_away_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Python save under a reloader we cannot hear: the error (if any) goes out, then the restart notice."""
    now = [100.0]
    monkeypatch.setattr(_broadcast.time, "monotonic", lambda: now[0])
    broadcaster = Broadcaster()
    stream = _sse_stream(broadcaster)
    with anyio.fail_after(5):
        await anext(stream)
        broadcaster.notify({"type": "error", "details": {}})
        broadcaster.end_streams(3.0)
        assert json.loads((await anext(stream)).split(b"data: ")[1])["type"] == "error"
        assert json.loads((await anext(stream)).split(b"data: ")[1])["type"] == "restart"
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        assert broadcaster.refusing and not broadcaster.closed
        now[0] += 3.0
        assert not broadcaster.refusing  # no reloader stopped us after all: clients are served again
        again = _sse_stream(broadcaster)
        assert b'"hello"' in await anext(again)
        broadcaster.publish("css", ("a.css",))
        assert b'"css"' in await anext(again)
        await again.aclose()
    assert broadcaster.subscribers == 0


@pytest.mark.anyio
async def test_sse_stream_pings_on_a_tick() -> None:
    broadcaster = Broadcaster()
    stream = _sse_stream(broadcaster)
    chunks: list[bytes] = []

    async def read() -> None:
        chunks.append(await anext(stream))

    with anyio.fail_after(5):
        await anext(stream)
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.wait_all_tasks_blocked()
            broadcaster.tick()
    assert chunks == [b": ping\r\n\r\n"]  # a comment: EventSource skips it, proxies see a live stream
    await stream.aclose()
    assert broadcaster.subscribers == 0


@pytest.mark.anyio
async def test_a_standing_notice_reaches_clients_that_connect_later_until_the_next_version() -> None:
    """The runner's rerun error: the old app serves on, so a tab opened now must learn why its edit did not land."""
    broadcaster = Broadcaster()
    broadcaster.notify({"type": "log", "text": "passing"})  # a plain notice: for those connected now only
    broadcaster.notify({"type": "error", "details": {"title": "half built"}}, standing=True)
    with anyio.fail_after(5):
        late = _sse_stream(broadcaster)
        assert b'"hello"' in await anext(late)
        first = json.loads((await anext(late)).split(b"data: ")[1])
        assert first["type"] == "error" and first["details"]["title"] == "half built"
        await late.aclose()
        broadcaster.publish("reload", ("main.py",))  # the fix
        after = _sse_stream(broadcaster)
        assert b'"hello"' in await anext(after)
        broadcaster.publish("css", ("a.css",))
        assert b'"css"' in await anext(after)  # no error before it: nothing stands any more
        await after.aclose()
