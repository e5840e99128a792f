"""Headless Chromium: the browser and its flags, a tab with what Python has seen of it, and what several browser
test modules do to a page (edits with their latency, a stylesheet swap, the real app's home page and its state).

Light to import (nothing of pytest or Playwright at run time): the benchmarks take CHROMIUM and CHROMIUM_ARGS from
here (benchmarks/_browser.py, benchmarks/_morph_figure.py), and docs/make_screenshots.py through conftest.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import REPO

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from .servers import Server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
CLIENT = REPO / "templates" / "client"  # the client's rooms (morph.js, overlay.js, state.js...), as served

MODES = ["ws", "sse"]
PREFIX = "[Hot Reload]"
CONNECTED = f"{PREFIX} Connected!"
REFRESHED = f"{PREFIX} Refreshed: "
BADGE = "#fast-hot-reload-badge"
STYLESHEET = 'link[rel~="stylesheet"][href*="style.css"]'
TIMEOUT = 15.0  # seconds for anything that needs a server restart; most waits take well under one


@dataclass
class Tab:
    """One browser tab with what Python has seen of it: console lines and main-frame navigations."""

    page: Page
    logs: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)

    def until(self, condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
        """Poll `condition` up to a deadline, letting Playwright deliver events in between."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; console: {self.logs}")
            self.page.wait_for_timeout(10)  # a poll step: Playwright dispatches console/navigation events here
        return result

    def count(self, line: str) -> int:
        return self.logs.count(line)

    def updates(self) -> int:
        """Page loads plus refreshes in place: each hot reload of this tab counts once."""
        return len(self.navigations) + sum(line.startswith(REFRESHED) for line in self.logs)

    def wait_connected(self, times: int = 1, timeout: float = TIMEOUT) -> None:
        self.until(lambda: self.count(CONNECTED) >= times, timeout, f"{CONNECTED!r} x{times}")

    def wait_text(self, element_id: str, text: str, timeout: float = TIMEOUT) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "([id, text]) => document.getElementById(id)?.textContent === text",
                arg=[element_id, text],
                timeout=timeout * 1000,
            )
        except PlaywrightTimeout:
            shown = self.text(element_id)
            raise AssertionError(
                f"#{element_id} shows {shown!r}, not {text!r}, after {timeout}s; console: {self.logs}"
            ) from None

    def text(self, element_id: str) -> str:
        return str(self.page.evaluate("(id) => document.getElementById(id)?.textContent", element_id))


def open_tab(
    context: BrowserContext,
    url: str,
    *,
    connected: bool = True,
    setup: Callable[[Page], object] | None = None,
    wait_until: Literal["commit", "load"] = "load",
) -> Tab:
    """A new tab on `url`, waiting (by default) until its hot reload client says it is connected.

    `setup` runs on the page before it loads (routes, init scripts).
    """
    page = context.new_page()
    tab = Tab(page)
    page.on("console", lambda message: tab.logs.append(message.text))
    page.on("framenavigated", lambda frame: tab.navigations.append(frame.url) if frame == page.main_frame else None)
    if setup is not None:
        setup(page)
    page.goto(url, wait_until=wait_until)
    if connected:
        tab.wait_connected()
    return tab


def latency(what: str, since: float) -> float:
    ms = (time.perf_counter() - since) * 1000
    print(f"[latency] {what}: {ms:.0f} ms")
    return ms


def edit(server: Server, relative: str, old: str, new: str) -> float:
    """Edit a served file; returns the moment of the write, for `latency()`."""
    started = time.perf_counter()
    server.edit(relative, old, new)
    return started


# ---- a stylesheet swapped in place ----

