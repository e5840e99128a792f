from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskStatus
from starlette.types import Lifespan

from ._broadcast import Broadcaster
from ._config import Config, env_enabled
from ._state import STATE_KEY, Runtime
from ._watch import watch

logger = logging.getLogger(__name__)

PING_INTERVAL = 25.0  # seconds between keepalives: under the usual 60 s proxy idle timeout
EXIT_POLL = 0.1  # seconds between looks at whether the server is stopping (uvicorn itself ticks at 0.1)


def lifespan_for(config: Config) -> Lifespan[Any]:
    """The lifespan that runs one configuration's watcher and leaves its Runtime in the app state."""

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[dict[str, Any]]:
        if not env_enabled():
            yield {}  # switched off by the environment: the endpoints answer 404, pages stay untouched
            return
        broadcaster = Broadcaster()
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            await tg.start(_watch_task, config, broadcaster, stop)
            tg.start_soon(_close_on_server_exit, broadcaster, stop)
            tg.start_soon(_keepalive, broadcaster)
            try:
                yield {STATE_KEY: Runtime(config, broadcaster)}
            finally:
                stop.set()
                broadcaster.close()
                tg.cancel_scope.cancel()  # no task may hold up the shutdown, not even for one poll

    return lifespan


async def _watch_task(
    config: Config, broadcaster: Broadcaster, stop: anyio.Event, *, task_status: TaskStatus[None]
) -> None:
    await watch(config, broadcaster, stop, task_status.started)


async def _close_on_server_exit(broadcaster: Broadcaster, stop: anyio.Event) -> None:
    # uvicorn waits for open streams before the lifespan shutdown: end ours as soon as it is asked to stop
    while not stop.is_set():
        if server_exiting():
            logger.debug("the server is stopping: closing hot reload streams")
            broadcaster.close()
            return
        await anyio.sleep(EXIT_POLL)  # a plain sleep: a timeout scope here costs ~1% of a core while idle


async def _keepalive(broadcaster: Broadcaster) -> None:
    # one timer wakes every client for its ping: a timer per client costs memory and CPU for each
    while not broadcaster.closed:
        await anyio.sleep(PING_INTERVAL)
        broadcaster.tick()


def server_exiting() -> bool:
    """True once uvicorn (the server whose bound method handles SIGTERM) has been told to exit."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return getattr(server, "should_exit", False) is True


def merge_lifespans(outer: Lifespan[Any], inner: Lifespan[Any]) -> Lifespan[Any]:
    """Run our lifespan inside the app's own, keeping the state both of them yield."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with outer(app) as outer_state, inner(app) as inner_state:
            yield {**(outer_state or {}), **(inner_state or {})}

    return lifespan
