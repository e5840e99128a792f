"""Code that runs as if it were fast_hot_reload's own (its file under the package), for the traceback rule's tests,
and the tracebacks a server's log holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fast_hot_reload._errors.frames import PACKAGE

LAYER_FILE = PACKAGE + "_web/layer_for_tests.py"  # never written: only its frames' file name lies in the package
LAYER = """
def call_through(handler):
    return handler()  # as our layers call the app

def raise_inside():
    raise RuntimeError("a bug of ours")
"""


def our_layer() -> dict[str, Callable[..., Any]]:
    """`call_through(handler)` and `raise_inside()`, whose frames are ours by their file name."""
    space: dict[str, Any] = {}
    exec(compile(LAYER, LAYER_FILE, "exec"), space)
    return {"call_through": space["call_through"], "raise_inside": space["raise_inside"]}


BLOCK_START = re.compile(r"^.*(Exception in ASGI application|Error in ASGI Framework)$", re.MULTILINE)
LOG_LINE = re.compile(r"^(INFO|WARNING|ERROR|DEBUG):|^\[\d{4}-", re.MULTILINE)  # uvicorn's or hypercorn's next line


def logged_tracebacks(log: str) -> list[str]:
    """Each traceback a server logged for an app's exception, from its first line to the next log line."""
    blocks = []
    for start in BLOCK_START.finditer(log):
        rest = log[start.end() :]
        end = LOG_LINE.search(rest)
        blocks.append(rest[: end.start() if end else len(rest)])
    return blocks
