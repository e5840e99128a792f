"""The server's stop signals, heard after (never instead of) its own handlers."""

from __future__ import annotations

import asyncio
import signal
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# without a server we know, a stop signal turns new streams away this long: a server still serving after it
# (one that ignores the signal, say) takes clients again
SIGNAL_GRACE = 10.0


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
