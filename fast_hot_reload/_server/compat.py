from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version

from .detect import server_exiting

logger = logging.getLogger(__name__)


def release(distribution: str) -> tuple[int, ...]:
    """The installed release of a distribution as numbers, `(3, 4, 9)` for 3.4.9; `()` when unknown."""
    try:
        return tuple(int(part) for part in re.findall(r"\d+", version(distribution))[:3])
    except PackageNotFoundError:
        return ()


def sse_ping_off() -> float:
    """sse-starlette's own ping interval, switched off: ours follow the broadcaster's ticks, one timer for all.

    0 runs no ping task from sse-starlette 3.4.9 on, but spins before that: there, a ping a day.
    """
    return 0.0 if release("sse-starlette") >= (3, 4, 9) else 24 * 3600.0


SSE_PING_OFF = sse_ping_off()


@contextmanager
def quiet_while_stopping() -> Iterator[None]:
    """No traceback for a websocket accept or close that the server's shutdown overtook.

    uvicorn's legacy websockets (`--ws websockets`, long its default) then fail them with a RuntimeError,
    or an AttributeError from websockets: the connection is going anyway, and the client reconnects.
    """
    try:
        yield
    except Exception:
        if not server_exiting():
            raise
        logger.debug("a websocket failed as the server stopped", exc_info=True)


def drop_stuck(send: object) -> None:
    """Abort the connection of a websocket whose client stopped reading, after its close was sent.

    A server closes a transport only once its unsent bytes are out, which a client that never reads never lets
    happen: the socket would stay open as long as the client lives. uvicorn hands the app its protocol's bound
    `asgi_send`, whose transport can be aborted; elsewhere this does nothing.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    buffered = getattr(transport, "get_write_buffer_size", None)
    if callable(buffered) and buffered() > 0 and callable(getattr(transport, "abort", None)):
        logger.debug("aborting a websocket whose client stopped reading")
        transport.abort()  # type: ignore[union-attr]
