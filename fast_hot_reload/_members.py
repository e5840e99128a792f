from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import aclosing
from typing import Any

import anyio
from anyio.abc import TaskStatus
from watchfiles import Change, awatch

from ._broadcast import Broadcaster
from ._config import Config
from ._group import Group
from ._startup import quiet_startup
from ._watch import STEP_MS, watch

logger = logging.getLogger(__name__)

FOLLOW_POLL_MS = 1000  # a member also reads the log this often: a change the file watch missed, a leader gone
NOTICE_AGE = 5.0  # seconds: an older notice in the log is not news to a member that just joined


async def run_member(
    group: Group, config: Config, broadcaster: Broadcaster, stop: anyio.Event, *, task_status: TaskStatus[None]
) -> None:
    """Watch the files as the group's leader, or apply the leader's log until this worker has to lead."""
    apply(broadcaster, group.read_new(), joining=True)  # the events so far: the same versions as the others
    if group.lead():
        broadcaster.journal = group.append
        await watch(config, broadcaster, stop, task_status.started)
        return
    quiet_startup(config)
    task_status.started()
    changes = awatch(
        group.folder,
        watch_filter=_is_log,
        step=STEP_MS,
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
        await watch(config, broadcaster, stop)


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
