"""The traceback rule: our frames are left out of the app's error, unless it was raised in our code."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest

from fast_hot_reload._errors.describe import describe_exception
from fast_hot_reload._errors.frames import PACKAGE, app_stack, app_traceback, keeps_ours, ours
from fast_hot_reload._server.tracebacks import ERROR_LOGGERS, AppTracebacks, app_tracebacks

from .._support.tracebacks import LAYER_FILE, our_layer


def caught(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing raised")


def app_route() -> None:
    raise ValueError("the app's own bug")


def frame(filename: str) -> traceback.FrameSummary:
    return traceback.FrameSummary(filename, 1, "f", line="")


def test_which_files_are_ours() -> None:
    assert ours(PACKAGE + "_web/outer.py") and ours(LAYER_FILE)
    assert not ours(__file__) and not ours(logging.__file__)


@pytest.mark.parametrize(
    ("files", "kept"),
    [
        ([], False),
        (["server.py", PACKAGE + "outer.py", "main.py"], False),  # the app raised: ours go
        (["server.py", PACKAGE + "outer.py", PACKAGE + "inner.py"], True),  # we raised: everything stays
        ([PACKAGE + "outer.py", "jinja2/environment.py"], False),  # a library raised: ours go
    ],
)
def test_our_frames_stay_only_when_we_raised(files: list[str], kept: bool) -> None:
    assert keeps_ours(files) is kept
    stack = traceback.StackSummary.from_list([frame(f) for f in files])
    assert [f.filename for f in app_stack(stack)] == (files if kept else [f for f in files if not ours(f)])


def test_the_app_error_is_printed_without_our_frames_and_its_traceback_is_untouched() -> None:
    layer = our_layer()
    exc = caught(lambda: layer["call_through"](app_route))
    text = app_traceback(exc)
    assert PACKAGE not in text and "in call_through" not in text
    assert 'in app_route\n    raise ValueError("the app\'s own bug")' in text
    assert text.endswith("ValueError: the app's own bug")
    assert text == text.strip() and text.startswith("Traceback (most recent call last):")
    assert LAYER_FILE in [f.filename for f in traceback.extract_tb(exc.__traceback__)]  # the exception's own


def test_causes_and_contexts_lose_our_frames_too() -> None:
    layer = our_layer()

    def handled() -> None:
        try:
            layer["call_through"](app_route)
        except ValueError as error:
            raise LookupError("while handling it") from error

    def during() -> None:
        try:
            layer["call_through"](handled)
        except LookupError:
            layer["call_through"](lambda: {}["missing"])

    text = app_traceback(caught(lambda: layer["call_through"](during)))
    assert PACKAGE not in text
    assert "The above exception was the direct cause of the following exception:" in text
    assert "During handling of the above exception, another exception occurred:" in text
    for line in ("ValueError: the app's own bug", "LookupError: while handling it", "KeyError: 'missing'"):
        assert line in text


def test_a_bug_raised_in_our_code_keeps_every_frame() -> None:
    layer = our_layer()
    exc = caught(lambda: layer["call_through"](layer["raise_inside"]))
    text = app_traceback(exc)
    assert text.count(LAYER_FILE) == 2 and "in call_through" in text and "in raise_inside" in text
    frames = describe_exception(exc, ())["frames"]
    assert [f["function"] for f in frames][-3:] == ["<lambda>", "call_through", "raise_inside"]


def test_the_overlay_details_leave_our_frames_out_of_the_app_error() -> None:
    layer = our_layer()
    frames = describe_exception(caught(lambda: layer["call_through"](app_route)), ())["frames"]
    assert [f["function"] for f in frames] == ["caught", "<lambda>", "app_route"]


def test_the_filter_gives_the_formatter_the_trimmed_text_and_lets_every_record_through() -> None:
    layer = our_layer()
    exc = caught(lambda: layer["call_through"](app_route))
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), None)
    record.exc_info = (type(exc), exc, exc.__traceback__)
    plain = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", (), None)
    assert AppTracebacks().filter(record) and AppTracebacks().filter(plain)
    printed = logging.Formatter("%(message)s").format(record)
    assert printed == "Exception in ASGI application\n" + app_traceback(exc)
    assert plain.exc_text is None and logging.Formatter("%(message)s").format(plain) == "Started"


def test_the_filter_is_on_the_servers_error_loggers_only_while_the_block_runs() -> None:
    def ours_on(name: str) -> bool:
        return any(isinstance(f, AppTracebacks) for f in logging.getLogger(name).filters)

    with app_tracebacks():
        assert all(ours_on(name) for name in ERROR_LOGGERS)
        assert not ours_on("") and not ours_on("uvicorn.access")
    assert not any(ours_on(name) for name in ERROR_LOGGERS)
