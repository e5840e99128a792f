"""Errors never strand a tab: each kind shows on the page over what the tab had, and the fix brings it back by itself.

Real-shaped app (tests/apps/real), real `uvicorn --reload`, headless Chromium, both transports, debug off and on.
Each test prints `[latency] <what>: <ms>` from the fix's save to the page being fixed: run with `-s` to see them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from .._support.browser import KEPT, MODES, PREFIX, READ_STATE, TIMEOUT, Tab, edit, home, latency, logged_in, open_tab
from .._support.servers import Server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.browser

DEBUG = ["debug-off", "debug-on"]
RESTART = 30.0  # seconds: a Python edit restarts the server, twice in some tests

OVERLAY_TEXT = """() => {
    const host = document.querySelector("fast-hot-reload-overlay");
    return host && host.shadowRoot ? host.shadowRoot.textContent : null;
}"""

# (file, old, new, what the overlay must name): each breaks the home page's template in its own way
TEMPLATE_ERRORS = {
    "syntax": ("templates/index.html", "{% block content %}", "{% block content %}{% if %}", "TemplateSyntaxError"),
    "undefined": ("templates/index.html", "{{ message }}", "{{ user.name.first }}", "UndefinedError"),
    "missing-include": (
        "templates/index.html",
        '{% include "partials/form.html" %}',
        '{% include "partials/missing.html" %}',
        "partials/missing.html",
    ),
}


def serve_real(serve: Any, mode: str, debug: str) -> Server:
    server: Server = serve("real", env={"FHR_MODE": mode, "FHR_DEBUG": "1" if debug == "debug-on" else "0"})
    return server


def overlay(tab: Tab) -> str | None:
    text: str | None = tab.page.evaluate(OVERLAY_TEXT)
    return text


def wait_overlay(tab: Tab, *needles: str, timeout: float = TIMEOUT) -> str:
    text: str = tab.until(
        lambda: (shown := overlay(tab)) and all(n in shown for n in needles) and shown,
        timeout,
        f"the overlay naming {needles}",
    )
    return text


def wait_no_overlay(tab: Tab, timeout: float = TIMEOUT) -> None:
    tab.until(lambda: overlay(tab) is None, timeout, "the overlay to go")


@pytest.mark.parametrize("debug", DEBUG)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(TEMPLATE_ERRORS))
def test_template_error_shows_over_the_page_and_the_fix_clears_it(
    serve: Any, context: BrowserContext, mode: str, debug: str, kind: str
) -> None:
    server = serve_real(serve, mode, debug)
    tab = home(context, server)
    navigations = len(tab.navigations)
    relative, old, new, needle = TEMPLATE_ERRORS[kind]
    edit(server, relative, old, new)
    text = wait_overlay(tab, needle, "templates/index.html")
    assert tab.text("title") == "home-v1" and tab.page.evaluate(READ_STATE) == KEPT  # the last good page stays
    assert len(tab.navigations) == navigations
    assert any(line.startswith(PREFIX) and needle in line for line in tab.logs), tab.logs  # the console, once
    if kind != "missing-include":
        assert re.search(r"\b\d+\b", text.split("templates/index.html", 1)[1])  # a line number after the file
    fixed = edit(server, relative, new, old.replace("home-v1", "home-v2"))
    edit(server, "templates/index.html", "home-v1", "home-v2")  # the fix and another change, in two saves
    tab.wait_text("title", "home-v2")
    latency(f"template error fixed ({kind}, {mode}, {debug})", fixed)
    wait_no_overlay(tab)
    assert tab.page.evaluate(READ_STATE) == KEPT and len(tab.navigations) == navigations


@pytest.mark.parametrize("debug", DEBUG)
@pytest.mark.parametrize("mode", MODES)
def test_navigation_to_a_failing_route_shows_the_error_and_recovers(
    serve: Any, context: BrowserContext, mode: str, debug: str
) -> None:
    server = serve_real(serve, mode, debug)
    tab = open_tab(logged_in(context), server.url + "/boom")
    text = wait_overlay(tab, "RuntimeError", "<img src=x onerror=window.pwned=1>", "main.py")
    assert "boom" in text
    assert tab.page.evaluate("window.pwned ?? null") is None  # the message is text, not markup
    images = "document.querySelector('fast-hot-reload-overlay').shadowRoot.querySelector('img')"
    assert tab.page.evaluate(images) is None
    fixed = edit(server, "main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    tab.wait_text("message", "python-v2", timeout=RESTART)
    latency(f"route error fixed by a Python edit ({mode}, {debug})", fixed)
    wait_no_overlay(tab)


@pytest.mark.parametrize("mode", MODES)
def test_route_error_logged_by_the_server_reaches_the_console(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode, "debug-off")
    tab = home(context, server)
    assert httpx.get(server.url + "/api/boom", cookies={"session": "yes"}, timeout=5).status_code == 500
    line = tab.until(
        lambda: next((line for line in tab.logs if line.startswith(f"{PREFIX} server: ERROR")), None),
        what="the server's error line in the console",
    )
    assert "Exception in ASGI application" in line and "an API route that fails" in line and "main.py" in line
    assert tab.page.evaluate(READ_STATE) == KEPT  # only a console line: the page is untouched


@pytest.mark.parametrize("debug", DEBUG)
def test_api_clients_get_the_apps_own_500(serve: Any, debug: str) -> None:
    server = serve_real(serve, "ws", debug)
    for accept in ("application/json", "*/*"):
        headers = {"accept": accept}
        response = httpx.get(server.url + "/api/boom", cookies={"session": "yes"}, headers=headers, timeout=5)
        assert response.status_code == 500
        assert "fast-hot-reload" not in response.text and "__hot_reload" not in response.text
        if debug == "debug-off":
            assert response.text == "Internal Server Error"
    page = httpx.get(server.url + "/api/boom", cookies={"session": "yes"}, headers={"accept": "text/html"}, timeout=5)
    assert page.status_code == 500 and 'id="fast-hot-reload-error"' in page.text  # a browser's page gets ours


@pytest.mark.parametrize("mode", MODES)
def test_python_syntax_error_shows_at_once_and_the_fix_updates_the_page(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    server = serve_real(serve, mode, "debug-off")
    tab = home(context, server)
    navigations = len(tab.navigations)
    edit(server, "main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1" +')
    text = wait_overlay(tab, "SyntaxError", "main.py")
    assert 'MESSAGE = "python-v1" +' in text  # the source around the error
    assert tab.text("title") == "home-v1" and tab.page.evaluate(READ_STATE) == KEPT
    fixed = edit(server, "main.py", 'MESSAGE = "python-v1" +', 'MESSAGE = "python-v2"')
    tab.wait_text("message", "python-v2", timeout=RESTART)
    latency(f"python syntax error fixed ({mode})", fixed)
    wait_no_overlay(tab)
    assert tab.page.evaluate(READ_STATE) == KEPT and len(tab.navigations) == navigations


@pytest.mark.parametrize("mode", MODES)
def test_import_error_says_the_server_has_not_come_back(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode, "debug-off")
    tab = home(context, server)
    edit(server, "main.py", "from fast_hot_reload import", "import no_such_module\nfrom fast_hot_reload import")
    wait_overlay(tab, "has not come back", "terminal", timeout=RESTART)
    assert any(re.match(r"^\[Hot Reload\] Reconnecting in \d+(\.\d+)? seconds\.\.\.$", line) for line in tab.logs)
    assert tab.page.evaluate(READ_STATE) == KEPT
    fixed = edit(server, "main.py", "import no_such_module\n", "")
    edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2", timeout=RESTART)
    latency(f"import error fixed ({mode})", fixed)
    wait_no_overlay(tab)
