from __future__ import annotations

import fnmatch
import inspect
import logging
import os
import stat
from collections.abc import Callable, Iterable
from contextlib import aclosing
from functools import partial
from pathlib import Path, PurePath

import anyio
import anyio.to_thread
from watchfiles import Change, DefaultFilter, awatch

from ._broadcast import Broadcaster, Event, Kind
from ._config import Config, OnReload
from ._paths import under_roots
from ._poll import Poller, poll_interval, polling_forced
from ._python import python_changed
from ._startup import announce as announce_startup
from ._watchfiles import WATCHFILES_DIRS, WATCHFILES_FILES

logger = logging.getLogger(__name__)

# watchfiles reports a batch after `STEP_MS` without news: its 50 ms default alone costs ~100 ms.
STEP_MS = 10
DEBOUNCE_MS = 400  # a stream of changes (a long git checkout) still yields at this pace
ON_RELOAD_TIMEOUT = 5.0
ROOT_POLL = 0.5  # seconds between looks for a deleted watch folder to come back

IGNORED_DIRS = (*WATCHFILES_DIRS, "venv", ".nox", ".ruff_cache", ".eggs", "site-packages", "htmlcov")
IGNORED_FILES = (
    *WATCHFILES_FILES,
    r"\.py[iw]$",
    r"\.(db|sqlite3?|log)(-journal|-wal|-shm)?$",  # an app writing its own data must not reload itself
    r"^4913$",  # vim's write probe
    r"\.tmp[\w.-]*$",  # atomic saves: x.html.tmp, x.html.tmp123, x.html.tmp.4567
    r"\.\d{6,}$",  # npm's write-file-atomic: x.css.2731467812
    r"\.(crswap|kate-swp|bak|orig|swpx|swx)$",
    r"^#.*#$",  # emacs autosave
    r"^\.~lock\.",  # LibreOffice
    r"^\.goutputstream-",  # gedit
    r"^sed[A-Za-z0-9]{6}$",  # sed -i's temp file, renamed over the real one
)


class ChangeFilter(DefaultFilter):
    """watchfiles' default filter, plus data and editor files and the user's globs.

    Python sources pass: they are not broadcast, but checked before the server restarts for them.
    """

    ignore_dirs = IGNORED_DIRS
    ignore_entity_patterns = IGNORED_FILES
    ignore_paths = ()  # ours, not whatever a reloader put on DefaultFilter

    def __init__(self, patterns: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._patterns = patterns
        self._folders = frozenset(self.ignore_dirs)

    def __call__(self, change: Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        return not self._matches(path, *PurePath(path).parts)  # a glob matches a file or folder name, or the path

    def _matches(self, *names: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in self._patterns for name in names)

    def skips_folder(self, path: str) -> bool:
        """Whether every change under this folder is ignored: then it is not watched at all."""
        name = os.path.basename(path)
        return name in self._folders or self._matches(path, name)


def watched_folders(roots: Iterable[Path], watch_filter: ChangeFilter) -> list[str]:
    """The roots and every folder under them that the filter keeps, to watch each one non-recursively.

    A recursive watch would also set up a watch on every folder of an ignored tree (a `.venv`, a
    `node_modules`) at each start, which under `uvicorn --reload` is each restart. Symlinked folders
    are followed, as watchfiles does, and each folder is listed once.
    """
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack = [str(root) for root in reversed(tuple(roots))]
    while stack:
        path = stack.pop()
        try:
            info = os.stat(path)
        except OSError:
            continue  # gone already, or unreadable: as watchfiles' ignore_permission_denied
        if not stat.S_ISDIR(info.st_mode):
            found.append(path)  # a watched file
            continue
        if (info.st_dev, info.st_ino) in seen:
            continue  # a symlink loop, or a folder reached twice
        seen.add((info.st_dev, info.st_ino))
        found.append(path)
        try:
            with os.scandir(path) as entries:
                folders = [e.path for e in entries if e.is_dir() and not watch_filter.skips_folder(e.path)]
        except OSError:
            continue
        stack.extend(sorted(folders, reverse=True))
    return found


def new_folders(changes: set[tuple[Change, str]]) -> bool:
    return any(change == Change.added and os.path.isdir(path) for change, path in changes)


def classify(paths: Iterable[str]) -> Kind:
    """Stylesheets alone are swapped in place; for anything else the client looks at the paths."""
    return "css" if all(p.lower().endswith(".css") for p in paths) else "reload"


def is_python(path: str) -> bool:
    return path.endswith(".py")


def relative(path: str, roots: tuple[Path, ...]) -> str:
    """The path as the browser may see it: relative to its watch root, never absolute."""
    return under_roots(path, roots) or PurePath(path).name


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


def _nothing() -> None:
    pass


async def watch(
    config: Config, broadcaster: Broadcaster, stop: anyio.Event, started: Callable[[], None] = _nothing
) -> None:
    """Watch the roots until `stop` is set; survive a root that vanishes and comes back.

    `started` is called just before the first watch begins: nothing awaits in between, so the
    file system watches are in place by the time the caller runs again. A new folder is watched
    before its change is published.
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
        if started is not _nothing:
            announce_startup(config, folders)
        started()
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
