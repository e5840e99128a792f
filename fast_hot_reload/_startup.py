from __future__ import annotations

import fnmatch
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar

from ._config import Config

logger = logging.getLogger("fast_hot_reload")

SERVER_LOGGERS = ("uvicorn", "hypercorn.error", "_granian")  # whose handlers print a server's own INFO lines
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error", "hypercorn.access")  # where a server logs each request
# files we update the tabs for: a server reloader that restarts for them only makes each update slower
OURS = ("x.html", "x.jinja", "x.jinja2", "x.j2", "x.css", "x.js", "x.svg", "x.png")
FILTER_MARK = "_fast_hot_reload_filter"
# set while one of our endpoints runs: what a server logs from inside it (a websocket's "connection open") is ours
SERVING_OURS: ContextVar[bool] = ContextVar("fast_hot_reload_serving", default=False)


def announce(config: Config, folders: int) -> None:
    """One INFO line at startup, shown under the server's default logging: what is watched, and how."""
    adopt_server_logging()
    transport = "server-sent events" if config.use_alternate_config else "websocket"
    roots = ", ".join(str(root) for root in config.roots)
    logger.info(
        "fast-hot-reload: watching %s (%d folder%s), %s transport, endpoints under %s",
        roots,
        folders,
        "" if folders == 1 else "s",
        transport,
        config.url_prefix,
    )
    quiet_access_log(config.url_prefix)
    warn_about_reloader()


def adopt_server_logging() -> None:
    """Print our INFO lines like the server's own, where nobody configured logging for us.

    uvicorn's default config gives its own loggers handlers and leaves the root bare, so lines of ours
    would otherwise be dropped below WARNING.
    """
    if logger.handlers or logging.getLogger().handlers:
        return
    for name in SERVER_LOGGERS:
        handlers = logging.getLogger(name).handlers
        if handlers:
            logger.handlers = list(handlers)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            return


class _NotOurs(logging.Filter):
    """Drops a server's access lines for our own endpoints: a tab's script and stream are not the app's traffic."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def filter(self, record: logging.LogRecord) -> bool:
        if SERVING_OURS.get():
            return False
        # websockets' legacy server (uvicorn's `--ws websockets`) logs from its own task, naming the connection
        scope = getattr(getattr(record, "websocket", None), "scope", None)
        if isinstance(scope, dict) and self.marker in scope.get("path", ""):
            return False
        args = record.args.values() if isinstance(record.args, Mapping) else record.args or ()  # hypercorn: a mapping
        return not any(isinstance(arg, str) and self.marker in arg for arg in args)


def quiet_access_log(prefix: str) -> None:
    for name in ACCESS_LOGGERS:
        target = logging.getLogger(name)
        if not any(getattr(f, FILTER_MARK, None) == prefix for f in target.filters):
            quiet = _NotOurs(prefix + "/")
            setattr(quiet, FILTER_MARK, prefix)
            target.addFilter(quiet)


def warn_about_reloader() -> None:
    """Say once, with the fix, when the server's own reloader restarts for the files we update in place."""
    patterns = [p for p in reload_includes() if any(fnmatch.fnmatch(name, p) for name in OURS)]
    if patterns:
        shown = " ".join(f"--reload-include '{p}'" for p in patterns)
        logger.warning(
            "uvicorn restarts the server when a template or static file is saved (%s): each save then waits for "
            "a restart. fast-hot-reload updates the tabs without one: drop %s and keep --reload for Python files",
            shown,
            "it" if len(patterns) == 1 else "them",
        )


def reload_includes() -> Sequence[str]:
    """The extra file patterns uvicorn's reloader watches: from the running server's config, else its command line."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    config = getattr(server, "config", None)
    if config is not None and getattr(config, "reload", False):
        return list(getattr(config, "reload_includes", None) or ())
    argv = sys.argv
    found = []
    for i, arg in enumerate(argv):
        if arg == "--reload-include" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--reload-include="):
            found.append(arg.split("=", 1)[1])
    return found if "--reload" in argv else []
