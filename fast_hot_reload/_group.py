from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._config import Config

try:
    import fcntl
except ImportError:  # Windows: no flock, so every worker keeps an identity of its own
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # an entry longer than this is not ours


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
        line = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        try:
            fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write of a whole line, appended: readers never see half of one
            finally:
                os.close(fd)
        except OSError as exc:
            logger.warning("could not share a change with the other workers (%s): their tabs may miss it", exc)

    def read_new(self) -> list[dict[str, Any]]:
        """The entries appended since the last call."""
        try:
            with self._log.open("rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        entries = []
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
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


def join_group(config: Config) -> Group | None:
    """This worker's group, joined or started; None where workers cannot share one (then each keeps its own)."""
    if fcntl is None or os.environ.get("FAST_HOT_RELOAD_GROUP", "1") == "0":
        return None
    try:
        folder = Path(tempfile.gettempdir()) / f"fast-hot-reload-{os.getuid()}" / group_key(config)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.debug("workers do not share hot reload state here (%s)", exc)
        return None


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
