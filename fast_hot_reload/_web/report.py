"""A tab's console lines, uncaught errors and unhandled rejections, as one line each in the server's log."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from .tabs import Tab

logger = logging.getLogger("fast_hot_reload.browser")  # ours: the app's log lines to the tabs leave it out

CLIENT_BURST, CLIENT_RATE = 20, 2  # what report.js sends: 20 lines at once, then 2 a second
MAX_ENTRIES = 20  # entries in one report; the tab sends no more, and never more than its allowance
MAX_MESSAGE = 1000  # characters of one message
MAX_SHORT = 300  # characters of a page path or a source location
LEVELS = {"error": logging.ERROR, "warn": logging.WARNING}
KINDS = {"console": "console.{level}", "error": "uncaught error", "rejection": "unhandled rejection"}
SAY_DROPPED_EVERY = 0.5  # seconds between two lines counting what was dropped (a tab sends one a second)
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # one line each, with no terminal escapes


def one_line(value: object, limit: int) -> str:
    """Text a tab sent, safe for a terminal line: control characters escaped, cut to `limit` characters."""
    text = value if isinstance(value, str) else ""
    text = text[: limit * 2]  # the escapes below at most double the part that is kept
    text = UNPRINTABLE.sub(lambda m: "\\n" if m.group() == "\n" else f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_report(tab: Tab, report: dict[str, Any]) -> bool | None:
    """Log what a tab reported, within its allowance; None for a report of the wrong shape, else whether any of it
    was let through (a flood past the allowance gets one line saying how much was dropped, once it eases)."""
    entries = report.get("entries", [])
    dropped = report.get("dropped", 0)
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES or not _count(dropped):
        return None
    if not all(isinstance(entry, dict) for entry in entries):
        return None
    path = one_line(report.get("path"), MAX_SHORT) or "?"
    let_through = False
    for entry in entries:
        if tab.allow():
            logger.log(*_line(entry, path))
            let_through = True
    tab.dropped += dropped  # the tab's own count of what its allowance (the same as ours) held back
    now = time.monotonic()
    if tab.dropped and now - tab.said_at >= SAY_DROPPED_EVERY:
        tab.said_at = now
        _say_dropped(tab, path)
    return let_through or not entries


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**9


def _say_dropped(tab: Tab, path: str) -> None:
    logger.warning(
        "browser: %d console line%s dropped on %s (a tab sends %d at once, then %g a second)",
        tab.dropped,
        "" if tab.dropped == 1 else "s",
        path,
        CLIENT_BURST,
        CLIENT_RATE,
    )
    tab.dropped = 0


def _line(entry: dict[str, Any], path: str) -> tuple[int, str, str, str, str, str]:
    level = str(entry.get("level")) if entry.get("level") in LEVELS else "error"
    kind = KINDS.get(str(entry.get("kind")), KINDS["console"]).format(level=level)
    at = one_line(entry.get("at"), MAX_SHORT)
    return (
        LEVELS[level],
        "browser %s on %s: %s%s",
        kind,
        path,
        one_line(entry.get("message"), MAX_MESSAGE),
        (f"  (at {at})" if at else ""),
    )
