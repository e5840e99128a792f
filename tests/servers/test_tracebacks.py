"""What a real server logs for the app's error: the app's frames and the exception, none of our layers' frames;
a bug raised inside our package keeps every frame (tests/apps/tracebacks)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .._support.servers import Server
from .._support.tracebacks import logged_tracebacks
from .._support.waiting import wait_for

OURS = "fast_hot_reload/"
APP_ERRORS = {  # route: what the logged traceback must still show
    "/syntax": [
        'main.py", line 20, in syntax',
        'templates/syntax.html", line 4, in template',
        "jinja2.exceptions.TemplateSyntaxError: Encountered unknown tag 'endif'.",
    ],
    "/undefined": [
        'main.py", line 25, in undefined',
        'templates/undefined.html", line 2, in top-level template code',
        "jinja2.exceptions.UndefinedError: 'user' is undefined",
    ],
    "/route": [
        'main.py", line 31, in load_user',
        "KeyError: 'bob'",
        "The above exception was the direct cause of the following exception:",
        'main.py", line 38, in route',
        "LookupError: no user bob",
    ],
}


def tracebacks_for(server: Server, routes: list[str]) -> list[str]:
    for route in routes:
        assert httpx.get(server.url + route, timeout=10).status_code == 500
    return wait_for(
        lambda: (found := logged_tracebacks(server.log())) and len(found) >= len(routes) and found,
        what=f"{len(routes)} tracebacks in the log",
    )


@pytest.mark.parametrize("command", ["uvicorn", "hypercorn"])
def test_the_logged_app_errors_show_no_frame_of_ours(serve: Any, command: str) -> None:
    server: Server = serve("tracebacks", command=command)
    found = tracebacks_for(server, list(APP_ERRORS))
    assert len(found) == len(APP_ERRORS), server.log()
    for (route, wanted), text in zip(APP_ERRORS.items(), found, strict=True):
        assert OURS not in text, f"{route}: {text}"
        assert "Traceback (most recent call last):" in text
        for line in wanted:
            assert line in text, f"{route}: {line!r} not in {text}"
        assert "starlette/routing.py" in text  # the server's and the framework's frames stay


@pytest.mark.parametrize("command", ["uvicorn", "hypercorn"])
def test_a_bug_raised_in_our_code_is_logged_with_every_frame(serve: Any, command: str) -> None:
    server: Server = serve("tracebacks", command=command)
    (text,) = tracebacks_for(server, ["/ours"])
    for frame in ("_web/outer.py", "_web/inner.py", "_errors/details.py", 'main.py", line 43, in ours'):
        assert frame in text, f"{frame!r} not in {text}"
    assert "AttributeError: 'NoneType' object has no attribute 'decode'" in text
