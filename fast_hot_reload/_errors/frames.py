"""Which frames of a traceback are the app's story: ours (the layers, the Jinja hook) are left out of it, unless
the exception was raised in our code, where a bug of ours must be found with every frame."""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from pathlib import Path

PACKAGE = str(Path(__file__).parent.parent) + os.sep  # the whole package: our frames are not the app's


def ours(filename: str) -> bool:
    return filename.startswith(PACKAGE)


def keeps_ours(filenames: Sequence[str]) -> bool:
    """Whether a traceback through these files (outermost first) keeps our frames: raised in our code."""
    return bool(filenames) and ours(filenames[-1])


def app_stack(stack: traceback.StackSummary) -> traceback.StackSummary:
    """The stack without our frames, or all of it when the exception was raised in our code."""
    if keeps_ours([frame.filename for frame in stack]):
        return stack
    return traceback.StackSummary.from_list([frame for frame in stack if not ours(frame.filename)])


def app_traceback(exc: BaseException) -> str:
    """The exception as `traceback.format_exception` prints it, its causes and contexts too, without our frames.

    The exception's own traceback is left as it is: only the printed copy is trimmed.
    """
    summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _trim(summary, set())
    return "".join(summary.format()).rstrip("\n")


def _trim(summary: traceback.TracebackException, seen: set[int]) -> None:
    if id(summary) in seen:
        return
    seen.add(id(summary))
    summary.stack = app_stack(summary.stack)
    linked = [summary.__cause__, summary.__context__, *(getattr(summary, "exceptions", None) or ())]
    for other in linked:
        if other is not None:
            _trim(other, seen)
