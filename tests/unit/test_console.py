"""The app's warnings and errors, sent to the tabs' consoles: one line each, a flood thinned, ours left out."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import anyio
import pytest

from fast_hot_reload._errors import console as _console
from fast_hot_reload._errors.console import BURST, browser_console
from fast_hot_reload._events.broadcaster import Broadcaster

pytestmark = pytest.mark.anyio


def lines(broadcaster: Broadcaster) -> list[dict[str, str]]:
    found, seq = [], 0
    while (notice := broadcaster.notice_after(seq)) is not None:
        found.append(json.loads(notice.text))
        seq = notice.seq
    return found


async def test_warnings_and_errors_reach_the_tabs_with_a_short_traceback(tmp_path: Path) -> None:
    broadcaster = Broadcaster()
    with browser_console(broadcaster, (Path(__file__).parent,)):
        logging.getLogger("app").info("not sent: below WARNING")
        logging.getLogger("app").warning("disk almost full")
        try:
            raise KeyError("user")
        except KeyError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")
        logging.getLogger("fast_hot_reload.x").error("ours: never sent, or a failing send could loop")
    logging.getLogger("app").error("after the block: not sent")
    sent = lines(broadcaster)
    assert [(line["type"], line["level"]) for line in sent] == [("server-log", "warning"), ("server-log", "error")]
    assert sent[0]["text"] == "WARNING app: disk almost full"
    first, *frames, last = sent[1]["text"].splitlines()
    assert first == "ERROR uvicorn.error: Exception in ASGI application"
    assert frames and "test_console.py" in frames[-1] and "raise KeyError" in frames[-1]
    assert last == "KeyError: 'user'"


async def test_a_flood_is_thinned_and_says_how_much_was_held_back(monkeypatch: pytest.MonkeyPatch) -> None:
    broadcaster = Broadcaster()
    clock = [1000.0]
    monkeypatch.setattr("fast_hot_reload._errors.allowance.time.monotonic", lambda: clock[0])
    with browser_console(broadcaster, ()):
        for n in range(BURST + 30):
            logging.getLogger("app").warning("line %d", n)
        clock[0] += _console.REFILL  # one more line's worth of time
        logging.getLogger("app").warning("later")
    sent = [line["text"] for line in lines(broadcaster)]
    assert len(sent) == BURST + 1
    assert sent[-1] == "(30 more lines were held back) WARNING app: later"


async def test_a_record_from_another_thread_is_handed_to_the_loop() -> None:
    broadcaster = Broadcaster()
    with browser_console(broadcaster, ()):
        thread = threading.Thread(target=lambda: logging.getLogger("app").error("from a sync route"))
        thread.start()
        thread.join()
        with anyio.fail_after(5):
            while not lines(broadcaster):
                await anyio.sleep(0.01)  # the loop runs the handed-over send on its next turn
    assert lines(broadcaster)[0]["text"] == "ERROR app: from a sync route"
