"""What is watched: watchfiles' defaults, ours (data files, editor temp files), the user's globs."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePath

from watchfiles import Change, DefaultFilter

# watchfiles' DefaultFilter defaults, copied rather than read: a server's reloader may extend that class in place
# before it forks the worker (granian's --reload-ignore-dirs does), and its ignore list is not ours
WATCHFILES_DIRS = (
    "__pycache__", ".git", ".hg", ".svn", ".tox", ".venv", ".idea", "node_modules", ".mypy_cache", ".pytest_cache",
    ".hypothesis",
)  # fmt: skip
WATCHFILES_FILES = (r"\.py[cod]$", r"\.___jb_...___$", r"\.sw.$", "~$", r"^\.\#", r"^\.DS_Store$", r"^flycheck_")

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
