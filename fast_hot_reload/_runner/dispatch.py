"""The one ASGI app uvicorn serves under the runner: it forwards each connection to the app that is current now."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field

import anyio
from starlette.types import Receive, Scope, Send

from .lifespans import AppLifespan

logger = logging.getLogger("fast_hot_reload.runner")

RETIRE_GRACE = 5.0  # seconds an old app's requests and websockets may go on after a swap before they are closed
SERVICE_RESTART = 1012  # the websocket close code uvicorn uses when it stops: clients reconnect


@dataclass(eq=False)
class Generation:
    """One app object being served: its lifespan, and the connections it still serves."""

    lifespan: AppLifespan
    requests: int = 0
    sockets: dict[int, Send] = field(default_factory=dict)  # open websockets: how to close each one
    idle: anyio.Event = field(default_factory=anyio.Event)

    def enter(self) -> None:
        self.requests += 1

    def leave(self) -> None:
        self.requests -= 1
        if self.requests == 0:
            self.idle.set()
            self.idle = anyio.Event()


class Dispatcher:
    """Routes every connection to the current generation; the runner swaps it, then retires the old one."""

    def __init__(self) -> None:
        self.current: Generation | None = None
        self.failure = "the app failed to import: the runner's terminal says why; fix it and save"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        generation = self.current
        if scope["type"] not in ("http", "websocket"):
            return  # lifespan="off": the runner drives each app's lifespan itself
        if generation is None:
            await _unavailable(scope, send, self.failure)
            return
        scope = {**scope, "state": generation.lifespan.state.copy()}  # as uvicorn gives each request its own copy
        generation.enter()
        key = id(scope)
        if scope["type"] == "websocket":
            generation.sockets[key] = send
        try:
            await generation.lifespan.app(scope, receive, send)
        finally:
            generation.sockets.pop(key, None)
            generation.leave()

    async def retire(self, old: Generation, grace: float = RETIRE_GRACE) -> None:
        """Let `old`'s connections finish (websockets still open after `grace` are closed), then shut it down."""
        with anyio.move_on_after(grace):
            while old.requests:
                await old.idle.wait()
        for send in list(old.sockets.values()):
            # a websocket of the old app that stays open: the client is told to reconnect, to the new app
            with suppress(RuntimeError, OSError):  # closed by now, by the app or the client
                await send({"type": "websocket.close", "code": SERVICE_RESTART, "reason": ""})
        with anyio.move_on_after(1.0):
            while old.requests:
                await old.idle.wait()
        if old.requests:
            logger.warning("%d request(s) of the previous app still run; shutting its lifespan down", old.requests)
        await old.lifespan.shutdown()


async def _unavailable(scope: Scope, send: Send, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": SERVICE_RESTART, "reason": ""})
        return
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
