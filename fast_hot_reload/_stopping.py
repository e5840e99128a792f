from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

logger = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# without a server we know, a stop signal turns new streams away this long: a server still serving after it
# (one that ignores the signal, say) takes clients again
SIGNAL_GRACE = 10.0
# after a Python save, under a reloader we cannot see: longer than hypercorn's 1 s poll plus its worker's stop
SAVE_GRACE = 3.0
OWN_RELOADERS = ("hypercorn", "granian")  # servers whose command line says whether their reloader runs


def uvicorn_server() -> Any:
    """The running uvicorn Server, found through the SIGTERM handler it installs (a bound method), or None."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return server if hasattr(server, "should_exit") else None


def server_exiting() -> bool:
    """True once uvicorn (the server whose bound method handles SIGTERM) has been told to exit."""
    return getattr(uvicorn_server(), "should_exit", False) is True


def restart_expected_on_save() -> bool:
    """Whether a Python save is likely to make a reloader stop this process, so that our streams must end first.

    uvicorn tells us itself (its signal is chained: no guess needed). hypercorn and granian run their
    reloader only with `--reload`; for any other server we cannot tell, and end the streams for a moment.
    """
    if uvicorn_server() is not None:
        return False  # uvicorn's own stop signal ends them, a few ms later, and only when it really stops
    return own_reloader_on() if program() in OWN_RELOADERS else True


def program() -> str:
    """The server's command (`granian`, `hypercorn`, ...): workers get the command line of their parent."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    return os.path.basename(os.path.dirname(sys.argv[0])) if name == "__main__.py" else name  # python -m granian


def own_reloader_on() -> bool:
    """`--reload` on the command line (or granian's variable for it), and no `--no-reload` after it."""
    argv = [arg for arg in sys.argv if arg in ("--reload", "--no-reload")]
    if argv:
        return argv[-1] == "--reload"
    return program() == "granian" and os.environ.get("GRANIAN_RELOAD", "").lower() in ("1", "true", "yes", "on")


@contextmanager
def on_exit_signal(close: Callable[[], None], end_streams: Callable[[float], None]) -> Iterator[None]:
    """Hear SIGINT and SIGTERM on this event loop, after (never instead of) the server's own handler.

    uvicorn's handlers (bound methods of its Server) are chained and the chain is still a method of the
    Server, so whoever finds the server through the handler (the poll, sse-starlette) still does; uvicorn
    then stops for sure, so `close()`. Any other handler (hypercorn's, granian's, asyncio's, even an ignored
    SIGINT: a terminal's Ctrl+C reaches every worker of the process group) is chained too, and
    `end_streams(SIGNAL_GRACE)` runs: no server waits for our streams to close.
    """
    chained: dict[signal.Signals, tuple[Any, Any]] = {}  # signal: (ours, theirs)
    if threading.current_thread() is threading.main_thread():  # only there can handlers be set
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            handler = signal.getsignal(signum)
            server = getattr(handler, "__self__", None)
            if callable(handler) and hasattr(server, "should_exit"):
                ours: Any = types.MethodType(_then(handler, loop, close), server)
            elif callable(handler) or handler == signal.SIG_IGN:
                ours = _then(handler if callable(handler) else None, loop, lambda: end_streams(SIGNAL_GRACE))
            else:
                continue  # the default action ends the process, connections and all; None: set outside Python
            chained[signum] = (ours, handler)
            signal.signal(signum, ours)
    try:
        yield
    finally:
        for signum, (ours, theirs) in chained.items():
            if signal.getsignal(signum) == ours:
                signal.signal(signum, theirs)


def _then(handler: Any, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[..., None]:
    def handle_exit(*args: Any) -> None:
        sig, frame = args[-2:]  # a bound method gets the server first
        try:
            if handler is not None:
                handler(sig, frame)  # theirs first: uvicorn's sets should_exit; Python's raises KeyboardInterrupt
        finally:
            with suppress(RuntimeError):  # a closed loop has no streams left to end
                loop.call_soon_threadsafe(callback)

    return handle_exit
