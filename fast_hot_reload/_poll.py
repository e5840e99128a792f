from __future__ import annotations

import hashlib
import os
import platform
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable

import anyio
import anyio.to_thread
from watchfiles import Change

# between scans while nothing changes: half of it is the mean wait before a save is seen
INTERVAL_MS = 25
# a big tree is scanned less often: the scans' CPU stays under this share of one core, up to MAX_INTERVAL_MS
DUTY = 0.02
MAX_INTERVAL_MS = 500
# a same-size rewrite within the tick of a file's mtime leaves its metadata as it was: while that tick may
# still run (by our clock, from when we saw the write) the file's content is compared too
COARSE_TICK = 2.0  # an mtime in whole seconds: FAT's steps are 2 s, HFS+'s and ext3's 1 s
FINE_TICK = 0.05  # any other: a kernel tick (4-10 ms), exFAT's 10 ms, with room
HASH_LIMIT = 1 << 20  # bigger files (images, bundles) are compared by their metadata alone
_OFF = {"false", "disable", "disabled"}

FileChanges = set[tuple[Change, str]]


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
    """

    def __init__(
        self, keep: Callable[[Change, str], bool], step: float, debounce: float, interval: float | None = None
    ) -> None:
        self._keep = keep
        self._step, self._debounce = step, debounce  # seconds, as awatch's
        self._interval = interval  # seconds between scans; None: INTERVAL_MS, longer for a tree that takes long
        self._pause = interval or INTERVAL_MS / 1000
        self._costs: deque[float] = deque(maxlen=8)  # seconds, of the last scans while nothing changed
        self._seen: dict[str, Listing] = {}  # folder: its kept entries at the last scan
        self._ignored: dict[str, set[str]] = {}  # folder: names the filter dropped, not asked about again
        self._failed: set[str] = set()  # folders that could not be listed in this run
        self._since: dict[str, float] = {}  # path: when we saw its latest change (monotonic), for COARSE_TICK
        self._now = self._last_scan = 0.0  # monotonic: the scan under way, the one before it
        self._digests: dict[str, bytes] = {}  # path: content digest at the last scan, for hot files

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

        batch = self.scan(folders)  # here, not in a thread: the first listings exist before anyone else runs
        try:
            while found := await anyio.to_thread.run_sync(self._next, folders, batch, stopped, abandon_on_cancel=True):
                yield found
                batch = set()
        finally:
            halt.set()

    def _next(self, folders: list[str], batch: FileChanges, stopped: Callable[[float], bool]) -> FileChanges:
        """In a worker thread: scan until something changed, then until it settles; empty once stopped.

        One thread for the whole wait: the event loop is not woken at each tick.
        """
        while not batch:
            if stopped(self._pause):
                return set()
            cpu, wall = time.thread_time(), time.monotonic()
            batch = self.scan(folders)
            if self._interval is None:
                # CPU time: a scan preempted on a busy machine is no bigger; wall time where the CPU clock is coarse
                self._costs.append(min(time.thread_time() - cpu, time.monotonic() - wall))
                # the median of the last few: a garbage collection that ran during one scan is not the tree's cost
                cost = sorted(self._costs)[len(self._costs) // 2]
                self._pause = min(max(INTERVAL_MS, cost / DUTY * 1000), MAX_INTERVAL_MS) / 1000
        deadline = time.monotonic() + self._debounce
        while time.monotonic() < deadline:  # until the writes settle, as awatch's step: an editor's save is one batch
            if stopped(self._step):
                return set()
            more = self.scan(folders)
            if not more:
                break
            batch |= more
        return batch

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
        for path, content in digests.items():
            if content and self._digests.get(path, content) not in (content, b""):
                changes.add((Change.modified, path))  # the same metadata, other content: a rewrite within one tick
        self._digests = digests
        self._since.update((path, now) for change, path in changes if change != Change.deleted)
        for path in [p for p, since in self._since.items() if since + COARSE_TICK < now]:
            del self._since[path]
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
        for entry in entries:
            path = entry.path
            if path not in known and (entry.name in ignored or not self._keep(Change.modified, path)):
                dropped.add(entry.name)
                continue
            try:
                if entry.is_dir():
                    listing[path] = (entry.inode(),)
                else:
                    listing[path] = self._signature(path, entry.stat(), known, before is None, digests, wall)
            except OSError:
                continue  # gone between the listing and the stat: absent
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
