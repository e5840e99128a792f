"""The watch loop: file batches from watchfiles (or our poller) become versioned events."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from contextlib import aclosing
from functools import partial

import anyio
import anyio.to_thread
from watchfiles import Change, awatch

from .._config import Config, OnReload
from .._events.broadcaster import Broadcaster
from .._protocol import Event, Kind
from .._server.detect import runner_swaps
from .filters import ChangeFilter, new_folders, watched_folders
from .paths import relative
from .poll import Poller, poll_interval, polling_forced
from .python import python_changed

logger = logging.getLogger(__name__)

# watchfiles reports a batch after `STEP_MS` without news: its 50 ms default alone costs ~100 ms.
STEP_MS = 10
DEBOUNCE_MS = 400  # a stream of changes (a long git checkout) still yields at this pace
ON_RELOAD_TIMEOUT = 5.0
ROOT_POLL = 0.5  # seconds between looks for a deleted watch folder to come back


def classify(paths: Iterable[str]) -> Kind:
    """Stylesheets alone are swapped in place; for anything else the client looks at the paths."""
    return "css" if all(p.lower().endswith(".css") for p in paths) else "reload"


def is_python(path: str) -> bool:
    return path.endswith(".py")


async def call_on_reload(callback: OnReload, paths: list[str]) -> None:
    """Run the user's callback, bounded in time; an error is logged and the reload goes on."""
    with anyio.move_on_after(ON_RELOAD_TIMEOUT) as scope:
        try:
            if inspect.iscoroutinefunction(callback):
                await callback(paths)
            else:
                result = await anyio.to_thread.run_sync(callback, paths, abandon_on_cancel=True)
                if inspect.isawaitable(result):
                    await result
        except Exception:
            logger.exception("on_reload raised; the browsers reload anyway")
    if scope.cancelled_caught:
        logger.warning("on_reload ran over %g s; the browsers reload without waiting for it", ON_RELOAD_TIMEOUT)


async def publish_changes(config: Config, broadcaster: Broadcaster, changes: set[tuple[Change, str]]) -> Event | None:
    return announce(config, broadcaster, await before_publish(config, broadcaster, changes))


async def before_publish(config: Config, broadcaster: Broadcaster, changes: set[tuple[Change, str]]) -> list[str]:
    """The changed paths to broadcast, once Python files went to their own check and on_reload has seen them."""
    paths = sorted({path for _, path in changes})
    python = [p for p in paths if is_python(p)]
    if python:
        if not runner_swaps():  # our runner reruns them itself, and tells the tabs what came of it
            await python_changed(config, broadcaster, python)
        paths = [p for p in paths if not is_python(p)]
    if paths and config.on_reload is not None:
        await call_on_reload(config.on_reload, paths)
    return paths


def announce(config: Config, broadcaster: Broadcaster, paths: list[str]) -> Event | None:
    if not paths:
        return None  # Python alone: the server restarts for it, and the restart updates the tabs
    shown = tuple(relative(p, config.roots) for p in paths)
    event = broadcaster.publish(classify(paths), shown)
    logger.info("%s (v%d): %s", "stylesheet swap" if event.kind == "css" else "reload", event.version, ", ".join(shown))
    return event


def _nothing(folders: list[str]) -> None:
    pass


async def watch(
    config: Config, broadcaster: Broadcaster, stop: anyio.Event, started: Callable[[list[str]], None] = _nothing
) -> None:
    """Watch the roots until `stop` is set; survive a root that vanishes and comes back.

    `started(folders)` is called with the folders watched just before the first watch begins: nothing
    awaits in between, so the file system watches are in place by the time the caller runs again. A new
    folder is watched before its change is published.
    """
    roots = config.roots
    watch_filter = ChangeFilter(config.ignore_patterns)
    warned = False
    pending: Callable[[], object] | None = None  # a publish held until the next watches are in place
    # watchfiles' own polling loses saves made within a second of the one before: ours replaces it
    poller = Poller(watch_filter, STEP_MS / 1000, DEBOUNCE_MS / 1000, poll_interval()) if polling_forced() else None
    while not stop.is_set():
        missing = [str(root) for root in roots if not root.exists()]
        folders = [] if missing else await anyio.to_thread.run_sync(watched_folders, roots, watch_filter)
        started(folders)
        started = _nothing
        try:
            if missing:
                raise FileNotFoundError(f"{', '.join(missing)} not found")
            if poller is not None:
                changes_seen = poller.changes(folders, stop)
            else:
                changes_seen = awatch(
                    *folders,
                    watch_filter=watch_filter,
                    step=STEP_MS,
                    debounce=DEBOUNCE_MS,
                    stop_event=stop,
                    recursive=False,
                    ignore_permission_denied=True,  # one unreadable folder must not blind the whole tree
                )
            async with aclosing(changes_seen):  # leaving early must release the OS watches now
                if pending is not None:
                    # no await from here to awatch's watches being set up: the woken clients run after that
                    pending()
                    pending = None
                async for changes in changes_seen:
                    if new_folders(changes):
                        # watch the new folders before anyone reloads: files written in them come after
                        paths = await before_publish(config, broadcaster, changes)
                        pending = partial(announce, config, broadcaster, paths)
                        break
                    await publish_changes(config, broadcaster, changes)
                    if not all(root.exists() for root in roots):
                        break
            continue
        except (OSError, RuntimeError) as exc:
            if not warned:
                logger.warning("watching %s failed (%s); retrying until it works", ", ".join(map(str, roots)), exc)
            warned = True
            # files may have changed while nothing watched them: pages must not stay stale
            pending = partial(broadcaster.publish, "reload", ())
        # a failed or vanished root: look again at a calm pace until it is back
        with anyio.move_on_after(ROOT_POLL):
            await stop.wait()
