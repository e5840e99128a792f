"""Our log lines as the server prints its own: the startup line, and our endpoints' access lines left out."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._config import Config
from .._events.group import private_folder
from .._web.request import CURRENT
from .reloaders import reloader_warning, runner_hint

logger = logging.getLogger("fast_hot_reload")

SERVER_LOGGERS = ("uvicorn", "hypercorn.error", "_granian")  # whose handlers print a server's own INFO lines
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error", "hypercorn.access")  # where a server logs each request
FILTER_MARK = "_fast_hot_reload_filter"
STARTUP_LINE = "fast-hot-reload: watching %s (%d folder%s), %s transport, endpoints under %s"


def announce(config: Config, folders: Sequence[str]) -> None:
    """One INFO line at startup, shown under the server's default logging: what is watched, and how."""
    adopt_server_logging()
    transport = "server-sent events" if config.use_alternate_config else "websocket"
    roots = ", ".join(str(root) for root in config.roots)
    logger.info(
        STARTUP_LINE,
        roots,
        len(folders),
        "" if len(folders) == 1 else "s",
        transport,
        config.url_prefix,
    )
    quiet_access_log(config.url_prefix)
    warn_about_reloader(folders)
    hint = runner_hint()
    if hint is not None and first_start():
        logger.info("fast-hot-reload: %s", hint)


def first_start() -> bool:
    """Whether this is the reloader's first worker: its restarts (same parent process) say the hint no more."""
    try:
        base = private_folder(Path(tempfile.gettempdir()) / f"fast-hot-reload-{os.getuid()}")
        marker = base / f"hinted-{os.getppid()}"
        if marker.exists():
            return False
        marker.touch()
    except OSError:
        return True  # a shared temp folder we cannot trust: say it at every start rather than never
    return True


def quiet_startup(config: Config) -> None:
    """A worker that does not watch (another worker of its server does): our logging set up, no startup line."""
    adopt_server_logging()
    quiet_access_log(config.url_prefix)


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
        request = CURRENT.get()  # while one of our endpoints runs: what a server logs from inside it is ours
        if request is not None and request.ours:
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


def warn_about_reloader(folders: Sequence[str] = ()) -> None:
    """Say once, with the fix, when the server's own reloader restarts for the files we update in place."""
    warning = reloader_warning(folders)
    if warning is not None:
        logger.warning(warning)
