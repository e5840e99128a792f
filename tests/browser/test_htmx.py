"""Pages htmx builds after they load stay true (tests/apps/htmx, shaped like the htmx docs' examples): what htmx
loaded is asked for again after every update in place and morphed, typed text inside it kept; a template only a
fragment uses updates that fragment in place; after hx-push-url the morph's baseline follows the pushed URL.
Every edit is a real file write under a real `uvicorn --reload`, on htmx 1 and 2, in both transports.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from .._support.browser import PREFIX, REFRESHED, TIMEOUT, Tab, edit, open_tab
from .._support.servers import Server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.browser

# (htmx, transport): each htmx on each transport once, not every pair (two cores)
PAIRS = [("1", "ws"), ("2", "sse")]
LOADED = """() => document.querySelectorAll("#companies li").length === 2 && !!document.querySelector("#items.loaded")
    && !!document.getElementById("email") && !!document.getElementById("note-text")"""


def serve_htmx(serve: Any, htmx: str, mode: str = "ws") -> Server:
    server: Server = serve("htmx", env={"FHR_HTMX": htmx, "FHR_MODE": mode})
    return server


def loaded(context: BrowserContext, server: Server) -> Tab:
    """The home page with everything htmx loads on load in, and one page of news appended by a click."""
    tab = open_tab(context, server.url + "/")
    tab.page.wait_for_function(LOADED, timeout=TIMEOUT * 1000)
    tab.page.click("#more")
    tab.page.wait_for_function("document.querySelectorAll('#news li').length === 1", timeout=TIMEOUT * 1000)
    tab.page.evaluate("window.marker = 1")
    return tab


def stayed(tab: Tab, navigations: int) -> None:
    assert len(tab.navigations) == navigations and tab.page.evaluate("window.marker") == 1, tab.logs
    assert not any(line.startswith(f"{PREFIX} Reloading") for line in tab.logs), tab.logs


@pytest.mark.parametrize(("htmx", "mode"), PAIRS)
def test_python_edit_updates_the_rows_htmx_loaded_in_place(
    serve: Any, context: BrowserContext, htmx: str, mode: str
) -> None:
    server = serve_htmx(serve, htmx, mode)
    tab = loaded(context, server)
    navigations = len(tab.navigations)
    tab.page.fill("#email", "ada@example.com")
    edit(server, "main.py", '"acme": "ACME Corp"', '"acme": "ACME Corporation"')  # uvicorn --reload restarts
    tab.wait_text("company-acme", "ACME Corporation", timeout=30)
    stayed(tab, navigations)
    assert tab.page.input_value("#email") == "ada@example.com"
    assert f"{REFRESHED}the server restarted" in tab.logs


@pytest.mark.parametrize("htmx", ["1", "2"])
def test_data_file_change_updates_htmx_content_in_place_and_appended_content_stays_once(
    serve: Any, context: BrowserContext, htmx: str
) -> None:
    server = serve_htmx(serve, htmx)
    tab = loaded(context, server)
    navigations = len(tab.navigations)
    asked: list[str] = []  # what the client sent again (htmx's own requests do not say X-Hot-Reload)
    tab.page.on("request", lambda r: asked.append(r.url) if r.headers.get("x-hot-reload") == "refresh" else None)
    tab.page.wait_for_function("document.getElementById('ticker').textContent === 'tick 3'", timeout=TIMEOUT * 1000)
    data = json.loads((server.root / "data.json").read_text())
    data["items"][0] = "item-v2"
    data["news"][0] = "news-v2"
    (server.root / "data.json").write_text(json.dumps(data))
    tab.page.wait_for_function(  # the outerHTML swap: its new element, morphed
        "document.querySelector('#items.loaded .item')?.textContent === 'item-v2'", timeout=TIMEOUT * 1000
    )
    stayed(tab, navigations)
    tab.until(lambda: server.url + "/ticker" in asked, what="the ticker asked again")
    # the ticker polled three times: only its latest swap is remembered, so it is asked for once
    paths = sorted(url.removeprefix(server.url) for url in asked)
    assert paths == ["/", "/companies", "/form", "/items", "/ticker"], paths
    # an appending swap (beforeend: infinite scroll, "more") is not asked again: it would append a second copy
    assert tab.page.evaluate("[...document.querySelectorAll('#news li')].map((li) => li.textContent)") == [
        "news-v1 (page 1)"
    ]


@pytest.mark.parametrize(("htmx", "mode"), PAIRS)
def test_typed_text_in_an_htmx_loaded_form_stays_across_its_template_edit(
    serve: Any, context: BrowserContext, htmx: str, mode: str
) -> None:
    server = serve_htmx(serve, htmx, mode)
    tab = loaded(context, server)
    navigations = len(tab.navigations)
    tab.page.fill("#comment", "a comment")
    tab.page.fill("#email", "ada@example.com")  # last: focus stays in it
    edit(server, "templates/partials/form.html", "form-v1", "form-v2")
    tab.wait_text("form-label", "form-v2")
    stayed(tab, navigations)
    assert tab.page.input_value("#email") == "ada@example.com" and tab.page.input_value("#comment") == "a comment"
    assert tab.page.evaluate("document.activeElement.id") == "email"
    assert f"{REFRESHED}templates/partials/form.html" in tab.logs


@pytest.mark.parametrize(("htmx", "mode"), [("1", "sse"), ("2", "ws")])
def test_typed_text_stays_after_htmx_pushed_the_url(serve: Any, context: BrowserContext, htmx: str, mode: str) -> None:
    """Search pushes /search?q=ACME, whose page renders the box with "ACME": what the user types after it is theirs."""
    server = serve_htmx(serve, htmx, mode)
    tab = loaded(context, server)
    tab.page.fill("#q", "ACME")
    tab.page.click("#go")
    tab.page.wait_for_function("document.querySelector('#results .result')?.textContent === 'ACME Corp'")
    tab.until(lambda: f"{PREFIX} Baseline: /search?q=ACME" in tab.logs, what="the baseline of the pushed URL")
    navigations = len(tab.navigations)  # htmx's pushState counts as one (same document)
    tab.page.fill("#q", "hello world")
    edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2")
    stayed(tab, navigations)
    assert tab.page.url == server.url + "/search?q=ACME"
    assert tab.page.input_value("#q") == "hello world"
    assert tab.text("results") == "ACME Corp"


@pytest.mark.parametrize("htmx", ["1", "2"])
def test_a_fragment_htmx_loaded_by_post_still_reloads(serve: Any, context: BrowserContext, htmx: str) -> None:
    """A POST is never sent again by us: only a reload renders its template again."""
    server = serve_htmx(serve, htmx)
    tab = loaded(context, server)
    navigations = len(tab.navigations)
    edit(server, "templates/partials/note.html", "note-v1", "note-v2")
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a full reload")
    tab.wait_text("note-text", "note-v2")
    assert f"{PREFIX} Reloading: templates/partials/note.html" in tab.logs


@pytest.mark.parametrize(("htmx", "mode"), PAIRS)
def test_typed_text_stays_after_htmx_restored_a_url_from_its_history(
    serve: Any, context: BrowserContext, htmx: str, mode: str
) -> None:
    """Back from /search?q=ACME: htmx puts its snapshot of / back, and the baseline follows it there."""
    server = serve_htmx(serve, htmx, mode)
    tab = loaded(context, server)
    tab.page.fill("#q", "ACME")
    tab.page.click("#go")
    tab.until(lambda: f"{PREFIX} Baseline: /search?q=ACME" in tab.logs, what="the baseline of the pushed URL")
    tab.page.go_back()
    tab.until(lambda: tab.count(f"{PREFIX} Baseline: /") == 1, what="the baseline of the restored URL")
    tab.page.fill("#q", "after going back")
    edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2")
    assert tab.page.url == server.url + "/" and tab.page.evaluate("window.marker") == 1
    assert tab.page.input_value("#q") == "after going back"
