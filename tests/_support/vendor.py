"""htmx and Alpine for the real-page apps, fetched from npm by tests/vendor (tests/run calls it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import TESTS

VENDOR = TESTS / ".vendor"
VENDORED = ("htmx1.min.js", "htmx2.min.js", "alpine.min.js")


def vendor(folder: Path) -> None:
    """Copy the browser libraries into an app's static folder; missing ones mean tests/vendor has not run."""
    missing = [name for name in VENDORED if not (VENDOR / name).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing from {VENDOR}: run `bash tests/vendor` (tests/run does)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in VENDORED:
        shutil.copyfile(VENDOR / name, folder / name)
