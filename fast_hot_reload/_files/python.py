from __future__ import annotations

import logging
from pathlib import Path

import anyio.to_thread

from .._config import Config
from .._errors.describe import describe_exception
from .._errors.details import withheld_details
from .._events.broadcaster import Broadcaster
from .._server.detect import SAVE_GRACE, restart_expected_on_save

logger = logging.getLogger(__name__)

WITHHELD_NOTE = (
    "A Python file does not compile. Its file, line and source are shown only to browsers on the server's own "
    "machine; the server's terminal says which, and how to share them with this browser (trusted_clients)."
)


async def python_changed(config: Config, broadcaster: Broadcaster, paths: list[str]) -> None:
    """A Python file was saved: before the server's reloader restarts for it, check that it still compiles.

    If not, every tab is told at once (its overlay shows the error while the page stays as it is); a
    restart that works updates the tabs as before, and clears it. Then, where the reloader is one whose
    stop we cannot hear, our streams end now (the error notice first), so that it never waits for them.
    """
    error = await anyio.to_thread.run_sync(first_syntax_error, paths)
    if error is not None:
        details = describe_exception(error, config.roots)
        public = {"type": "error", "details": withheld_details(details["title"], WITHHELD_NOTE)}
        broadcaster.notify({"type": "error", "details": details}, shared=True, private=True, public=public)
    if restart_expected_on_save():
        logger.debug("a Python file was saved: ending hot reload streams before the reloader stops the server")
        broadcaster.end_streams(SAVE_GRACE, shared=True)


def first_syntax_error(paths: list[str]) -> SyntaxError | None:
    for path in paths:
        try:
            source = Path(path).read_bytes()
        except OSError:
            continue  # deleted or moved: the reloader deals with it
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
            return exc.with_traceback(None)  # the traceback is our compile() call, not the app's
        except ValueError:
            continue  # null bytes: not Python we can say anything about
    return None
