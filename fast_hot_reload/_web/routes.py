"""The hot reload endpoints: the client script, each page's baseline, the websocket and the event stream (and,
in talkback.py, what the tabs send back)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from sse_starlette import EventSourceResponse
from starlette.types import Lifespan

from .._config import Config, env_enabled
from .._server.compat import SSE_PING_OFF, quiet_while_stopping
from .client import render_client
from .hosts import origin_allowed, refusal
from .runtime import STATE_KEY, Runtime
from .streams import SEND_TIMEOUT, SERVICE_RESTART, serve_websocket, sse_stream
from .talkback import add_talkback_routes
from .trust import client_address

logger = logging.getLogger(__name__)

MAX_REFUSED = 64  # refused origin and host pairs remembered, so that a tab retrying is logged once
# the baseline is a page's HTML as text: never cached, never sniffed into something that runs
BASELINE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
SSE_HEADERS = {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
POLICY_VIOLATION = 1008
NOT_RUNNING = (
    "hot reload is not running: no lifespan started it. With app.include_router(hot_reload_router), add "
    "HotReloadMiddleware too (FastAPI before 0.112.2 runs an included router's lifespan only then), "
    "or use FastHotReload(app); and run the server with its lifespan on"
)


def create_router(config: Config, lifespan: Lifespan[Any]) -> APIRouter:
    """The hot reload endpoints for one configuration, with the lifespan that runs its watcher."""
    router = APIRouter(lifespan=lifespan, include_in_schema=False)
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
        await serve_websocket(websocket, runtime.broadcaster, trusted, withheld)

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
        stream = sse_stream(runtime.broadcaster, trusted, None if trusted else runtime.trust.withheld(request.scope))
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
    add_talkback_routes(router, config)  # what the tabs send back: console lines, alt+clicks, links to the editor
    return router


def _runtime(scope: Any) -> Runtime | None:
    runtime: Runtime | None = scope.get("state", {}).get(STATE_KEY)
    return runtime
