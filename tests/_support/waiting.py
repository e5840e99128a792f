"""Waiting for a condition, up to a deadline: in a plain test (`wait_for`) and in an async one (`eventually`)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import anyio


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


async def eventually(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """The async twin of wait_for: poll `condition` (sync or async) until truthy, fail after `timeout`."""
    try:
        with anyio.fail_after(timeout):
            while True:
                result = condition()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result
                await anyio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}") from None
