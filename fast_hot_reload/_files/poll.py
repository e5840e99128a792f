from __future__ import annotations

import hashlib
import os
import platform
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from watchfiles import Change

# between looks while nothing changes: half of it is the mean wait before a save of a hot file is seen
INTERVAL_MS = 25
# a big tree is scanned whole less often: those scans' CPU stays under this share of one core, but for a tree
# so big that it would take longer than MAX_WHOLE_INTERVAL between two (50,000 files: ~4 %)
DUTY = 0.015
MAX_WHOLE_INTERVAL = 5.0
# the folders' own mtimes (an entry added, removed or renamed over: an editor's atomic save) are looked at under
# this share, and so are the folders where something changed lately (or, at the start, was modified within
# RECENT_WORK); a file that changed is looked at on every look for HOT_SECONDS, at the cost of one stat
DIR_DUTY = 0.005
HOT_DUTY = 0.005
HOT_SECONDS = 1800.0
RECENT_WORK = 3600.0
COARSE_TICK = 2.0  # an mtime in whole seconds: FAT's steps are 2 s, HFS+'s and ext3's 1 s
FINE_TICK = 0.05  # any other: a kernel tick (4-10 ms), exFAT's 10 ms, with room
HASH_LIMIT = 1 << 20  # bigger files (images, bundles) are compared by their metadata alone
_OFF = {"false", "disable", "disabled"}

FileChanges = set[tuple[Change, str]]
T = TypeVar("T")


def polling_forced() -> bool:
    """Whether watchfiles would poll here: WATCHFILES_FORCE_POLLING set and not false/disable(d), or WSL."""
    value = os.environ.get("WATCHFILES_FORCE_POLLING")
    if value:
        return value.lower() not in _OFF
    uname = platform.uname()
    return "microsoft-standard" in uname.release.lower() and uname.system.lower() == "linux"


def poll_interval() -> float | None:
    """WATCHFILES_POLL_DELAY_MS in seconds, as watchfiles reads it: a fixed interval; None when unset."""
    value = os.environ.get("WATCHFILES_POLL_DELAY_MS", "")
    return int(value) / 1000 if value.isdecimal() else None


# a file's (mtime_ns, ctime_ns, size, inode); a folder's (inode,): its own mtime is not news, its files are
Signature = tuple[int, ...]
Listing = dict[str, Signature]  # path: signature, for the kept entries of one watched folder