WATCH_STYLESHEETS = """(selector) => {
    // Replays every mutation record, so that even a remove and an add in one task show up in order.
    const matches = (node) => node.nodeType === 1 && node.matches(selector);
    let count = document.querySelectorAll(selector).length;
    window.__linkCounts = [count];
    window.__removals = [];
    window.__linkObserver?.disconnect();  // one observer at a time: it writes to the arrays above
    window.__linkObserver = new MutationObserver((records) => {
        for (const record of records) {
            for (const node of record.addedNodes) if (matches(node)) window.__linkCounts.push(++count);
            for (const node of record.removedNodes) {
                if (!matches(node)) continue;
                window.__linkCounts.push(--count);
                const left = [...document.querySelectorAll(selector)];
                window.__removals.push({
                    leftLoaded: left.length > 0 && left.every((l) => l.sheet !== null),
                    color: getComputedStyle(document.getElementById("title")).color,
                });
            }
        }
        window.__linkCounts.push(document.querySelectorAll(selector).length);
    });
    window.__linkObserver.observe(document.documentElement, {childList: true, subtree: true});
    window.marker = 1;
}"""

SWAPPED = """([selector, color]) =>
    getComputedStyle(document.getElementById("title")).color === color
    && document.querySelectorAll(selector).length === 1 && window.__removals.length === 1"""


def css_edit_swaps(tab: Tab, server: Server, old: str, new: str, new_color: str, what: str) -> None:
    """Edit the stylesheet and check it was swapped in place: no reload, never zero or three sheets."""
    updates = tab.updates()
    tab.page.evaluate(WATCH_STYLESHEETS, STYLESHEET)
    started = edit(server, "static/style.css", old, new)
    tab.page.wait_for_function(SWAPPED, arg=[STYLESHEET, new_color], timeout=TIMEOUT * 1000)
    latency(what, started)
    assert tab.page.evaluate("window.marker") == 1, "the page reloaded"
    assert tab.updates() == updates
    counts = tab.page.evaluate("window.__linkCounts")
    assert min(counts) >= 1 and max(counts) <= 2, counts
    removal = tab.page.evaluate("window.__removals[0]")
    assert removal == {"leftLoaded": True, "color": new_color}, "old sheet removed before the new one loaded"
    assert "_fhr=" in tab.page.eval_on_selector(STYLESHEET, "l => l.href")


# ---- the real-shaped app (tests/apps/real): its home page, and what the user has on it ----

COOKIE = {"name": "session", "value": "yes", "domain": "127.0.0.1", "path": "/"}

USER_STATE = """() => {
    document.getElementById("name").focus();
    document.getElementById("name").value = "typed by the user";
    document.getElementById("name").setSelectionRange(2, 7);
    document.getElementById("notes").value = "a note";
    document.getElementById("size").value = "large";
    document.getElementById("agree").checked = true;
    document.getElementById("more").open = true;
    document.getElementById("box").scrollTop = 300;
    window.scrollTo(0, 700);
    window.marker = 1;
}"""

READ_STATE = """() => ({
    name: document.getElementById("name").value,
    notes: document.getElementById("notes").value,
    size: document.getElementById("size").value,
    agree: document.getElementById("agree").checked,
    open: document.getElementById("more").open,
    box: document.getElementById("box").scrollTop,
    scroll: window.scrollY,
    focus: document.activeElement && document.activeElement.id,
    selection: [document.activeElement.selectionStart, document.activeElement.selectionEnd],
})"""

KEPT = {
    "name": "typed by the user",
    "notes": "a note",
    "size": "large",
    "agree": True,
    "open": True,
    "box": 300,
    "scroll": 700,
    "focus": "name",
    "selection": [2, 7],
}


def logged_in(context: BrowserContext) -> BrowserContext:
    context.add_cookies([COOKIE])
    return context


def home(context: BrowserContext, server: Server) -> Tab:
    """The home page, loaded and connected, its htmx fragment in, the user's state set and Alpine's counter at 3."""
    tab = open_tab(logged_in(context), server.url + "/")
    tab.wait_text("fragment", "fragment-v1")
    tab.page.wait_for_function("window.Alpine !== undefined && window.htmx !== undefined")
    for _ in range(3):
        tab.page.click("#increment")
    tab.wait_text("count", "3")
    tab.page.evaluate(USER_STATE)
    return tab
