"""The fallback: a new process for each change, where a swap in place cannot be done."""

from __future__ import annotations

import logging
import os
import sys

from .options import DEFAULT_EXCLUDES, DEFAULT_INCLUDES, Options

logger = logging.getLogger("fast_hot_reload.runner")


def restart_process() -> None:
    """Run this command again in this process, from scratch (the server has stopped: its port is free)."""
    for handler in logging.getLogger().handlers + logging.getLogger("uvicorn").handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def serve_restarting(options: Options) -> None:
    """Serve as `uvicorn main:app --reload` does (its reloader, its worker process), with the runner's options."""
    import uvicorn

    uvicorn.run(
        options.target,
        host=options.host,
        port=options.port,
        reload=True,
        reload_dirs=[str(d) for d in options.folders],
        reload_includes=[p for p in options.includes if p not in DEFAULT_INCLUDES] or None,
        reload_excludes=[p for p in options.excludes if p not in DEFAULT_EXCLUDES] or None,
        app_dir=str(options.app_dir),
        log_level=options.log_level,
        factory=options.factory,
    )