def digest(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return hashlib.blake2b(file.read(HASH_LIMIT + 1), digest_size=16).digest()
    except OSError:
        return b""  # gone or unreadable: the metadata decides


def compare(before: Listing, after: Listing) -> FileChanges:
    changes: FileChanges = set()
    for path, new in after.items():
        old = before.get(path)
        if old == new:
            continue
        if len(new) == 1:
            changes.add((Change.added, path))  # a folder, new or made anew: watch() walks it
        else:
            changes.add((Change.modified if old is not None else Change.added, path))
    changes.update((Change.deleted, path) for path in before.keys() - after.keys())
    return changes


class Poller:
    """Polls the watched folders, each without recursion, comparing mtime_ns, ctime_ns, size and inode.

    watchfiles' poller (notify's PollWatcher) keeps whole-second mtimes only: a save within the second
    of the one before it is never reported. A file that just changed is also compared by content.

    Every INTERVAL_MS it looks at the files that changed lately (one stat each). A small tree is also scanned
    whole at each look; a big one, whose scan would cost more than DUTY of a core that often, less often. In
    between, each folder's own mtime (which moves when an entry is created, deleted or renamed over) and the
    folders worked in lately are looked at, each under a small share of a core.
    """

    def __init__(
        self, keep: Callable[[Change, str], bool], step: float, debounce: float, interval: float | None = None
    ) -> None:
        self._keep = keep
        self._step, self._debounce = step, debounce  # seconds, as awatch's
        self._interval = interval  # seconds between whole scans, as the user set; None: by their cost
        self._pause = interval or INTERVAL_MS / 1000
        # what each kind of look cost (seconds, the last few), and when it is due next (monotonic)
        self._costs = {kind: deque[float](maxlen=8) for kind in ("whole", "dirs", "hot")}
        self._due = {"whole": 0.0, "dirs": 0.0, "hot": 0.0}
        self._hot: dict[str, float] = {}  # folder: until when it counts as worked in
        self._watched: tuple[list[str], frozenset[str]] = ([], frozenset())  # the folders looked at, as a set too
        self._hot_files: dict[str, float] = {}  # path: until when it is looked at on every look
        self._dir_mtimes: dict[str, int] = {}  # folder: its own mtime_ns at the last look
        self._seen: dict[str, Listing] = {}  # folder: its kept entries at the last scan
        self._ignored: dict[str, set[str]] = {}  # folder: names the filter dropped, not asked about again
        self._failed: set[str] = set()  # folders that could not be listed in this run
        self._since: dict[str, float] = {}  # path: when we saw its latest change (monotonic), for COARSE_TICK
        self._now = self._last_scan = 0.0  # monotonic: the look under way, the one before it
        self._digests: dict[str, bytes] = {}  # path: content digest at the last look, for files that just changed

    async def changes(self, folders: list[str], stop: anyio.Event) -> AsyncGenerator[FileChanges, None]:
        """Batches of changes, as awatch yields them, until `stop` is set.

        A folder new to this poller (or that failed) is taken as it is; the others are compared with
        their last scan, so that nothing saved between two runs is lost.
        """
        for folder in [f for f in self._seen if f in self._failed or f not in folders]:
            del self._seen[folder]
            self._ignored.pop(folder, None)
        self._failed.clear()
        halt = threading.Event()  # ends the scanning thread when this generator is closed or cancelled

        def stopped(wait: float) -> bool:
            return halt.wait(wait) or stop.is_set()

        self._moved_folders(folders)
        batch = self.scan(folders)  # here, not in a thread: the first listings exist before anyone else runs
        try:
            while found := await anyio.to_thread.run_sync(self._next, folders, batch, stopped, abandon_on_cancel=True):
                yield found
                batch = set()
        finally:
            halt.set()

    def _next(self, folders: list[str], batch: FileChanges, stopped: Callable[[float], bool]) -> FileChanges:
        """In a worker thread: look until something changed, then until it settles; empty once stopped.

        One thread for the whole wait: the event loop is not woken at each tick.
        """
        while not batch:
            if stopped(self._pause):
                return set()
            batch = self.look(folders)
        deadline = time.monotonic() + self._debounce
        while time.monotonic() < deadline:  # until the writes settle, as awatch's step: an editor's save is one batch
            if stopped(self._step):
                return set()
            busy = {self._key(path) for _, path in batch}  # where the writes are going on
            more = self.check_files() | self.scan([folder for folder in folders if folder in busy])
            if not more:
                break
            batch |= more
        return batch

    def look(self, folders: list[str]) -> FileChanges:
        """One look: the files that just changed; the whole tree when its scan is due; else the folders whose
        own mtime moved and the folders worked in lately, when those looks are due."""
        if self._interval is not None:
            self._pause = self._interval
            return self.scan(folders)
        now = time.monotonic()
        if now >= self._due["whole"]:
            self._moved_folders(folders)  # taken before the scan: a change after it shows at the next look
            return self._timed("whole", now, DUTY, self.scan, folders)
        changes = self.check_files()
        targets: list[str] = []
        if now >= self._due["dirs"]:
            targets += self._timed("dirs", now, DIR_DUTY, self._moved_folders, folders)
        if now >= self._due["hot"]:
            if self._watched[0] is not folders:
                self._watched = (folders, frozenset(folders))
            hot = [folder for folder, until in self._hot.items() if until > now and folder in self._watched[1]]
            changes |= self._timed("hot", now, HOT_DUTY, self.scan, [f for f in hot if f not in targets])
        return changes | (self.scan(targets) if targets else set())

    def _timed(self, kind: str, now: float, duty: float, run: Callable[[list[str]], T], folders: list[str]) -> T:
        """`run(folders)`, due again when its cost (median of the last few) is `duty` of the time between."""
        if not folders:
            return run(folders)
        cpu, wall = time.thread_time(), time.monotonic()
        result = run(folders)
        # CPU time: a scan preempted on a busy machine is no bigger; wall time where the CPU clock is coarser
        costs = self._costs[kind]
        costs.append(min(time.thread_time() - cpu, time.monotonic() - wall))
        cost = sorted(costs)[len(costs) // 2]  # a garbage collection that ran during one is not the tree's cost
        limit = MAX_WHOLE_INTERVAL if kind == "whole" else None
        pause = max(INTERVAL_MS / 1000, cost / duty)
        self._due[kind] = now + (min(pause, limit) if limit else pause)
        return result

    def _moved_folders(self, folders: list[str]) -> list[str]:
        """The folders whose own mtime changed since the last look (or that are gone)."""
        moved = []
        for folder in folders:
            try:
                mtime = os.stat(folder).st_mtime_ns
            except OSError:
                mtime = -1
            if self._dir_mtimes.get(folder) != mtime:
                self._dir_mtimes[folder] = mtime
                moved.append(folder)
        return moved

    def _key(self, path: str) -> str:
        """The listing a path is kept in: its folder's, or its own for a watched file."""
        return path if path in self._seen else os.path.dirname(path)

    def check_files(self) -> FileChanges:
        """Look at the files that changed lately, one stat each: the file being worked on shows at once."""
        now, wall = time.monotonic(), time.time()
        self._now = now
        changes: FileChanges = set()
        digests: dict[str, bytes] = {}
        for path in [p for p, until in self._hot_files.items() if until <= now]:
            del self._hot_files[path]
        for path in list(self._hot_files):
            listing = self._seen.get(self._key(path))
            if listing is None or path not in listing:
                continue  # gone from its folder's listing: that folder's look says what happened
            try:
                info = os.stat(path)
            except OSError:
                continue  # deleted: its folder's own mtime moved, and that look reports it
            signature = self._signature(path, info, listing, False, digests, wall)
            if signature != listing[path]:
                listing[path] = signature
                changes.add((Change.modified, path))
        return self._finish(changes, digests, now)

    def scan(self, folders: list[str]) -> FileChanges:
        """List every folder once; the changes since the last scan."""
        now, wall = time.monotonic(), time.time()
        self._now = now
        changes: FileChanges = set()
        digests: dict[str, bytes] = {}
        for folder in folders:
            before = self._seen.get(folder)
            after = self._list(folder, before, digests, wall)
            if after is None:  # gone or unreadable: its files are gone for us; its parent reports a return
                if before is not None:
                    changes.update((Change.deleted, path) for path in before)
                    self._seen[folder] = {}
                    self._failed.add(folder)
                continue
            self._failed.discard(folder)
            self._seen[folder] = after
            if before is not None and before != after:
                changes |= compare(before, after)
        return self._finish(changes, digests, now)

    def _finish(self, changes: FileChanges, digests: dict[str, bytes], now: float) -> FileChanges:
        for path, content in digests.items():
            if content and self._digests.get(path, content) not in (content, b""):
                changes.add((Change.modified, path))  # the same metadata, other content: a rewrite within one tick
        self._digests.update(digests)
        self._since.update((path, now) for change, path in changes if change != Change.deleted)
        for path in [p for p, since in self._since.items() if since + COARSE_TICK < now]:
            del self._since[path]
            self._digests.pop(path, None)
        for change, path in changes:  # where the developer works now: looked at often for a while
            self._hot[self._key(path)] = now + HOT_SECONDS
            if change != Change.deleted and path not in self._seen:
                self._hot_files[path] = now + HOT_SECONDS
        self._last_scan = now
        return changes

    def _list(self, folder: str, before: Listing | None, digests: dict[str, bytes], wall: float) -> Listing | None:
        known = before or {}
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except NotADirectoryError:
            return self._file(folder, before, digests, wall)  # a watched file
        except OSError:
            return None
        ignored = self._ignored.get(folder, set())
        dropped: set[str] = set()
        listing: Listing = {}
        since = self._since
        for entry in entries:
            path = entry.path
            old = known.get(path)
            if old is None and (entry.name in ignored or not self._keep(Change.modified, path)):
                dropped.add(entry.name)
                continue
            try:
                if entry.is_dir():
                    listing[path] = (entry.inode(),)
                    continue
                info = entry.stat()
            except OSError:
                continue  # gone between the listing and the stat: absent
            signature = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
            if signature == old and path not in since:
                listing[path] = old  # the usual case, for nearly every file of a big tree: nothing to do
            else:
                listing[path] = self._signature(path, info, known, before is None, digests, wall)
        self._ignored[folder] = dropped
        return listing

    def _file(self, path: str, before: Listing | None, digests: dict[str, bytes], wall: float) -> Listing | None:
        if not self._keep(Change.modified, path):
            return {}
        try:
            return {path: self._signature(path, os.stat(path), before or {}, before is None, digests, wall)}
        except OSError:
            return None

    def _signature(
        self, path: str, info: os.stat_result, known: Listing, first: bool, digests: dict[str, bytes], wall: float
    ) -> Signature:
        signature = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
        tick = COARSE_TICK if info.st_mtime_ns % 1_000_000_000 == 0 else FINE_TICK
        if first:  # written just before we started? only the file system's clock can tell
            hot = abs(wall - info.st_mtime) < tick
            if wall - info.st_mtime < RECENT_WORK:
                self._hot[os.path.dirname(path)] = self._now + HOT_SECONDS  # lately worked on: a hot folder
            if hot:
                self._since[path] = self._now  # as if we saw that write now
        else:
            # changed now, or the scan before this one came while the tick of the write we saw could still run:
            # a rewrite since then may have left the metadata as it was
            since = self._since.get(path)
            hot = known.get(path) != signature or (since is not None and self._last_scan < since + tick)
        if hot and info.st_size <= HASH_LIMIT:
            digests[path] = digest(path)
        return signature
