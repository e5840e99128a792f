"""Changed files as the browser may see them: relative to the watched folder they are in, never absolute."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath


def under_roots(path: str, roots: Iterable[PurePath]) -> str | None:
    """The path relative to the watch root it is in (posix), or None when it is in none of them."""
    changed = PurePath(path)
    for root in roots:
        if changed == root:
            return changed.name  # a watched file, or the watched folder itself
        if root in changed.parents:
            return changed.relative_to(root).as_posix()
    return None


def relative(path: str, roots: tuple[Path, ...]) -> str:
    """The path as the browser may see it: relative to its watch root, never absolute."""
    return under_roots(path, roots) or PurePath(path).name
