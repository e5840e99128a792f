"""Browser hot reload for FastAPI: edit a file, and every open tab shows the change."""

from __future__ import annotations

from ._manual import HotReloadMiddleware, hot_reload_router
from ._plugin import FastHotReload

__version__ = "0.1.0"

__all__ = ["FastHotReload", "HotReloadMiddleware", "__version__", "hot_reload_router"]
