from __future__ import annotations

import os
import re
import site
import sys
import sysconfig
from pathlib import Path

LIBRARY_FOLDERS = frozenset({"site-packages", "dist-packages"})
VENV_FOLDERS = frozenset({".venv", "venv", ".tox", ".nox", "__pypackages__"})
MAX_LINE = 240  # characters of one source line or file name


def clip(text: str | None, limit: int) -> str:
    """`text` cut to `limit` characters (an ellipsis marks the cut), with lone surrogates made printable."""
    text = (text or "").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _variants(folder: str | Path) -> set[str]:
    path = os.path.abspath(folder)
    return {path, os.path.realpath(path)} - {os.sep}


def _under(path: str, folder: str) -> str | None:
    """`path` relative to `folder` in posix form, or None when it is not inside it."""
    if not path.startswith(folder.rstrip(os.sep) + os.sep):
        return None
    return Path(path[len(folder.rstrip(os.sep)) + 1 :]).as_posix()


class ShortPaths:
    """Turns absolute file names into ones safe to show: app-relative, `site-packages/...`, `<python>/...`."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = sorted({v for root in roots for v in _variants(root)}, key=len, reverse=True)
        self.venv = _variants(sys.prefix) if sys.prefix != sys.base_prefix else set()
        stdlib = {v for key in ("stdlib", "platstdlib") for v in _variants(sysconfig.get_paths()[key])}
        self.stdlib = sorted(stdlib, key=len, reverse=True)
        # what messages may quote, longest first so a root inside the home folder wins over "~"
        named: dict[str, str] = {p: "" for p in self.roots}
        for folder in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]:
            if folder and os.path.basename(folder) in LIBRARY_FOLDERS:
                named.update(dict.fromkeys(_variants(folder), os.path.basename(folder)))
        named.update(dict.fromkeys(self.stdlib, "<python>"))
        named.update(dict.fromkeys(self.venv, "<venv>"))
        named.update(dict.fromkeys(_variants(sys.base_prefix), "<python>"))
        named.update(dict.fromkeys(_variants(Path.home()), "~"))
        self.named = named
        order = sorted(named, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, order)) or "(?!)"
        self.pattern = re.compile("(" + alternatives + r")(?:([/\\])|(?![\w.-]))")

    def absolute(self, filename: str) -> str:
        return filename if filename.startswith("<") else os.path.abspath(filename)

    def short(self, filename: str) -> tuple[str, bool]:
        """The name to show for a file, and whether it is the app's own."""
        if not filename or filename.startswith("<"):  # <string>, <frozen ...>, <template>
            return clip(filename or "<unknown>", MAX_LINE), False
        path = self.absolute(filename)
        parts = Path(path).parts
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] in LIBRARY_FOLDERS:
                return clip("/".join(parts[i:]), MAX_LINE), False
        in_venv = any(_under(path, v) is not None for v in self.venv)
        for root in self.roots:
            relative = _under(path, root)
            if relative is not None:
                return clip(relative, MAX_LINE), not in_venv and VENV_FOLDERS.isdisjoint(Path(relative).parts)
        for folder in self.stdlib:
            relative = _under(path, folder)
            if relative is not None:
                return clip("<python>/" + relative, MAX_LINE), False
        return clip(os.path.basename(path), MAX_LINE), False

    @staticmethod
    def relative(filename: str, folder: str) -> str | None:
        return _under(os.path.abspath(filename), os.path.abspath(folder))

    def scrub(self, text: str) -> str:
        """`text` with the absolute folders it names (the app's, Python's, the home) shortened."""

        def shorten(match: re.Match[str]) -> str:
            short = self.named[match.group(1)]
            separator = match.group(2) or ""
            if short == "":  # an app root: what follows it is already relative
                return "" if separator else "."
            return short + separator.replace("\\", "/")

        return self.pattern.sub(shorten, text)
