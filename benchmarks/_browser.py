"""Headless Chromium tabs that timestamp, inside the page, the moment new content appears."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _common import wait_for

# the tests' own Chromium and flags: `pip install -e .` puts the checkout on sys.path
from tests._support.browser import CHROMIUM, CHROMIUM_ARGS

# Runs in every document before its own scripts. `seen[key]` is the wall-clock time (ms) at which
# "title=<h1 text>", "message=<p text>" or "color=<h1 computed color>" was first true in this
# document; `loads` counts documents in this tab (sessionStorage survives reloads) plus refreshes in
# place (fast-hot-reload swaps a script-free page's body instead of reloading it); `connected`
# is set when the hot reload client logs that it is connected (both clients log it at info).
INIT_SCRIPT = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const bench = (window.__bench = { seen: {}, loads: 0, navs: 0, connected: 0, origin: performance.timeOrigin });
  try {
    bench.loads = Number(sessionStorage.getItem("bench-loads") || 0) + 1;
    sessionStorage.setItem("bench-loads", String(bench.loads));
    bench.navs = Number(sessionStorage.getItem("bench-navs") || 0) + 1; // documents only, no refresh in place
    sessionStorage.setItem("bench-navs", String(bench.navs));
  } catch {}
  const mark = (key) => { if (!(key in bench.seen)) bench.seen[key] = now(); };
  const check = () => {
    const title = document.getElementById("title");
    const message = document.getElementById("message");
    if (title) { mark("title=" + title.textContent); mark("color=" + getComputedStyle(title).color); }
    if (message) mark("message=" + message.textContent);
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
  // a stylesheet applies when it has loaded: load events do not bubble, but they pass the capture phase
  document.addEventListener("load", (e) => { if (e.target.tagName === "LINK") check(); }, true);
  addEventListener("DOMContentLoaded", check);
  addEventListener("load", check);
  const info = console.info;
  console.info = function (...args) {
    if (/Connected/.test(String(args[0])) && !bench.connected) bench.connected = now();
    if (/Refreshed: /.test(String(args[0]))) {  // fast-hot-reload's refresh in place counts as a reload
      bench.loads += 1;
      try { sessionStorage.setItem("bench-loads", String(bench.loads)); } catch {}
    }
    return info.apply(this, args);
  };
})();
"""


@contextmanager
def launch() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _evaluate(page: Any, expression: str) -> Any:
    """Evaluate, treating a page that is between documents (reloading) as 'not yet'."""
    try:
        return page.evaluate(expression)
    except Exception as exc:  # playwright raises its own Error while a navigation destroys the context
        if "context was destroyed" in str(exc) or "navigat" in str(exc).lower():
            return None
        raise


class Tabs:
    """N tabs of one browser context (so they share fast-hot-reload's SharedWorker, like a user's tabs)."""

    def __init__(self, context: Any, url: str, count: int) -> None:
        self.context = context
        context.add_init_script(INIT_SCRIPT)
        self.pages = [context.new_page() for _ in range(count)]
        for page in self.pages:
            page.goto(url)
        self.offset = self._clock_offset()
        self.wait_ready()

    def _clock_offset(self) -> float:
        """Page wall clock minus harness wall clock (s), from the tightest of a few round trips."""
        samples = []
        for _ in range(15):
            before = time.time()
            page_time = float(self.pages[0].evaluate("performance.timeOrigin + performance.now()")) / 1000
            after = time.time()
            samples.append((after - before, page_time - (before + after) / 2))
        return min(samples)[1]

    def state(self, expression: str) -> list[Any]:
        return [_evaluate(page, expression) for page in self.pages]

    def ready(self) -> bool:
        return all(self.state("!!(window.__bench && window.__bench.connected && document.readyState === 'complete')"))

    def wait_ready(self, timeout: float = 15.0) -> None:
        wait_for(self.ready, timeout, interval=0.02, what="every tab to load and connect")

    def reload(self) -> None:
        """Reload every tab by hand (to recover tabs that a hot reload left stale) and wait until connected."""
        for page in self.pages:
            page.reload()
        self.wait_ready()

    def loads(self) -> list[int]:
        """Documents loaded so far in each tab."""
        counts = wait_for(lambda: (s := self.state("window.__bench?.loads")) and all(s) and s, what="load counters")
        return [int(n) for n in counts]

    def navigations(self) -> list[int]:
        """Documents loaded so far in each tab, not counting updates in place."""
        counts = wait_for(lambda: (s := self.state("window.__bench?.navs")) and all(s) and s, what="load counters")
        return [int(n) for n in counts]

    def wait_seen(self, key: str, timeout: float = 15.0) -> list[float]:
        """Harness wall-clock times (s) at which each tab first showed `key`."""
        expression = f"window.__bench?.seen[{key!r}] ?? null"
        stamps = wait_for(
            lambda: (s := self.state(expression)) and all(v is not None for v in s) and s,
            timeout,
            interval=0.05,
            what=f"every tab to show {key}",
        )
        return [stamp / 1000 - self.offset for stamp in stamps]


@contextmanager
def tabs(browser: Any, url: str, count: int) -> Iterator[Tabs]:
    context = browser.new_context()
    try:
        yield Tabs(context, url, count)
    finally:
        context.close()
