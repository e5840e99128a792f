"""The file watcher run in-process on a real folder, and saves made the way editors make them."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from fast_hot_reload._config import Config
from fast_hot_reload._events.broadcaster import Broadcaster
from fast_hot_reload._files.watch import watch


async def run_watch(root: Path, body: Callable[[Broadcaster], Awaitable[None]], **options: Any) -> None:
    """Watch `root` (with Config `options`) while `body` runs; the first listings or watches are in place first."""
    broadcaster = Broadcaster()
    stop = anyio.Event()

    async def watcher(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        await watch(Config(watch_paths=(root,), **options), broadcaster, stop, task_status.started)

    async with anyio.create_task_group() as tg:
        await tg.start(watcher)  # the first listings are taken once this returns
        try:
            await body(broadcaster)
        finally:
            stop.set()


def save_with_mtime(path: Path, text: str, mtime_ns: int) -> None:
    """Save as an editor does (temp file, rename), the file keeping `mtime_ns`: as a whole-second mtime
    shows saves within one second. Only the inode tells this save from the one before."""
    temp = path.with_name(path.name + ".tmp")  # ignored: the save is one change
    temp.write_text(text)
    os.utime(temp, ns=(mtime_ns, mtime_ns))
    os.replace(temp, path)
