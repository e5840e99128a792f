from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from ._config import (
    DEFAULT_RECONNECT_INTERVAL,
    DEFAULT_URL_PREFIX,
    Config,
    OnReload,
    as_paths,
    as_patterns,
    env_enabled,
    env_trusted_clients,
)
from ._lifespan import lifespan_for, merge_lifespans
from ._web.endpoints import Endpoints
from ._web.hosts import HostCheck
from ._web.inner import InnerMiddleware
from ._web.outer import OuterMiddleware
from ._web.routes import create_router

logger = logging.getLogger(__name__)


class FastHotReload:
    """Browser hot reload for a FastAPI (or Starlette) app.

    Adds the endpoints, the page script and a file watcher to `app`. Edit a template or any
    other watched file and every open tab reloads; edit a stylesheet and it is swapped in
    place; edit Python and the tabs reload as soon as `uvicorn --reload` has restarted.

    Args:
        app: the FastAPI or Starlette app, before it starts serving.
        on_reload: called (sync or async) with the changed paths before the browsers reload.
            Errors are logged; a callback running over 5 s is not waited for.
        use_alternate_config: use server-sent events instead of websockets.
        ws_host_override: websocket host, for proxies and remote development.
        ws_port_override: websocket port, likewise.
        ws_message_prefix: start of every line the client writes to the browser console.
        ws_connected_message: written when the client connects.
        ws_reconnect_message: written when the server is gone; `${reconnectInterval}` becomes the delay.
        _ws_reconnect_interval: the longest wait, in seconds, between reconnection attempts.
        watch_paths: folders or files to watch; the working directory by default.
        ignore_patterns: glob patterns of file or folder names (or paths) to ignore, added to the defaults.
        url_prefix: where the endpoints live.
        allowed_hosts: host names the app is browsed under besides IPs, `localhost` and `*.localhost`
            (`.example.test` for a domain and its subdomains, `*` for any): others get no hot reload
            and no error details, which closes DNS rebinding.
        full_reload: True makes every change a plain full reload (no morph); a page can ask for that
            itself with `<html data-fhr-full-reload>`.
        browser_logs: False keeps the app's warnings and errors out of the tabs' consoles.
        forward_console: False keeps the tabs' console errors and warnings, uncaught errors and unhandled
            rejections out of the server's log (loopback and trusted clients only, rate-limited per tab).
        trusted_clients: client addresses or networks (`"172.17.0.1"`, `"192.168.1.0/24"`, `"*"` for any)
            that get error details and the app's log lines besides loopback, as the server sees the client
            (a Docker host, a phone on the LAN); FAST_HOT_RELOAD_TRUSTED_CLIENTS adds to them.
        enabled: False (or FAST_HOT_RELOAD=0 in the environment) adds nothing at all.

    Example:
        ```python
        app = FastAPI()
        FastHotReload(app)
        ```
    """

    def __init__(
        self,
        app: Starlette,
        *,
        on_reload: OnReload | None = None,
        use_alternate_config: bool = False,
        ws_host_override: str | None = None,
        ws_port_override: int | None = None,
        ws_message_prefix: str = "[Hot Reload]",
        ws_connected_message: str = "Connected!",
        ws_reconnect_message: str = "Reconnecting in ${reconnectInterval} seconds...",
        _ws_reconnect_interval: float = DEFAULT_RECONNECT_INTERVAL,
        watch_paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        ignore_patterns: str | Sequence[str] = (),
        url_prefix: str = DEFAULT_URL_PREFIX,
        allowed_hosts: str | Sequence[str] = (),
        full_reload: bool = False,
        browser_logs: bool = True,
        forward_console: bool = True,
        trusted_clients: str | Sequence[str] = (),
        enabled: bool = True,
    ) -> None:
        if not isinstance(app, Starlette):
            raise TypeError(f"app must be a FastAPI or Starlette application, got {type(app).__name__}")
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be bool, got {type(enabled).__name__} {enabled!r}")
        self.config = Config(
            on_reload=on_reload,
            use_alternate_config=use_alternate_config,
            ws_host_override=ws_host_override,
            ws_port_override=ws_port_override,
            ws_message_prefix=ws_message_prefix,
            ws_connected_message=ws_connected_message,
            ws_reconnect_message=ws_reconnect_message,
            reconnect_interval=_ws_reconnect_interval,
            watch_paths=as_paths(watch_paths),
            ignore_patterns=as_patterns(ignore_patterns),
            url_prefix=url_prefix,
            allowed_hosts=as_patterns(allowed_hosts, "allowed_hosts"),
            full_reload=full_reload,
            browser_logs=browser_logs,
            forward_console=forward_console,
            trusted_clients=as_patterns(trusted_clients, "trusted_clients"),
        )
        env_trusted_clients()  # a bad variable is an error here, at construction, not at the first request
        self.enabled = env_enabled() and enabled  # the variable is checked even when the code says off
        if not self.enabled:
            logger.info("fast-hot-reload is switched off: nothing added to the app")
            return
        _check_app(app, self.config.url_prefix)
        app.state.fast_hot_reload = self
        router = create_router(self.config, lifespan_for(self.config))
        endpoints = Endpoints(self.config.url_prefix, router.routes)
        app.router.routes.append(endpoints)  # answered by the outer layer; listed here for url_path_for and tools
        app.router.lifespan_context = merge_lifespans(app.router.lifespan_context, router.lifespan_context)
        # innermost of the user's middleware, so that GZip and friends wrap a page that has the tag
        app.user_middleware.append(Middleware(InnerMiddleware))
        # and outermost: our endpoints before the user's middleware, and error pages outside ServerErrorMiddleware
        build = app.build_middleware_stack
        hosts = HostCheck(self.config.allowed_hosts, self.config.ws_host_override)

        def build_stack() -> ASGIApp:
            routes = app.router.routes
            if endpoints in routes:  # last, now that the app's routes exist: its pages never try ours first
                routes.remove(endpoints)
                routes.append(endpoints)
            return OuterMiddleware(build(), endpoints, hosts)

        setattr(app, "build_middleware_stack", build_stack)  # noqa: B010


def _check_app(app: Starlette, prefix: str) -> None:
    if app.middleware_stack is not None:
        raise RuntimeError("the app has already started: create FastHotReload(app) before it serves requests")
    if getattr(app.state, "fast_hot_reload", None) is not None:
        raise ValueError("this app already has a FastHotReload: create it once per app")
    if _serves(app.router.routes, prefix + "/ws"):
        raise ValueError(
            f"the app already serves {prefix}/ws (hot_reload_router included by hand?): use either "
            "FastHotReload(app) or the router, not both, or give FastHotReload another url_prefix"
        )


def _serves(routes: Sequence[Any], path: str) -> bool:
    for route in routes:
        if getattr(route, "path", None) == path:
            return True
        included = getattr(route, "original_router", None)  # newer FastAPI keeps an included router whole
        if included is not None and _serves(included.routes, path):
            return True
    return False
