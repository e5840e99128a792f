"""Browser hot reload for FastAPI: edit a file, and every open tab shows the change."""

from __future__ import annotations

from ._config import Config
from ._middleware import HotReloadMiddleware
from ._plugin import FastHotReload
from ._router import create_router

__version__ = "0.1.0"

hot_reload_router = create_router(Config())
"""The hot reload endpoints with default options, for `app.include_router(hot_reload_router)`.

Add `HotReloadMiddleware` as well (or a `<script>` tag of your own) so that pages load the client.
"""

__all__ = ["FastHotReload", "HotReloadMiddleware", "__version__", "hot_reload_router"]
