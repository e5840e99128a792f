"""The floor for figure 6: the cheapest websocket and SSE endpoints that speak the same hello, no plugin at all.

Whatever memory a connection costs here is uvicorn's (and the client's choice of permessage-deflate), not ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import WebSocket
from fastapi.responses import StreamingResponse
from page import create_app

MESSAGE = "python-v1"
HELLO = '{"type": "hello", "boot": "bare", "version": 0}'

app = create_app(MESSAGE)


@app.websocket("/__hot_reload/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(HELLO)
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


@app.get("/__hot_reload/events")
async def events() -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        yield f"data: {HELLO}\r\n\r\n"
        await anyio.sleep_forever()

    return StreamingResponse(stream(), media_type="text/event-stream")
