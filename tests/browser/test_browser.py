"""Real-browser tests: headless Chromium on pages served by a real `uvicorn --reload` (or `fastapi dev`).

Every edit writes a real file in the served app folder; every wait is a condition with a deadline.
Each edit test prints `[latency] <what>: <ms>` (file write to the page showing the change): run with
`-s` to see them.
"""

from __future__ import annotations

import re
import socket
import threading
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from .._support.browser import (
    BADGE,
    CONNECTED,
    MODES,
    PREFIX,
    REFRESHED,
    TIMEOUT,
    css_edit_swaps,
    edit,
    latency,
    open_tab,
)
from .._support.servers import Server
from .._support.waiting import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.browser

RECONNECT_RE = re.compile(r"^\[Hot Reload\] Reconnecting in \d+(\.\d+)? seconds\.\.\.$")


def hot_reload_connections(server: Server) -> int:
    """Hot reload connections the server holds now (its access log leaves ours out)."""
    count: int = httpx.get(server.url + "/subscribers", timeout=5).json()
    return count


class Refuser:
    """Listens on a port where a server used to be, accepting and dropping every attempt (counted)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.attempts = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.attempts += 1
            conn.close()

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)


# ---- template, stylesheet and Python edits ----


@pytest.mark.parametrize("mode", MODES)
def test_template_edit_reloads_page(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    updates = tab.updates()
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    tab.wait_text("title", "template-v2")
    latency(f"template edit ({mode})", started)
    assert tab.updates() == updates + 1
    tab.wait_connected()


@pytest.mark.parametrize("mode", MODES)
def test_css_edit_swaps_stylesheet_without_reload(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    assert tab.page.evaluate("getComputedStyle(document.getElementById('title')).color") == "rgb(0, 0, 255)"
    css_edit_swaps(tab, server, "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(255, 0, 0)", f"css swap ({mode})")
    # a second edit swaps the swapped sheet again
    css_edit_swaps(tab, server, "rgb(255, 0, 0)", "rgb(0, 128, 0)", "rgb(0, 128, 0)", f"css swap again ({mode})")
    assert any(line.startswith(f"{PREFIX} Stylesheet swapped: ") for line in tab.logs)


@pytest.mark.parametrize("mode", MODES)
def test_python_edit_reloads_after_restart(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    assert tab.text("message") == "python-v1"
    updates = tab.updates()
    started = edit(server, "main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    tab.wait_text("message", "python-v2")
    latency(f"python edit, uvicorn --reload ({mode})", started)
    assert tab.updates() == updates + 1
    assert f"{PREFIX} Refreshed: the server restarted" in tab.logs


@pytest.mark.parametrize("mode", MODES)
def test_no_reload_loop(serve: Any, context: BrowserContext, mode: str) -> None:
    """After one reload the page matches the server: later events (a CSS swap here) cause no navigation."""
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    updates = tab.updates()
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    tab.wait_text("title", "template-v2")
    latency(f"template edit before loop check ({mode})", started)
    tab.wait_connected()
    # the swap is a known event that arrives after any spurious reload would have started
    css_edit_swaps(tab, server, "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(255, 0, 0)", f"css swap ({mode})")
    assert tab.updates() == updates + 1, tab.navigations
    assert tab.count(f"{PREFIX} Refreshed: templates/index.html") == 1


# ---- many tabs: one shared connection ----


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_ten_tabs_share_one_connection_and_all_update(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tabs = [open_tab(context, server.url) for _ in range(10)]  # a 7th SSE stream per tab would hang here
    wait_for(lambda: hot_reload_connections(server) >= 1, what="the connection")
    assert hot_reload_connections(server) == 1, server.log()
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    for tab in tabs:
        tab.wait_text("title", "template-v2")
    latency(f"template edit, all of 10 tabs ({mode})", started)
    for tab in tabs:
        tab.wait_connected()
        assert tab.count(f"{PREFIX} Refreshed: templates/index.html") == 1


# ---- other ways to run ----


def test_manual_wiring_reloads_on_template_edit(serve: Any, context: BrowserContext) -> None:
    server: Server = serve(env={"FHR_MODE": "manual"})
    tab = open_tab(context, server.url)
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    tab.wait_text("title", "template-v2")
    latency("template edit (manual wiring, ws)", started)
    tab.wait_connected()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_fastapi_dev_reloads_on_template_and_python_edits(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode}, command="fastapi")
    tab = open_tab(context, server.url)
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    tab.wait_text("title", "template-v2")
    latency(f"template edit, fastapi dev ({mode})", started)
    tab.wait_connected()
    started = edit(server, "main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    tab.wait_text("message", "python-v2")
    latency(f"python edit, fastapi dev ({mode})", started)
    assert tab.text("title") == "template-v2"
    assert f"{PREFIX} Refreshed: the server restarted" in tab.logs


# ---- console lines and the status badge ----


@pytest.mark.parametrize("mode", MODES)
def test_console_messages_and_badge_when_server_is_gone(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    assert tab.logs.count(CONNECTED) == 1
    assert tab.page.query_selector(BADGE) is None
    server.stop()
    refuser = Refuser(server.port)  # every reconnect attempt now reaches us and is dropped
    try:
        tab.page.wait_for_selector(BADGE, state="attached", timeout=TIMEOUT * 1000)
        # the server said it stops: the tab retries quietly at a steady pace for a restart's while, then backs off
        # and says so; many attempts (the interval is 1 s, the fast retries far shorter): it must not repeat
        tab.until(lambda: any("Reconnecting" in line for line in tab.logs), what="the reconnect message")
        seen = refuser.attempts
        tab.until(lambda: refuser.attempts >= seen + 4, what="4 more reconnect attempts")
    finally:
        refuser.close()
    reconnects = [line for line in tab.logs if "Reconnecting" in line]
    print(f"[console] {mode}: {refuser.attempts} attempts, lines: {reconnects}")
    assert 1 <= len(reconnects) <= 3, tab.logs
    assert all(RECONNECT_RE.match(line) for line in reconnects), reconnects
    assert not any("${reconnectInterval}" in line for line in tab.logs)
    assert tab.page.evaluate("location.href") == server.url + "/"
    assert tab.text("title") == "template-v1"


# ---- refreshed in place, or reloaded in full ----


@pytest.mark.parametrize("mode", MODES)
def test_plain_page_is_refreshed_in_place_keeping_scroll(serve: Any, context: BrowserContext, mode: str) -> None:
    """A page without scripts of its own gets its body swapped: no navigation, scroll and JS state kept."""
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    tab.page.evaluate("window.scrollTo(0, 1000); window.marker = 1")
    navigations = len(tab.navigations)
    for old, new in (("template-v1", "template-v2"), ("template-v2", "template-v3")):
        started = edit(server, "templates/index.html", old, new)
        tab.wait_text("title", new)
        latency(f"template edit, refreshed in place ({mode})", started)
    assert tab.page.evaluate("[window.marker, window.scrollY]") == [1, 1000]
    assert len(tab.navigations) == navigations
    assert tab.count(f"{REFRESHED}templates/index.html") == 2


def test_title_and_head_edits_are_refreshed_in_place(serve: Any, context: BrowserContext) -> None:
    """Only a changed script set needs a fresh page: a title or a new meta tag is morphed in."""
    server: Server = serve()
    tab = open_tab(context, server.url)
    tab.page.evaluate("window.marker = 1")
    navigations = len(tab.navigations)
    server.edit("templates/index.html", "<title>site</title>", "<title>site v2</title>")
    tab.page.wait_for_function("document.title === 'site v2'", timeout=TIMEOUT * 1000)
    server.edit("templates/index.html", '<meta charset="utf-8">', '<meta charset="utf-8"><meta name="x" content="y">')
    tab.page.wait_for_selector('meta[name="x"]', state="attached", timeout=TIMEOUT * 1000)
    assert tab.page.evaluate("window.marker") == 1 and len(tab.navigations) == navigations
    assert tab.count(f"{REFRESHED}templates/index.html") == 2


def test_page_with_scripts_is_morphed_until_its_scripts_change(serve: Any, context: BrowserContext) -> None:
    server: Server = serve()
    tab = open_tab(context, server.url + "/scripted")
    tab.page.evaluate("window.marker = 1")
    navigations = len(tab.navigations)
    server.edit("templates/scripted.html", "scripted-v1", "scripted-v2")
    tab.wait_text("title", "scripted-v2")
    assert tab.page.evaluate("[window.marker, window.pageScript]") == [1, 1]  # in place: the script did not run again
    assert len(tab.navigations) == navigations
    server.edit("templates/scripted.html", "window.pageScript || 0) + 1", "window.pageScript || 0) + 2")
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a full reload for a changed script")
    tab.page.wait_for_function("window.pageScript === 2", timeout=TIMEOUT * 1000)  # a fresh page ran the new one
    assert tab.page.evaluate("window.marker ?? null") is None
    assert f"{PREFIX} Reloading: templates/scripted.html (its scripts changed)" in tab.logs


def test_image_edit_refreshes_it_in_place(serve: Any, context: BrowserContext) -> None:
    server: Server = serve()
    tab = open_tab(context, server.url)
    tab.page.evaluate("window.marker = 1")
    navigations = len(tab.navigations)
    server.edit("static/dot.svg", 'fill="red"', 'fill="blue"')
    tab.page.wait_for_function("document.getElementById('dot').src.includes('_fhr=')", timeout=TIMEOUT * 1000)
    assert tab.page.evaluate("window.marker") == 1 and len(tab.navigations) == navigations
    assert f"{PREFIX} Images refreshed: static/dot.svg" in tab.logs


def test_host_override_builds_the_websocket_url(serve: Any, context: BrowserContext) -> None:
    """Page on 127.0.0.1, websocket told to go to `localhost`: it connects there (an accepted alias)."""
    server: Server = serve(env={"FHR_WS_HOST": "localhost"})
    tab = open_tab(context, server.url)
    client_js = httpx.get(server.url + "/__hot_reload/client.js", timeout=5).text
    assert '"wsHost": "localhost"' in client_js
    server.edit("templates/index.html", "template-v1", "template-v2")
    tab.wait_text("title", "template-v2")
    assert not any("server-sent events" in line for line in tab.logs)  # no fallback: the websocket worked
    assert hot_reload_connections(server) == 1


# ---- what a LAN client, a big build and a latin-1 page get ----


@pytest.mark.parametrize("mode", MODES)
def test_a_build_that_rewrites_many_stylesheets_restyles_the_page(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    """More stylesheets than an event names (50): the tab swaps every sheet rather than none."""
    server: Server = serve(env={"FHR_MODE": mode})
    built = server.root / "static" / "built"
    built.mkdir()
    for n in range(70):
        (built / f"part{n:02d}.css").write_text("p { margin: 0 }")
    tab = open_tab(context, server.url)
    tab.page.evaluate("window.marker = 1")
    for n in range(70):  # a build's output, all at once, the page's own sheet last
        (built / f"part{n:02d}.css").write_text("p { margin: 1px }")
    server.edit("static/style.css", "rgb(0, 0, 255)", "rgb(255, 0, 0)")
    tab.page.wait_for_function(
        "getComputedStyle(document.getElementById('title')).color === 'rgb(255, 0, 0)'", timeout=TIMEOUT * 1000
    )
    assert tab.page.evaluate("window.marker") == 1, "the page reloaded"
    swapped = [line for line in tab.logs if line.startswith(f"{PREFIX} Stylesheet swapped: ")]
    print(f"[many stylesheets] {swapped[:2]}")


@pytest.mark.parametrize("mode", MODES)
def test_a_latin1_page_is_morphed_without_mojibake(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url + "/latin1")
    tab.page.fill("#field", "typed é")
    tab.page.evaluate("window.marker = 1")
    server.edit("templates/latin1.html", "Café crème v1", "Café crème v2")
    tab.wait_text("title", "Café crème v2")
    assert tab.text("word") == "über naïve"
    assert tab.page.input_value("#field") == "typed é" and tab.page.evaluate("window.marker") == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_lan_browser_is_told_that_details_stay_on_the_servers_machine(serve: Any, browser: Any, mode: str) -> None:
    """Seen from another address (here through X-Forwarded-For, which uvicorn trusts from 127.0.0.1)."""
    server: Server = serve(env={"FHR_MODE": mode})
    lan = browser.new_context(extra_http_headers={"X-Forwarded-For": "192.168.1.50"})
    try:
        tab = open_tab(lan, server.url + "/boom")
        overlay = tab.until(
            lambda: tab.page.evaluate(
                "document.querySelector('fast-hot-reload-overlay')?.shadowRoot?.textContent || ''"
            ),
            what="the overlay",
        )
        assert "192.168.1.50" in overlay and "trusted_clients" in overlay
        assert "boom with" not in overlay and "main.py" not in overlay
        tab.until(lambda: any("shown only to browsers on the server's own machine" in line for line in tab.logs))
        assert not any("boom with" in line for line in tab.logs), tab.logs
        edit_python = server.edit  # the fix: the route works again, and the tab shows it by itself
        edit_python("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
        tab.wait_text("message", "python-v2")
    finally:
        lan.close()
