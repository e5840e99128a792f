from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from functools import partial
from typing import Any

import anyio
from anyio.abc import TaskStatus
from starlette.types import Lifespan

from ._config import Config, env_enabled
from ._errors.console import browser_console
from ._events.broadcaster import Broadcaster
from ._events.group import join_group
from ._events.members import Watch, run_member
from ._files.watch import watch
from ._server.detect import runner_swaps, server_exiting
from ._server.logs import announce, quiet_startup
from ._server.signals import on_exit_signal
from ._server.tracebacks import app_tracebacks
from ._web.jinja import hook_jinja
from ._web.runtime import STATE_KEY, Runtime

logger = logging.getLogger(__name__)

PING_INTERVAL = 25.0  # seconds between keepalives: under the usual 60 s proxy idle timeout
EXIT_POLL = 0.1  # seconds: for a should_exit set without a signal (the signals are chained)


def lifespan_for(config: Config) -> Lifespan[Any]:
    """The lifespan that runs one configuration's watcher and leaves its Runtime in the app state.

    What runs with the app, wired here: the Jinja hook, the worker group, the broadcaster, the file watcher
    (or the leader's log), the stop signals, the keepalive and the app's log lines for the tabs.
    """

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[dict[str, Any]]:
        if not env_enabled():
            yield {}  # switched off by the environment: the endpoints answer 404, pages stay untouched
            return
        hook_jinja()
        group = join_group(config)  # the other workers of this server, if any: one boot id and one version line
        broadcaster = Broadcaster(group.boot if group else None)
        stop = anyio.Event()

        async def watch_files(started: Callable[[], None]) -> None:
            def watching(folders: list[str]) -> None:
                announce(config, folders)  # the startup line, once the watches are in place
                started()

            await watch(config, broadcaster, stop, watching)

        async with anyio.create_task_group() as tg:
            if group is None:
                await tg.start(_run, watch_files)
            else:
                await tg.start(run_member, group, broadcaster, watch_files, partial(quiet_startup, config), stop)
            tg.start_soon(_close_on_server_exit, broadcaster, stop)
            tg.start_soon(_keepalive, broadcaster)
            try:
                with exit_signals(broadcaster), forwarding_logs(config, broadcaster), app_tracebacks():
                    yield {STATE_KEY: Runtime(config, broadcaster)}
            finally:
                stop.set()
                broadcaster.close()
                tg.cancel_scope.cancel()  # no task may hold up the shutdown, not even for one poll
                if group is not None:
                    group.leave()

    return lifespan


async def _run(watch_files: Watch, *, task_status: TaskStatus[None]) -> None:
    await watch_files(task_status.started)


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


def exit_signals(broadcaster: Broadcaster) -> AbstractContextManager[None]:
    # under our runner the lifespans of two app objects overlap, so handlers would chain up; it ends streams itself
    return nullcontext() if runner_swaps() else on_exit_signal(broadcaster.close, broadcaster.end_streams)


def forwarding_logs(config: Config, broadcaster: Broadcaster) -> AbstractContextManager[None]:
    return browser_console(broadcaster, config.roots) if config.browser_logs else nullcontext()


def merge_lifespans(outer: Lifespan[Any], inner: Lifespan[Any]) -> Lifespan[Any]:
    """Run our lifespan inside the app's own, keeping the state both of them yield."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with outer(app) as outer_state, inner(app) as inner_state:
            yield {**(outer_state or {}), **(inner_state or {})}

    return lifespan
