from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

from .._events.broadcaster import Broadcaster
from .allowance import Allowance
from .describe import describe_exception

LOGGERS = ("", "uvicorn.error")  # the root, and uvicorn's own (it does not propagate): a route's exception is there
BURST = 20  # lines let through at once; then one per REFILL seconds, and a count of what was held back
REFILL = 0.5
MAX_TEXT = 4000
TRACEBACK_FRAMES = 3  # the app's own, innermost: a console line, not the overlay


class BrowserConsole(logging.Handler):
    """Sends the app's warnings and errors to every tab's console, one line each with a short traceback.

    Our own loggers are left out (a failing send must not log itself into a loop), a flood is thinned
    to a steady trickle with a count of what was dropped, and records from other threads (sync routes)
    are handed to the event loop.
    """

    def __init__(self, broadcaster: Broadcaster, roots: tuple[Path, ...]) -> None:
        super().__init__(logging.WARNING)
        self.broadcaster = broadcaster
        self.roots = roots
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        self.allowance = Allowance(BURST, 1 / REFILL)
        self.emitting = threading.local()  # a record logged while we send one is not sent
        self.last: logging.LogRecord | None = None  # seen on two of our loggers when a config propagates both

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("fast_hot_reload") or getattr(self.emitting, "on", False) or record is self.last:
            return
        self.last = record
        self.emitting.on = True
        try:
            if self.allow():
                self.send({"type": "server-log", "level": record.levelname.lower(), "text": self.text(record)})
        except Exception:  # a log line that cannot be shown must never break the app's logging
            self.handleError(record)
        finally:
            self.emitting.on = False

    def allow(self) -> bool:
        return self.allowance.allow()

    def text(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname} {record.name}: {record.getMessage().strip()}"
        if self.allowance.dropped:
            text = f"({self.allowance.dropped} more lines were held back) {text}"
            self.allowance.dropped = 0
        if record.exc_info and record.exc_info[1] is not None:
            details = describe_exception(record.exc_info[1], self.roots)
            frames = [f for f in details["frames"] if f["app"]][-TRACEBACK_FRAMES:] or details["frames"][-1:]
            text += "".join(f"\n  {f['file']}:{f['line']} in {f['function']}: {f['code']}" for f in frames)
            text += f"\n{details['title']}: {details['message']}"
        return text[:MAX_TEXT]

    def send(self, data: dict[str, str]) -> None:
        if threading.get_ident() == self.thread:
            self.broadcaster.notify(data, private=True)  # what the app logs is for the developer's browser only
        else:
            with suppress(RuntimeError):  # a closed loop: the server is gone, and so are the tabs' connections
                self.loop.call_soon_threadsafe(partial(self.broadcaster.notify, data, private=True))


@contextmanager
def browser_console(broadcaster: Broadcaster, roots: tuple[Path, ...]) -> Iterator[None]:
    """Forward the app's warnings and errors to the tabs while the block runs."""
    handler = BrowserConsole(broadcaster, roots)
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    try:
        yield
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)
