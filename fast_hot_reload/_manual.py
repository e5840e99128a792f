from __future__ import annotations

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from ._compat import release
from ._lifespan import merge_lifespans
from ._router import hot_reload_router

RUNS_INCLUDED_LIFESPANS = release("fastapi") >= (0, 112, 2)  # include_router() takes the lifespan along from then


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
