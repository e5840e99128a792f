"""One uvicorn server for the whole session: each Python save reruns what changed and swaps the app in place."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import anyio
import uvicorn
from anyio.abc import TaskGroup
from watchfiles import awatch

from .._server.logs import STARTUP_LINE, adopt_server_logging
from .dispatch import Dispatcher, Generation
from .lifespans import AppLifespan, StartupFailed
from .loader import AppLoader, Rerun
from .options import Options, RunnerFilter
from .tabs import close_streams, show_error

logger = logging.getLogger("fast_hot_reload.runner")

STEP_MS = 10  # watchfiles' quiet time before it yields a batch: its 50 ms default would be half of our budget
DEBOUNCE_MS = 400


class RunnerServer(uvicorn.Server):
    """uvicorn's Server, which also ends the tabs' streams at once on Ctrl+C and shuts the apps down last."""

    def __init__(self, config: uvicorn.Config, runner: Runner) -> None:
        super().__init__(config)
        self.runner = runner

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self.runner.loop.call_soon_threadsafe(self.runner.stopping)

    async def shutdown(self, sockets: Any = None) -> None:
        await super().shutdown(sockets)  # connections closed or drained first, as under plain uvicorn
        await self.runner.close()


class Runner:
    """Serves `options.target`, swapping in the app each rerun makes; `restart_reason` is set when it cannot."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.dispatcher = Dispatcher()
        self.restart_reason: str | None = None
        self.exit_code: str | int | None = None
        self.loop = asyncio.get_running_loop()
        config = uvicorn.Config(
            self.dispatcher,
            host=options.host,
            port=options.port,
            lifespan="off",  # each app object's lifespan is ours to drive: two overlap during a swap
            interface="asgi3",
            log_level=options.log_level,
        )
        adopt_server_logging()  # our lines printed as uvicorn prints its own
        self.server = RunnerServer(config, self)
        self.loader = AppLoader(options.module, options.attr, options.folders, options.factory)
        self._tg: TaskGroup | None = None
        self._stop = anyio.Event()

    async def serve(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            started = time.perf_counter()
            first = self.loader.load()
            if first.errors or not callable(first.app):
                self._failed(first)
            elif await self._swap(first.app):
                logger.info("fast-hot-reload: %s loaded in %.0f ms", self.options.target, _ms(started))
            logging.getLogger("fast_hot_reload").addFilter(_once_started)  # each swap's app would say it again
            tg.start_soon(self._watch)
            try:
                await self.server.serve()
            except SystemExit as exc:  # uvicorn's way to say it could not start (the port is taken, say)
                self.exit_code = exc.code
                await self.close()
            tg.cancel_scope.cancel()

    def stopping(self) -> None:
        self._stop.set()
        if self.dispatcher.current is not None:
            close_streams(self.dispatcher.current.lifespan.state)

    async def close(self) -> None:
        """The server has stopped serving: shut the current app down (and wait for those being retired)."""
        self.stopping()
        current, self.dispatcher.current = self.dispatcher.current, None
        if current is not None:
            await self.dispatcher.retire(current, grace=0)

    async def _watch(self) -> None:
        folders = [str(f) for f in self.options.folders]
        watch_filter = RunnerFilter(self.options.includes, self.options.excludes)
        changes_seen = awatch(
            *folders, watch_filter=watch_filter, step=STEP_MS, debounce=DEBOUNCE_MS, stop_event=self._stop
        )
        async for changes in changes_seen:
            await self.changed({Path(path).resolve() for _, path in changes}, time.perf_counter())

    async def changed(self, paths: set[Path], seen: float) -> None:
        """A batch of saved files (seen at `seen`): swap, restart, or say why nothing happens."""
        shown = ", ".join(sorted(_shown(p, self.options.folders) for p in paths))
        if self.dispatcher.current is None:
            self._restart(f"{shown} changed after the app failed to import")
            return
        reason = self._unfollowable(paths)
        if reason is not None:
            self._restart(reason)
            return
        followed = {p for p in paths if self.loader.followed(p)}
        if not followed:
            logger.debug("nothing imports %s yet: nothing to rerun", shown)
            return
        started = time.perf_counter()
        rerun = self.loader.rerun(
            followed
        )  # blocks the loop while it runs: reruns are short, and nothing may interleave
        reran = _ms(started)
        current = self.dispatcher.current
        if rerun.errors:
            logger.error("fast-hot-reload: %s raised on rerun; the previous app goes on serving", shown)
            show_error(current.lifespan.state, rerun.errors[0])
            return
        app = current.lifespan.app if rerun.app is None else rerun.app  # None: `app` itself was not rebound
        if not callable(app):
            self._restart(f"{self.options.target} is not an ASGI app after {shown} reran")
        elif await self._swap(app):
            logger.info("fast-hot-reload: swapped in %.0f ms (%s; rerun %.0f ms)", _ms(seen), shown, reran)

    def _unfollowable(self, paths: set[Path]) -> str | None:
        """Why these saves need a new process (a module deleted, loaded outside hmr, a file hmr never read)."""
        for path in sorted(paths):
            shown = _shown(path, self.options.folders)
            if self.loader.followed(path):
                if not path.exists():
                    return f"{shown} was deleted"
            elif path.suffix == ".py" and _loaded(path):
                return f"{shown} was imported outside hmr (before the runner, or by hand)"
            elif path.suffix != ".py" and path.exists():
                return f"{shown} changed, and no module read it while it ran"
        return None

    async def _swap(self, app: Any) -> bool:
        """Start `app`'s lifespan, route new connections to it, then retire the app it replaces."""
        assert self._tg is not None
        lifespan = AppLifespan(app)
        try:
            await lifespan.startup(self._tg)
        except StartupFailed as exc:
            logger.error("fast-hot-reload: the new app's lifespan startup failed (%s); the previous app goes on", exc)
            if self.dispatcher.current is not None:
                show_error(self.dispatcher.current.lifespan.state, exc)
            return False
        old, self.dispatcher.current = self.dispatcher.current, Generation(lifespan)
        if old is not None:
            close_streams(old.lifespan.state)  # the tabs reconnect at once, to the new app, and refresh in place
            self._tg.start_soon(self.dispatcher.retire, old)
        return True

    def _failed(self, first: Rerun) -> None:
        what = type(first.errors[0]).__name__ if first.errors else f"{type(first.app).__name__}, not an ASGI app"
        self.dispatcher.failure = (
            f"{self.options.target} failed to import ({what}): fix it and save; the runner restarts"
        )
        logger.error("fast-hot-reload: %s", self.dispatcher.failure)

    def _restart(self, reason: str) -> None:
        logger.info("fast-hot-reload: restarting: %s", reason)
        self.restart_reason = reason
        self.server.should_exit = True


def _once_started(record: logging.LogRecord) -> bool:
    return record.msg is not STARTUP_LINE


def _loaded(path: Path) -> bool:
    # names compared, not resolved: resolving every module's file costs ~40 ms, a save's whole budget
    names = {str(path), os.path.realpath(path)}
    return any(getattr(module, "__file__", None) in names for module in list(sys.modules.values()))


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _shown(path: Path, folders: list[Path]) -> str:
    for folder in folders:
        if path.is_relative_to(folder):
            return str(path.relative_to(folder))
    return str(path)
