"""Stylesheets a page uses, and only those, swapped in place (tests/apps/tailwind, a real `uvicorn --reload`).

"Uses": linked, or pulled in by @import (from a linked sheet, nested, from an inline <style>). A sheet no page
uses (a Tailwind source) swaps nothing; sheets that share a file name swap only where the path says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .._support.browser import MODES, PREFIX, TIMEOUT, Tab, edit, latency, open_tab
from .._support.tailwind import build, tailwind_watch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from .._support.servers import Server

pytestmark = pytest.mark.browser

BLUE, RED, GREEN = "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(0, 128, 0)"
SWAPPED = f"{PREFIX} Stylesheet swapped: "
UNUSED = f"{PREFIX} No stylesheet of this page uses "
LINKS = ("out.css", "site.css", "a/app.css", "b/app.css")


def page(context: BrowserContext, server: Server) -> tuple[Tab, list[str]]:
    """The tailwind app's page, connected, with every stylesheet request it makes from now on."""
    requests: list[str] = []
    tab = open_tab(context, server.url + "/", setup=lambda p: p.on("request", lambda r: requests.append(r.url)))
    tab.page.evaluate("window.marker = 1")
    requests.clear()
    return tab, requests


def color(tab: Tab, element_id: str, wanted: str) -> None:
    tab.page.wait_for_function(
        "([id, color]) => getComputedStyle(document.getElementById(id)).color === color",
        arg=[element_id, wanted],
        timeout=TIMEOUT * 1000,
    )


def busted(tab: Tab) -> dict[str, bool]:
    """For each linked sheet: whether it was swapped (its link carries our cache-busting query)."""
    hrefs: list[str] = tab.page.evaluate("[...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href)")
    return {name: any(f"/static/{name}?_fhr=" in href for href in hrefs) for name in LINKS}


def swaps(tab: Tab) -> list[str]:
    return [line for line in tab.logs if line.startswith(SWAPPED)]


def kept(tab: Tab) -> None:
    assert tab.page.evaluate("window.marker") == 1, "the page reloaded"
    counts = tab.page.evaluate(
        "[document.querySelectorAll('link[rel=stylesheet]').length, document.styleSheets.length]"
    )
    assert counts == [4, 5], f"links and sheets left: {counts}"  # no old copy left behind, none lost


