"""The app's error as the server logs it ("Exception in ASGI application"): without our layers' frames."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from .._errors.frames import app_traceback

logger = logging.getLogger(__name__)

ERROR_LOGGERS = ("uvicorn.error", "hypercorn.error")  # where a server logs what an app raised, with its traceback


class AppTracebacks(logging.Filter):
    """Gives a record's exception the traceback the formatter prints, trimmed of our frames (see _errors/frames).

    Formatters print `exc_text` when it is set: the exception and its own traceback stay as they are.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            try:
                record.exc_text = app_traceback(record.exc_info[1])
            except Exception:  # then the formatter prints the whole traceback, as it would without us
                logger.debug("could not trim a traceback", exc_info=True)
        return True


@contextmanager
def app_tracebacks() -> Iterator[None]:
    """Trim our frames out of the tracebacks the server logs, while the block (our lifespan) runs."""
    trim = AppTracebacks()
    for name in ERROR_LOGGERS:
        logging.getLogger(name).addFilter(trim)
    try:
        yield
    finally:
        for name in ERROR_LOGGERS:
            logging.getLogger(name).removeFilter(trim)
