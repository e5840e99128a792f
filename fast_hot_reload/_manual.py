"""Manual wiring: `app.include_router(hot_reload_router)` and `app.add_middleware(HotReloadMiddleware)`."""

from __future__ import annotations

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from ._config import Config
from ._lifespan import lifespan_for, merge_lifespans
from ._server.compat import release
from ._web.inner import InnerMiddleware
from ._web.routes import create_router

RUNS_INCLUDED_LIFESPANS = release("fastapi") >= (0, 112, 2)  # include_router() takes the lifespan along from then

_DEFAULTS = Config()
hot_reload_router = create_router(_DEFAULTS, lifespan_for(_DEFAULTS))
"""The hot reload endpoints with default options, for `app.include_router(hot_reload_router)`.

Add `HotReloadMiddleware` as well (or a `<script>` tag of your own) so that pages load the client.
"""


class HotReloadMiddleware(InnerMiddleware):
    """Pure ASGI middleware that adds the hot reload `<script>` tag to HTML responses.

    `FastHotReload(app)` adds it for you. For manual wiring, include `hot_reload_router` and add
    this middleware: it finds the running hot reload in the app state, and passes everything
    through untouched when there is none (switched off, or the router was not included). On
    FastAPI before 0.112.2, which leaves an included router's lifespan out, it runs the router's.

    Example:
        ```python
        app.include_router(hot_reload_router)
        app.add_middleware(HotReloadMiddleware)
        ```
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(self.app, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def serve_lifespan(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Pass the lifespan on, running hot_reload_router's too where the app includes it and FastAPI would not.

    Before 0.112.2 FastAPI's include_router() takes a router's routes but not its lifespan: manual wiring
    would serve endpoints that answer 404 and pages with no tag, and say nothing.
    """
    router = getattr(scope.get("app"), "router", None)
    if RUNS_INCLUDED_LIFESPANS or not isinstance(router, Router) or not _includes_ours(router):
        await app(scope, receive, send)
        return
    own = router.lifespan_context
    router.lifespan_context = merge_lifespans(own, hot_reload_router.lifespan_context)
    try:
        await app(scope, receive, send)
    finally:
        router.lifespan_context = own  # left as found: a second run (another TestClient) adds it again


def _includes_ours(router: Router) -> bool:
    ours = {getattr(route, "endpoint", None) for route in hot_reload_router.routes} - {None}
    return any(getattr(route, "endpoint", None) in ours for route in router.routes)
