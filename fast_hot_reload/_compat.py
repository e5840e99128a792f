from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version


def release(distribution: str) -> tuple[int, ...]:
    """The installed release of a distribution as numbers, `(3, 4, 9)` for 3.4.9; `()` when unknown."""
    try:
        return tuple(int(part) for part in re.findall(r"\d+", version(distribution))[:3])
    except PackageNotFoundError:
        return ()