@pytest.mark.parametrize("mode", MODES)
def test_a_tailwind_source_edit_swaps_nothing_until_the_build_writes(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    """src/tw.css is linked by no page: its edit swaps nothing; the CLI's write of out.css swaps that sheet once."""
    server: Server = serve("tailwind", env={"FHR_MODE": mode})
    with tailwind_watch(server) as running:
        print(f"[tailwind] {'the real CLI, --watch' if running else 'no CLI: its build simulated'}")
        tab, requests = page(context, server)
        started = edit(server, "src/tw.css", BLUE, RED)
        tab.until(lambda: any(line.startswith(UNUSED + "src/tw.css") for line in tab.logs), what="the tw.css event")
        if not running:
            assert not [url for url in requests if "out.css" in url], "out.css fetched before the build wrote it"
            assert not swaps(tab)
        build(server, running, BLUE, RED)
        color(tab, "title", RED)
        latency(f"tailwind edit to restyled ({mode})", started)
        tab.until(lambda: swaps(tab), what="the swap's line")
    assert swaps(tab) == [SWAPPED + "static/out.css"], tab.logs
    assert len([url for url in requests if "/static/out.css" in url]) == 1, requests
    assert busted(tab) == {"out.css": True, "site.css": False, "a/app.css": False, "b/app.css": False}
    kept(tab)


@pytest.mark.parametrize("mode", MODES)
def test_an_imported_sheet_edit_swaps_its_importer(serve: Any, context: BrowserContext, mode: str) -> None:
    """base.css (imported by site.css) and deep.css (imported by base.css) swap site.css; others stay."""
    server: Server = serve("tailwind", env={"FHR_MODE": mode})
    tab, _ = page(context, server)
    started = edit(server, "static/base.css", BLUE, RED)
    color(tab, "base", RED)
    latency(f"imported sheet restyled ({mode})", started)
    edit(server, "static/deep.css", BLUE, GREEN)
    color(tab, "deep", GREEN)
    tab.until(lambda: len(swaps(tab)) == 2, what="two swap lines")
    assert swaps(tab) == [SWAPPED + "static/base.css", SWAPPED + "static/deep.css"]
    assert busted(tab) == {"out.css": False, "site.css": True, "a/app.css": False, "b/app.css": False}
    kept(tab)


@pytest.mark.parametrize("mode", MODES)
def test_a_sheet_an_inline_style_imports_is_swapped(serve: Any, context: BrowserContext, mode: str) -> None:
    """inline.css comes in by an @import of a <style>: the <style> is re-inserted, no <link> is swapped."""
    server: Server = serve("tailwind", env={"FHR_MODE": mode})
    tab, _ = page(context, server)
    edit(server, "static/inline.css", BLUE, RED)
    color(tab, "inline", RED)
    tab.until(lambda: swaps(tab), what="the swap's line")
    assert busted(tab) == dict.fromkeys(LINKS, False)
    assert tab.page.evaluate("document.querySelectorAll('style').length") == 1
    kept(tab)


@pytest.mark.parametrize("mode", MODES)
def test_of_two_sheets_named_alike_the_path_picks_one(serve: Any, context: BrowserContext, mode: str) -> None:
    """static/a/app.css and static/b/app.css: an edit of b's swaps b's alone, and a's then a's alone."""
    server: Server = serve("tailwind", env={"FHR_MODE": mode})
    tab, _ = page(context, server)
    edit(server, "static/b/app.css", BLUE, RED)
    color(tab, "b", RED)
    tab.until(lambda: swaps(tab), what="the swap's line")
    assert busted(tab) == {"out.css": False, "site.css": False, "a/app.css": False, "b/app.css": True}
    edit(server, "static/a/app.css", BLUE, GREEN)
    color(tab, "a", GREEN)
    assert busted(tab) == {"out.css": False, "site.css": False, "a/app.css": True, "b/app.css": True}
    kept(tab)


CROSS_ORIGIN = """(origin) => {
    const link = Object.assign(document.createElement("link"), {rel: "stylesheet", href: origin + "/static/b/app.css"});
    const style = Object.assign(document.createElement("style"), {id: "theirs"});
    style.textContent = `@import url("${origin}/static/inline.css");`;
    document.head.prepend(link, style);  // before the page's own: these win the cascade once swapped
    return new Promise((done) => link.addEventListener("load", done, {once: true}));
}"""


@pytest.mark.parametrize("mode", MODES)
def test_sheets_of_another_origin_are_left_alone(serve: Any, context: BrowserContext, mode: str) -> None:
    """The same sheets from another origin (localhost for 127.0.0.1): not ours to read nor to swap."""
    server: Server = serve("tailwind", env={"FHR_MODE": mode})
    tab, _ = page(context, server)
    other = f"http://localhost:{server.port}"
    errors: list[str] = []
    tab.page.on("pageerror", lambda error: errors.append(str(error)))
    tab.page.evaluate(CROSS_ORIGIN, other)
    edit(server, "static/b/app.css", BLUE, RED)
    edit(server, "static/inline.css", BLUE, GREEN)
    color(tab, "b", RED)
    color(tab, "inline", GREEN)  # one event or two: the edits may come in one batch
    hrefs = tab.page.evaluate("[...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href)")
    assert f"{other}/static/b/app.css" in hrefs  # theirs as it was
    assert tab.page.evaluate("document.querySelectorAll('#theirs').length") == 1
    assert busted(tab)["b/app.css"] and errors == []
    assert tab.page.evaluate("window.marker") == 1
