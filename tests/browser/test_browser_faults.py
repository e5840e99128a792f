"""Real-browser tests of things going wrong: syntax errors, dropped connections, restart storms, CSP.

Helpers come from tests/_support/browser.py; run with `-s` to see the `[latency]` lines.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from .._support.browser import BADGE, CONNECTED, MODES, REFRESHED, TIMEOUT, css_edit_swaps, edit, latency, open_tab
from .._support.servers import Server
from .._support.waiting import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Route

pytestmark = pytest.mark.browser


HELLO = b'"type": "hello"'
NO_EXTENSIONS = re.compile(rb"(?im)^sec-websocket-extensions:[^\r\n]*\r\n")


def served_version(url: str) -> int:
    """The change version the server renders pages with right now (read from the injected tag)."""
    found = re.search(r'data-version="(\d+)"', httpx.get(url, timeout=5).text)
    assert found, "no hot reload tag in the page"
    return int(found.group(1))


class Proxy:
    """A TCP proxy in front of a server: `cut()` drops every connection and refuses new ones until `resume()`.

    It stands for the network going away while the server process (and its change counter) lives on.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.refusing = False
        self.refused = 0
        self.greetings = 0  # hot reload hellos passed on to the browser
        self.drop_after_hello = 0  # this many next connections are dropped right after their hello
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.refusing:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, target), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if data.startswith(b"GET "):  # no permessage-deflate: keep websocket text readable here
                    data = NO_EXTENSIONS.sub(b"", data)
                target.sendall(data)
                if HELLO in data:
                    with self._lock:
                        self.greetings += 1
                        drop, self.drop_after_hello = self.drop_after_hello > 0, max(self.drop_after_hello - 1, 0)
                    if drop:
                        break
        except OSError:
            pass  # one side went away: the finally below closes both
        finally:
            self._drop(source)
            self._drop(target)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):  # already shut
            sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv()
        sock.close()

    def cut(self) -> None:
        self.refusing = True
        self.reset()

    def reset(self) -> None:
        """Drop every open connection; new ones still go through."""
        with self._lock:
            live = list(self._sockets)
        for sock in live:
            self._drop(sock)

    def resume(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.cut()
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


def log_problems(server: Server) -> list[str]:
    return [line for line in server.log().splitlines() if "ERROR" in line or "Traceback" in line]


# ---- a syntax error: the page stays, the fix reloads it once ----


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", MODES)
def test_syntax_error_keeps_page_and_fix_reloads_once(serve: Any, context: BrowserContext, mode: str) -> None:
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    url, updates = tab.page.url, tab.updates()
    server.edit("main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v1')  # unterminated string
    wait_for(lambda: "SyntaxError" in server.log(), timeout=TIMEOUT, what="uvicorn to report the SyntaxError")
    tab.page.wait_for_selector(BADGE, state="attached", timeout=TIMEOUT * 1000)
    # still the old page, not a browser error page
    assert tab.page.url == url
    assert tab.page.evaluate("location.href") == url
    assert (tab.text("title"), tab.text("message")) == ("template-v1", "python-v1")
    assert tab.updates() == updates
    started = edit(server, "main.py", 'MESSAGE = "python-v1', 'MESSAGE = "python-fixed"')
    tab.wait_text("message", "python-fixed")
    latency(f"fix of a syntax error ({mode})", started)
    tab.wait_connected()
    assert tab.page.query_selector(BADGE) is None
    # a known later event: any second reload after the fix would have happened before this swap
    css_edit_swaps(tab, server, "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(255, 0, 0)", f"css swap after fix ({mode})")
    assert tab.updates() == updates + 1, tab.navigations


# ---- a change the client did not see is never lost ----


@pytest.mark.parametrize("mode", MODES)
def test_change_before_client_connects_updates_on_connect(serve: Any, context: BrowserContext, mode: str) -> None:
    """Page rendered at version N, template edited before its client connects: hello N+1 (with the last events)
    refreshes it in place."""
    server: Server = serve(env={"FHR_MODE": mode})
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()  # later loads (the SharedWorker's, the reload's) go straight through
        else:
            held.append(route)

    tab = open_tab(
        context,
        server.url,
        connected=False,
        setup=lambda page: page.route("**/__hot_reload/client.js*", hold_first),
        wait_until="commit",  # the deferred script holds back DOMContentLoaded and load
    )
    page = tab.page
    tab.until(lambda: held, what="the client script request")
    rendered = int(page.get_attribute("script[data-version]", "data-version") or "-1")
    assert rendered == served_version(server.url)
    started = edit(server, "templates/index.html", "template-v1", "template-v2")
    wait_for(lambda: served_version(server.url) > rendered, timeout=TIMEOUT, what="the server to see the edit")
    assert page.evaluate("document.getElementById('title').textContent") == "template-v1"
    held[0].continue_()
    tab.wait_text("title", "template-v2")
    latency(f"edit before connect, refreshed on hello ({mode})", started)
    assert f"{REFRESHED}templates/index.html" in tab.logs
    assert len(tab.navigations) == 1
    tab.wait_connected()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", MODES)
def test_change_while_disconnected_is_not_lost(serve: Any, context: BrowserContext, mode: str) -> None:
    """The network drops (the server lives on), a template changes, the network comes back: the tab catches up."""
    server: Server = serve(env={"FHR_MODE": mode})
    proxy = Proxy(server.port)
    try:
        tab = open_tab(context, proxy.url)
        updates = tab.updates()
        proxy.cut()
        tab.page.wait_for_selector(BADGE, state="attached", timeout=TIMEOUT * 1000)  # the client saw the drop
        rendered = served_version(server.url)
        started = edit(server, "templates/index.html", "template-v1", "template-v2")
        wait_for(lambda: served_version(server.url) > rendered, timeout=TIMEOUT, what="the server to see the edit")
        tab.until(lambda: proxy.refused >= 2, what="reconnect attempts during the outage")
        assert tab.text("title") == "template-v1"
        assert tab.updates() == updates
        proxy.resume()
        tab.wait_text("title", "template-v2")
        latency(f"edit during outage, refreshed on reconnect ({mode}, incl. backoff)", started)
        assert f"{REFRESHED}templates/index.html" in tab.logs  # in place, from the events the hello carries
        tab.page.wait_for_selector(BADGE, state="detached", timeout=TIMEOUT * 1000)
        css_edit_swaps(tab, server, "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(255, 0, 0)", f"css swap ({mode})")
        assert tab.updates() == updates + 1, tab.navigations
    finally:
        proxy.close()


# ---- a storm of restarts ----


class StaleTab(AssertionError):
    """A tab left on old code after restarts: the known loop-guard bug; any other failure is a real one."""


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", MODES)
def test_twenty_restarts_every_tab_ends_on_newest_code(serve: Any, context: BrowserContext, mode: str) -> None:
    """20 Python edits, each one a restart, as fast as uvicorn --reload restarts (0.6-0.8 s apart here)."""
    server: Server = serve(env={"FHR_MODE": mode})
    tab = open_tab(context, server.url)
    began = time.perf_counter()
    for i in range(2, 22):
        server.edit("main.py", f'MESSAGE = "python-v{i - 1}"', f'MESSAGE = "python-v{i}"')
        # each edit is a restart of its own: the server answers with it before the next edit
        wait_for(lambda i=i: api_message(server) == f"python-v{i}", timeout=TIMEOUT, what=f"python-v{i} to run")
    print(f"[restarts] {mode}: 20 restarts in {time.perf_counter() - began:.1f} s")
    assert server.log().count("Started server process") == 21
    assert log_problems(server) == [], server.log()
    try:
        tab.wait_text("message", "python-v21")
    except AssertionError as exc:
        if any("Not reloading again" in line for line in tab.logs):
            raise StaleTab(str(exc)) from None
        raise
    tab.wait_connected()
    assert len(tab.navigations) <= 21


def api_message(server: Server) -> str | None:
    try:
        return str(httpx.get(server.url + "/api", timeout=2).json()["message"])
    except (httpx.HTTPError, ValueError):
        return None  # restarting


class ReconnectStorm(AssertionError):
    """A reconnect that was not silent (the known bug); any other failure is a real one."""


@pytest.mark.parametrize("mode", MODES)
def test_server_that_greets_and_drops_is_not_hammered(serve: Any, context: BrowserContext, mode: str) -> None:
    """What the old process does for a moment during a uvicorn --reload restart: accept, say hello, drop."""
    server: Server = serve(env={"FHR_MODE": mode})
    proxy = Proxy(server.port)
    try:
        tab = open_tab(context, proxy.url)
        greetings = proxy.greetings
        began = time.perf_counter()
        proxy.drop_after_hello = 5
        proxy.reset()
        tab.until(lambda: proxy.greetings >= greetings + 6, what="five dropped greetings and a lasting one")
        print(f"[greet-and-drop] {mode}: 5 dropped connections in {(time.perf_counter() - began) * 1000:.0f} ms")
        server.edit("templates/index.html", "template-v1", "template-v2")
        tab.wait_text("title", "template-v2")  # connected again: a change still reloads
        tab.wait_connected()
        css_edit_swaps(tab, server, "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(255, 0, 0)", f"css swap ({mode})")
        if tab.count(CONNECTED) != len(tab.navigations):
            raise ReconnectStorm(f"{tab.count(CONNECTED)} x {CONNECTED!r} for {len(tab.navigations)} page loads")
    finally:
        proxy.close()


# ---- Content-Security-Policy with a nonce ----

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push(e.effectiveDirective + " " + e.blockedURI);
});
"""


@pytest.mark.parametrize("worker_src", ["'self'", "'none'"])
@pytest.mark.parametrize("mode", MODES)
def test_csp_nonce_page_connects_and_reloads(serve: Any, context: BrowserContext, mode: str, worker_src: str) -> None:
    """script-src 'nonce-abc123' only: the injected tag must carry the nonce to run at all.

    worker-src 'self' lets the SharedWorker run; 'none' blocks it and each tab connects by itself,
    under the page's connect-src 'self' (which covers ws: to the same host and port).
    """
    server: Server = serve(app="csp", env={"FHR_MODE": mode, "FHR_WORKER_SRC": worker_src})
    html = httpx.get(server.url).text
    assert '<script src="/__hot_reload/client.js?h=' in html
    assert 'nonce="abc123" defer></script>' in html
    tab = open_tab(context, server.url, setup=lambda page: page.add_init_script(RECORD_VIOLATIONS))
    assert tab.page.evaluate("window.noncedScriptRan === true && window.unnoncedScriptRan === undefined")
    assert tab.page.evaluate("document.querySelector('script[data-boot]').nonce") == "abc123"
    # the page's own unnonced script is refused (the policy is enforced), and nothing of ours is
    violations = {v.split("?")[0] for v in tab.page.evaluate("window.__violations")}
    blocked_worker = f"worker-src {server.url}/__hot_reload/client.js"
    assert violations == {"script-src-elem inline"} | ({blocked_worker} if worker_src == "'none'" else set())
    started = edit(server, "templates/index.html", "csp-v1", "csp-v2")
    tab.wait_text("title", "csp-v2")
    latency(f"template edit under CSP ({mode}, worker-src {worker_src})", started)
    tab.wait_connected()


@pytest.mark.timeout(90)
def test_tab_on_a_traceback_page_updates_after_the_fix(serve: Any, context: BrowserContext) -> None:
    """A route raises (debug on): the traceback page carries the client too, so the fix reaches the tab."""
    server: Server = serve()
    tab = open_tab(context, server.url + "/boom")
    assert "boom with python-v1" in tab.page.content()
    started = edit(server, "main.py", 'MESSAGE = "python-v1"', 'MESSAGE = "python-v2"')
    tab.wait_text("message", "python-v2")
    latency("fix of a route that raised, traceback page to the fixed page", started)
