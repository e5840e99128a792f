"""Our runner (`fast-hot-reload main:app`) and uvicorn-hmr as real processes, with real websocket and SSE clients:
a Python save swaps the app in place (a new boot id, the untouched module's state kept), errors show and clear,
the fallback restarts, and uvicorn --reload's startup line points at the runner on Python 3.12+."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from .._support.clients import StreamEnded, listen, new_hello
from .._support.servers import Server, assert_clean_log
from .._support.waiting import eventually, wait_for

pytestmark = pytest.mark.anyio

try:
    import reactivity.hmr.core  # noqa: F401
except ImportError:
    HMR = False
else:
    HMR = True
needs_hmr = pytest.mark.skipif(
    not HMR, reason="hmr runs on Python 3.12+ only (pip install -e '.[test]' there: tests/run's newest venv)"
)
HINT = "fast-hot-reload main:app"


def page(server: Server) -> dict[str, str]:
    html = httpx.get(server.url + "/", timeout=5).text
    return dict(re.findall(r'<p id="(\w+)">([^<]*)</p>', html))


def new_token(server: Server, old: str) -> bool:
    """The page's token differs from `old`: a new process serves (the old one may close between two requests)."""
    try:
        return page(server)["token"] != old
    except httpx.TransportError:
        return False


def run(serve: Callable[..., Server], **options: object) -> Server:
    return serve("runner", command="fast-hot-reload", **options)


@needs_hmr
@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_python_save_swaps_the_app_in_place(serve: Callable[..., Server], transport: str) -> None:
    server = run(serve)
    before = page(server)
    assert before["message"] == "python-v1"
    async with listen(server, transport) as listener:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
        with pytest.raises((ConnectionClosed, StreamEnded)):
            await listener.next()  # the old app's stream ends, its restart notice last
    assert listener.restarted
    hello = await new_hello(server, listener.hello["boot"], transport)
    assert hello["version"] == 0
    after = page(server)
    assert after["message"] == "python-v2"
    assert after["token"] == before["token"], "state.py was not edited: it must not have run again"
    assert re.search(r"swapped in \d+ ms \(main\.py", server.log()), server.log()
    assert "restarting" not in server.log()
    assert_clean_log(server)


@needs_hmr
async def test_a_syntax_error_shows_over_the_page_and_the_fix_clears_it(serve: Callable[..., Server]) -> None:
    server = run(serve)
    async with listen(server) as listener:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1')
        error = await listener.next()
        assert error["type"] == "error" and error["details"]["kind"] == "syntax", error
        assert error["details"]["location"]["file"] == "main.py", error
        assert page(server)["message"] == "python-v1", "the previous app goes on serving"
        server.edit("main.py", 'MESSAGE = "python-v1', 'MESSAGE = "python-v3"')
    await new_hello(server, listener.hello["boot"])
    assert page(server)["message"] == "python-v3"


@needs_hmr
@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_a_tab_opened_while_a_rerun_error_stands_gets_it(serve: Callable[..., Server], transport: str) -> None:
    """The old app goes on serving after a rerun fails: a page opened then must say why its edit did not land."""
    server = run(serve)
    async with listen(server, transport) as first:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1"\nraise RuntimeError("half built")')
        assert (await first.next())["type"] == "error"
    async with listen(server, transport) as late:
        error = await late.next()
        assert error["type"] == "error" and "half built" in error["details"]["message"], error
    server.edit("main.py", '\nraise RuntimeError("half built")', "")
    await new_hello(server, late.hello["boot"], transport)
    async with listen(server, transport) as after_fix:
        with pytest.raises(TimeoutError):
            await after_fix.next(0.5)  # the fix took it away: nothing stands
    assert page(server)["message"] == "python-v1"


@needs_hmr
async def test_an_exception_while_rerunning_shows_and_the_fix_clears_it(serve: Callable[..., Server]) -> None:
    server = run(serve)
    async with listen(server) as listener:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1"\nraise RuntimeError("half built")')
        error = await listener.next()
        assert error["type"] == "error" and error["details"]["kind"] == "exception", error
        assert "half built" in error["details"]["message"], error
        assert page(server)["message"] == "python-v1", "never swapped to a half-built app"
        server.edit("main.py", '\nraise RuntimeError("half built")', "")
    await new_hello(server, listener.hello["boot"])
    assert page(server)["message"] == "python-v1"
    assert "raised on rerun; the previous app goes on serving" in server.log()


@needs_hmr
async def test_a_change_hmr_cannot_follow_restarts_the_process(serve: Callable[..., Server]) -> None:
    server = run(serve, args=["--reload-include", "*.cfg"])
    token = page(server)["token"]
    (server.root / "settings.cfg").write_text("a = 1\n")  # included, but no module reads it
    wait_for(lambda: "restarting: settings.cfg changed" in server.log(), what="the restart line")
    wait_for(lambda: new_token(server, token), timeout=20, what="the new process")
    assert server.process.poll() is None


@needs_hmr
def test_ctrl_c_stops_the_runner_with_clients_open(serve: Callable[..., Server]) -> None:
    server = run(serve)
    with httpx.stream("GET", server.url + "/__hot_reload/events", timeout=5) as stream:
        assert stream.status_code == 200
        server.interrupt()
        server.process.wait(timeout=10)
    assert server.process.returncode in (0, 1, -2), server.log()
    assert_clean_log(server)


@pytest.mark.skipif(HMR, reason="hmr is installed here: the runner swaps in place (the tests above)")
async def test_without_hmr_the_runner_restarts_as_uvicorn_reload(serve: Callable[..., Server]) -> None:
    server = run(serve)
    assert "restarting on each save instead" in server.log()
    async with listen(server) as listener:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    await new_hello(server, listener.hello["boot"])
    assert page(server)["message"] == "python-v2"
    assert HINT not in server.log(), "no hint to use the runner while under it"


async def test_uvicorn_reload_points_at_the_runner_on_python_3_12(serve: Callable[..., Server]) -> None:
    server = serve("runner")
    await eventually(lambda: "fast-hot-reload: watching" in server.log())
    assert (HINT in server.log()) == (sys.version_info >= (3, 12)), server.log()
    server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    wait_for(lambda: server.log().count("fast-hot-reload: watching") == 2, timeout=20, what="the restart")
    assert server.log().count(HINT) <= 1, "said once, not at every restart"


@needs_hmr
async def test_uvicorn_hmr_swaps_modules_and_the_tabs_follow(serve: Callable[..., Server]) -> None:
    server = serve("runner", command="uvicorn-hmr")
    before = page(server)
    async with listen(server) as listener:
        server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
        # its server restarts in place: our stream ends (a log line of its restart may come first)
        with pytest.raises((ConnectionClosed, StreamEnded)):
            while True:
                await listener.next()
    wait_for(lambda: server.answers() and page(server)["message"] == "python-v2", timeout=20, what="the new app")
    async with listen(server) as again:
        assert again.hello["boot"] != listener.hello["boot"], "a new server: the tabs refresh"
    assert page(server)["token"] == before["token"], "uvicorn-hmr reruns main.py alone"
    assert HINT not in server.log()
