from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .._config import Config
from .._server.detect import runner_swaps

try:
    import fcntl
except ImportError:  # Windows: no flock, so every worker keeps an identity of its own
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # an entry longer than this is not ours
LOG_LIMIT = 256 * 1024  # bytes of log past which the leader rewrites it with what still matters
KEEP_EVENTS = 64  # events kept when the log is rewritten: what a member that fell behind merges from
KEEP_SECONDS = 10.0  # notices and ends of streams younger than this are kept too
STALE_AGE = 60.0  # seconds: a group folder older than this, with nobody in it, is one a killed server left


class Group:
    """The workers of one server start (`gunicorn -w 4`, `uvicorn --workers 4`), sharing one boot id and one event log.

    A page and its connection may land on different workers: they must agree on what the page's boot id and
    version mean. Workers whose lives overlap, with the same parent, command line, folder, options and code,
    join one group; a worker that starts alone (a reloader's restart, a new run) starts a new one, with a new
    boot id. One member (the leader) watches the files and appends each event to the log; the others apply it.
    Members hold a shared lock on `members`, the leader an exclusive one on `leader`: both go with the process.
    """

    def __init__(self, folder: Path, boot: str, members: int, fresh: bool) -> None:
        self.folder = folder
        self.boot = boot
        self.fresh = fresh  # this worker started the group
        self._members = members
        self._leader: int | None = None
        self._log = folder / "events.jsonl"
        self.offset = 0  # bytes of the log applied so far
        self.seq = 0  # the number of the last entry applied (or written): a rewritten log is not applied twice
        self._inode = -1  # of the log file read last: another one means the leader rewrote it

    def lead(self) -> bool:
        """Become the leader if nobody is: the first member, or the next one after the leader's process ended."""
        if self._leader is not None:
            return True
        fd = os.open(self.folder / "leader", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._leader = fd
        return True

    def append(self, entry: dict[str, Any]) -> None:
        """The leader's record of one event, notice or end of streams, for the other members."""
        self.seq += 1
        line = json.dumps({**entry, "n": self.seq, "at": time.time()}, separators=(",", ":")).encode() + b"\n"
        try:
            fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write of a whole line, appended: readers never see half of one
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > LOG_LIMIT:
                self._compact()
        except OSError as exc:
            logger.warning("could not share a change with the other workers (%s): their tabs may miss it", exc)

    def _compact(self) -> None:
        """Rewrite the log with what a member may still need: the last events, and what just happened.

        At most half the limit is kept (the newest event always): the next rewrite is that far away.
        """
        lines = self._log.read_bytes().splitlines(keepends=True)
        kept: list[bytes] = []
        size = events = 0
        now = time.time()
        for line in reversed(lines):
            entry = next(iter(_parse(line)), None)
            if entry is None:
                continue
            if entry.get("t") == "event":
                if kept and (events >= KEEP_EVENTS or size + len(line) > LOG_LIMIT // 2):
                    continue
                events += 1
            elif now - float(entry.get("at", 0)) >= KEEP_SECONDS:
                continue
            kept.append(line)
            size += len(line)
        fresh = self.folder / "events.jsonl.new"
        fresh.write_bytes(b"".join(reversed(kept)))
        os.replace(fresh, self._log)  # members see a new file and read it from the start, skipping what they had

    def read_new(self) -> list[dict[str, Any]]:
        """The entries appended since the last call."""
        try:
            with self._log.open("rb") as log:
                inode = os.fstat(log.fileno()).st_ino
                if inode != self._inode:  # rewritten (or new): from its start
                    self._inode, self.offset = inode, 0
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        entries = []
        for entry in _parse(data[:end]):
            number = entry.get("n")
            if isinstance(number, int):
                if number <= self.seq:
                    continue  # applied already, before the log was rewritten
                self.seq = number
            entries.append(entry)
        return entries

    def leave(self) -> None:
        """Let go of the locks; the last member out removes the folder."""
        if self._leader is not None:
            os.close(self._leader)
            self._leader = None
        with _locked(self.folder / "mutex"):
            fcntl.flock(self._members, fcntl.LOCK_UN)
            try:
                fcntl.flock(self._members, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass  # others still serve
            else:
                shutil.rmtree(self.folder, ignore_errors=True)
            os.close(self._members)


def _parse(data: bytes) -> list[dict[str, Any]]:
    entries = []
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def join_group(config: Config) -> Group | None:
    """This worker's group, joined or started; None where workers cannot share one (then each keeps its own)."""
    if fcntl is None or os.environ.get("FAST_HOT_RELOAD_GROUP", "1") == "0":
        return None
    if runner_swaps():  # one process, whose apps overlap during a swap: each needs a boot id of its own
        return None
    try:
        base = private_folder(Path(tempfile.gettempdir()) / f"fast-hot-reload-{os.getuid()}")
        key = group_key(config)
        sweep(base, keep=key)
        folder = private_folder(base / key)
        with _locked(folder / "mutex"):
            members = os.open(folder / "members", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(members, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # others hold it: join them
                boot = json.loads((folder / "state.json").read_text())["boot"]
                fresh = False
            else:  # nobody left from an earlier start: begin afresh
                boot = secrets.token_hex(8)
                (folder / "events.jsonl").unlink(missing_ok=True)
                (folder / "state.json").write_text(json.dumps({"boot": boot}))
                fresh = True
            fcntl.flock(members, fcntl.LOCK_SH)
        return Group(folder, boot, members, fresh)
    except UnsafeFolder as exc:
        logger.warning("the workers of this server do not share hot reload state: %s", exc)
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.debug("workers do not share hot reload state here (%s)", exc)
        return None


class UnsafeFolder(OSError):
    """A folder of ours that someone else could have made or can write to: never used."""


def private_folder(path: Path) -> Path:
    """`path`, made if missing, once it is a real folder (not a link) of this user's that nobody else can write to.

    The temp folder is shared: another user could have made ours first, or left a link to one of theirs, to read
    or forge what the workers tell each other.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(f"{path} is not a folder (a link?): remove it")
    if info.st_uid != os.getuid():
        raise UnsafeFolder(f"{path} belongs to another user (uid {info.st_uid}): remove it")
    if info.st_mode & 0o022:
        raise UnsafeFolder(f"{path} can be written by other users (mode {info.st_mode & 0o777:o}): remove it")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)  # ours, made readable by an older release: nobody else reads what it holds
    return path


def sweep(base: Path, keep: str) -> None:
    """Remove the folders of groups that nobody is in any more (their servers were killed), but `keep`'s."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        try:
            if entry.name == keep or not entry.is_dir(follow_symlinks=False) or now - entry.stat().st_mtime < STALE_AGE:
                continue
            _remove_if_empty(Path(entry.path))
        except OSError:
            continue  # in use, or gone meanwhile


def _remove_if_empty(folder: Path) -> None:
    mutex = os.open(folder / "mutex", os.O_RDWR | os.O_NOFOLLOW)
    try:
        fcntl.flock(mutex, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody joining or leaving now
        members = os.open(folder / "members", os.O_RDWR | os.O_NOFOLLOW)
        try:
            fcntl.flock(members, fcntl.LOCK_EX | fcntl.LOCK_NB)  # and nobody in it: every member holds a shared lock
        finally:
            os.close(members)
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(mutex)


def group_key(config: Config) -> str:
    """The same for the workers of one server start, and for nothing else that may run beside them."""
    parts = [os.getppid(), sys.argv, os.getcwd(), config.url_prefix, [str(r) for r in config.roots], code_stamp(config)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def code_stamp(config: Config) -> list[tuple[str, int, int]]:
    """The app's own modules as loaded now: a worker started on other code (a graceful reload) is not a sibling."""
    roots = tuple(str(r) + os.sep for r in config.roots)
    stamp = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.startswith(roots):
            try:
                info = os.stat(file)
            except OSError:
                continue
            stamp.append((file, info.st_mtime_ns, info.st_size))
    return sorted(stamp)


class _locked:
    """An exclusive flock on a file, for `with`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)  # closing releases the lock
