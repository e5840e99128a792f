"""One client's stream of messages, over a websocket or as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import suppress

import anyio
from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from .. import _protocol as protocol
from .._events.broadcaster import Broadcaster, Notice
from .._server.compat import drop_stuck

SEND_TIMEOUT = 10.0  # a client that stops reading is dropped after this, never slowing the others
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013


async def serve_websocket(websocket: WebSocket, broadcaster: Broadcaster, trusted: bool, withheld: str | None) -> None:
    """Send the hello, then every message the client is to get, until it leaves, stops reading or the server stops.

    `trusted`: private notices go out as they are; `withheld`: what an untrusted client's hello tells it.
    """
    ended = stuck = False
    async with broadcaster.subscribe(trusted) as subscription, anyio.create_task_group() as tg:
        tg.start_soon(_drain, websocket, tg.cancel_scope)
        # a client that left or stopped reading ends here; raised further, it would be an ExceptionGroup
        with suppress(WebSocketDisconnect, OSError, RuntimeError):
            try:
                await websocket.send_text(broadcaster.hello(withheld))
                while True:
                    item = await subscription.next()  # None: a keepalive tick
                    if not isinstance(item, Notice) and subscription.ended:  # notices first: an error before a stop
                        ended = True
                        with anyio.fail_after(SEND_TIMEOUT):
                            await websocket.send_text(protocol.restart_text(broadcaster.boot))
                        break
                    text = item.text if isinstance(item, Notice) else broadcaster.message(item) if item else None
                    with anyio.fail_after(SEND_TIMEOUT):
                        await websocket.send_text(protocol.WS_PING if text is None else text)
            except TimeoutError:
                stuck = True
        tg.cancel_scope.cancel()
    if ended or stuck:
        # stopping: the client reconnects to the next server; stuck: an explicit close, which the server enforces
        # (returning alone would leave the socket open while its unsent bytes wait for a reader that never comes)
        with suppress(WebSocketDisconnect, OSError, RuntimeError), anyio.move_on_after(SEND_TIMEOUT):
            await websocket.close(SERVICE_RESTART if ended else TRY_AGAIN_LATER)
        if stuck:
            drop_stuck(websocket._send)  # its close cannot get out either: without this the socket stays open


async def _drain(websocket: WebSocket, stream: anyio.CancelScope) -> None:
    # clients have nothing to say: read and drop frames, and end the stream when they leave
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
    stream.cancel()


async def sse_stream(
    broadcaster: Broadcaster, trusted: bool = True, withheld: str | None = None
) -> AsyncGenerator[bytes, None]:
    """The same messages as server-sent events, for sse-starlette to send (it ends the stream on shutdown)."""
    async with broadcaster.subscribe(trusted) as subscription:
        yield protocol.sse(broadcaster.hello(withheld), broadcaster.version)
        while True:
            item = await subscription.next()
            if isinstance(item, Notice):
                yield protocol.sse(item.text)  # notices first: an error found just before a stop still reaches the tab
            elif subscription.ended:
                yield protocol.sse(protocol.restart_text(broadcaster.boot))
                return
            elif item is not None:
                yield broadcaster.sse(item)
            else:
                yield protocol.SSE_PING  # a keepalive tick
