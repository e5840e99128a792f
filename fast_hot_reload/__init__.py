"""Browser hot reload for FastAPI: edit a file, and every open tab shows the change."""

from __future__ import annotations

from ._middleware import HotReloadMiddleware
from ._plugin import FastHotReload
from ._router import hot_reload_router

__version__ = "0.1.0"

__all__ = ["FastHotReload", "HotReloadMiddleware", "__version__", "hot_reload_router"]
