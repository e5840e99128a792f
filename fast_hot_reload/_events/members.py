"""A worker of a group: the one that watches, or one that follows the leader's log."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from typing import Any

import anyio
from anyio.abc import TaskStatus
from watchfiles import Change, awatch

from .broadcaster import Broadcaster
from .group import Group

logger = logging.getLogger(__name__)

FOLLOW_POLL_MS = 1000  # a member also reads the log this often: a change the file watch missed, a leader gone
FOLLOW_STEP_MS = 10  # as the watcher's own step: a change in the log reaches this worker's tabs at once
NOTICE_AGE = 5.0  # seconds: an older notice in the log is not news to a member that just joined

Watch = Callable[[Callable[[], None]], Awaitable[None]]  # runs the file watcher; calls its argument once started


async def run_member(
    group: Group,
    broadcaster: Broadcaster,
    watch: Watch,
    follows: Callable[[], None],
    stop: anyio.Event,
    *,
    task_status: TaskStatus[None],
) -> None:
    """Watch the files as the group's leader (`watch`), or apply the leader's log until this worker has to lead.

    `follows` is called when this worker starts out following another one.
    """
    apply(broadcaster, group.read_new(), joining=True)  # the events so far: the same versions as the others
    if group.lead():
        broadcaster.journal = group.append
        await watch(task_status.started)
        return
    follows()
    task_status.started()
    changes = awatch(
        group.folder,
        watch_filter=_is_log,
        step=FOLLOW_STEP_MS,
        stop_event=stop,
        rust_timeout=FOLLOW_POLL_MS,
        yield_on_timeout=True,
        recursive=False,
    )
    async with aclosing(changes):
        async for _ in changes:
            apply(broadcaster, group.read_new())
            if group.lead():  # the leader's process ended: this one watches from now on
                apply(broadcaster, group.read_new())
                broadcaster.journal = group.append
                logger.debug("this worker now watches the files for its siblings")
                break
    if not stop.is_set():
        await watch(lambda: None)


def apply(broadcaster: Broadcaster, entries: Iterable[dict[str, Any]], joining: bool = False) -> None:
    now = time.time()
    for entry in entries:
        kind = entry.get("t")
        if kind == "event":
            broadcaster.adopt(int(entry["version"]), entry["kind"], tuple(entry["paths"]), bool(entry.get("truncated")))
        elif kind == "notice" and not joining and now - float(entry.get("at", 0)) < NOTICE_AGE:
            broadcaster.notify(entry["data"], private=bool(entry.get("private")), public=entry.get("public"))
        elif kind == "end":
            left = float(entry.get("at", 0)) + float(entry["seconds"]) - now
            if left > 0:
                broadcaster.end_streams(left)


def _is_log(change: Change, path: str) -> bool:
    return path.endswith("events.jsonl")
