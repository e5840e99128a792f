from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response, WebSocket
from sse_starlette import EventSourceResponse
from starlette.websockets import WebSocketDisconnect

from ._broadcast import Broadcaster, Notice, sse_frame
from ._client import render_client
from ._compat import SSE_PING_OFF, drop_stuck, quiet_while_stopping
from ._config import Config, env_enabled
from ._hosts import client_address, origin_allowed, refusal
from ._lifespan import lifespan_for
from ._state import STATE_KEY, Runtime

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 10.0  # a client that stops reading is dropped after this, never slowing the others
MAX_REFUSED = 64  # refused origin and host pairs remembered, so that a tab retrying is logged once
WS_PING = '{"type":"ping"}'
SSE_PING = b": ping\r\n\r\n"  # a comment: EventSource ignores it, proxies see traffic
# the baseline is a page's HTML as text: never cached, never sniffed into something that runs
BASELINE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
SSE_HEADERS = {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
POLICY_VIOLATION = 1008
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013
NOT_RUNNING = (
    "hot reload is not running: no lifespan started it. With app.include_router(hot_reload_router), add "
    "HotReloadMiddleware too (FastAPI before 0.112.2 runs an included router's lifespan only then), "
    "or use FastHotReload(app); and run the server with its lifespan on"
)


def create_router(config: Config) -> APIRouter:
    """The hot reload endpoints for one configuration, with a lifespan that runs its watcher."""
    router = APIRouter(lifespan=lifespan_for(config), include_in_schema=False)
    prefix = config.url_prefix

    async def client_script(request: Request) -> Response:
        if _runtime(request.scope) is None:
            if env_enabled():  # on, yet no lifespan started it: a page asking for the script would get nothing
                logger.warning(NOT_RUNNING)
            return Response(status_code=404)
        script, digest = render_client(config)
        immutable = request.query_params.get("h") == digest  # the injected URL names this exact script
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return Response(script, media_type="application/javascript", headers={"Cache-Control": cache})

    refused: set[tuple[str | None, str | None]] = set()  # (origin, host) pairs already logged: each is said once

    async def websocket_events(websocket: WebSocket) -> None:
        runtime = _runtime(websocket.scope)
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host")
        secure = websocket.scope.get("scheme") == "wss"
        if runtime is None or not origin_allowed(origin, host, config.ws_host_override, secure):
            if (origin, host) not in refused and len(refused) < MAX_REFUSED:
                refused.add((origin, host))
                logger.warning(refusal(origin, host))
            await websocket.close(POLICY_VIOLATION)
            return
        with quiet_while_stopping():
            await websocket.accept()
            if runtime.broadcaster.refusing:
                # this server is stopping: no hello, so the client backs off until the next one answers
                await websocket.close(SERVICE_RESTART)
                return
        trusted = runtime.trust.trusted(websocket.scope)
        withheld = None if trusted else runtime.trust.withheld(websocket.scope)
        await _serve_websocket(websocket, runtime.broadcaster, trusted, withheld)

    async def sse_events(request: Request) -> Response:
        runtime = _runtime(request.scope)
        if runtime is None:
            return Response(status_code=404)
        origin = request.headers.get("origin")
        # browsers send Origin on a cross-origin EventSource only; CORS keeps its reply from that page, and this
        # keeps the stream from starting at all
        if origin is not None and not origin_allowed(origin, request.headers.get("host"), config.ws_host_override):
            return Response(status_code=403)
        if runtime.broadcaster.refusing:
            return Response(status_code=503)  # stopping: the client backs off until the next server answers
        if request.method == "HEAD":
            return Response(headers=SSE_HEADERS, media_type="text/event-stream")  # sse-starlette before 3.7 hangs on it
        trusted = runtime.trust.trusted(request.scope)
        stream = _sse_stream(runtime.broadcaster, trusted, None if trusted else runtime.trust.withheld(request.scope))
        # our headers, not the release's defaults (no-cache before sse-starlette 2.1.3): HEAD and GET agree
        return EventSourceResponse(stream, headers=SSE_HEADERS, ping=SSE_PING_OFF, send_timeout=SEND_TIMEOUT)

    async def page_baseline(request: Request) -> Response:
        # the page as this server sent it to a tab: the base of that tab's first three-way morph; once, and only to
        # the client that got the page (its id is a secret of that page's)
        runtime = _runtime(request.scope)
        page = runtime.pages.take(request.path_params["page"], client_address(request.scope)) if runtime else None
        if page is None:
            return Response(status_code=404, headers=BASELINE_HEADERS)
        html, charset = page
        media_type = f"text/plain; charset={charset}" if charset else "text/plain"
        return Response(html, headers={**BASELINE_HEADERS, "Content-Type": media_type})

    # plain Starlette routes: they work the same in a FastAPI app and in a bare Starlette one
    router.add_route(prefix + "/client.js", client_script, methods=["GET", "HEAD"], include_in_schema=False)
    router.add_route(prefix + "/page/{page}", page_baseline, include_in_schema=False)
    router.add_websocket_route(prefix + "/ws", websocket_events)
    router.add_route(prefix + "/events", sse_events, include_in_schema=False)
    return router


async def _serve_websocket(websocket: WebSocket, broadcaster: Broadcaster, trusted: bool, withheld: str | None) -> None:
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
                            await websocket.send_text(broadcaster.restart_notice())
                        break
                    text = item.text if isinstance(item, Notice) else broadcaster.message(item) if item else WS_PING
                    with anyio.fail_after(SEND_TIMEOUT):
                        await websocket.send_text(text)
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


async def _sse_stream(
    broadcaster: Broadcaster, trusted: bool = True, withheld: str | None = None
) -> AsyncGenerator[bytes, None]:
    async with broadcaster.subscribe(trusted) as subscription:
        yield sse_frame(broadcaster.version, broadcaster.hello(withheld))
        while True:
            item = await subscription.next()
            if isinstance(item, Notice):
                yield item.sse()  # notices first: an error found just before a stop still reaches the tab
            elif subscription.ended:
                yield f"data: {broadcaster.restart_notice()}\r\n\r\n".encode()
                return
            elif item is not None:
                yield broadcaster.sse(item)
            else:
                yield SSE_PING  # a keepalive tick


hot_reload_router = create_router(Config())
"""The hot reload endpoints with default options, for `app.include_router(hot_reload_router)`.

Add `HotReloadMiddleware` as well (or a `<script>` tag of your own) so that pages load the client.
"""


def _runtime(scope: Any) -> Runtime | None:
    runtime: Runtime | None = scope.get("state", {}).get(STATE_KEY)
    return runtime
