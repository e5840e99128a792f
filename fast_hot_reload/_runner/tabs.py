"""What the runner tells the tabs, through the plugin running in the app it serves (if the app has one)."""

from __future__ import annotations

from typing import Any

from .._errors.describe import describe_exception
from .._errors.details import withheld_details
from .._web.runtime import STATE_KEY, Runtime

WITHHELD_NOTE = (
    "A Python file raised while it reran. Its file, line and source are shown only to browsers on the server's own "
    "machine; the server's terminal says which, and how to share them with this browser (trusted_clients)."
)


def _runtime(state: dict[str, Any]) -> Runtime | None:
    runtime = state.get(STATE_KEY)
    return runtime if isinstance(runtime, Runtime) else None


def show_error(state: dict[str, Any], exc: BaseException) -> None:
    """Show `exc` over the pages of the app whose lifespan state this is: they stay as they are until the fix."""
    runtime = _runtime(state)
    if runtime is None:
        return
    if isinstance(exc, SyntaxError):
        exc = exc.with_traceback(None)  # its traceback is hmr's compile() call, not the app's
    details = describe_exception(exc, runtime.config.roots)
    public = {"type": "error", "details": withheld_details(details["title"], WITHHELD_NOTE)}
    runtime.broadcaster.notify({"type": "error", "details": details}, private=True, public=public, standing=True)


def close_streams(state: dict[str, Any]) -> None:
    """End the tabs' streams of that app with a restart notice: they reconnect at once, to the app now current."""
    runtime = _runtime(state)
    if runtime is not None:
        runtime.broadcaster.close()
