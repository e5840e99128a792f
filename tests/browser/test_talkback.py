"""The browser talks back, in Chromium on a real uvicorn: the page's errors reach the server's log and show over
the page, alt+click and the overlay's file:line links open the editor (a recording stand-in), and the overlay stays
above the page's own modal dialog."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .._support.browser import MODES, PREFIX, REFRESHED, open_tab
from .._support.editor import RecordingEditor
from .._support.servers import Server
from .._support.waiting import wait_for

pytestmark = pytest.mark.browser

NOTES = "fast-hot-reload-notes"
OVERLAY = "fast-hot-reload-overlay"
NOTE_TEXTS = (
    f"() => [...(document.querySelector('{NOTES}')?.shadowRoot.querySelectorAll('.note') || [])]"
    ".map((n) => n.textContent)"
)


def browser_lines(server: Server) -> list[str]:
    return [line for line in server.log().splitlines() if re.search(r"\bbrowser[ :]", line)]


def logged(server: Server, pattern: str) -> str:
    found = wait_for(
        lambda: next((line for line in browser_lines(server) if re.search(pattern, line)), None),
        timeout=10,
        what=f"a log line matching {pattern!r}",
    )
    return str(found)


@pytest.fixture
def editor(tmp_path: Path) -> RecordingEditor:
    return RecordingEditor(tmp_path / "editor")


@pytest.fixture
def talkback(serve: Callable[..., Server], editor: RecordingEditor) -> Callable[..., Server]:
    def start(mode: str = "ws", **env: str) -> Server:
        return serve("talkback", env={"FHR_MODE": mode, **editor.env, **env})

    return start


@pytest.mark.parametrize("mode", MODES)
def test_a_pages_errors_reach_the_server_log_one_line_each(context: Any, talkback: Any, mode: str) -> None:
    server = talkback(mode)
    tab = open_tab(context, server.url + "/")
    tab.page.evaluate("throwLater('thrown by the page')")
    error = logged(server, "uncaught error")
    assert re.search(
        r"ERROR.*browser uncaught error on /: Error: thrown by the page {2}\(at /static/app\.js:3:\d+\)", error
    )
    tab.page.evaluate("rejectLater('promised and broken')")
    rejection = logged(server, "unhandled rejection")
    assert "on /: TypeError: promised and broken  (at /static/app.js:7:" in rejection
    tab.page.evaluate("complain('not good')")
    line = logged(server, "console.error")
    assert 'browser console.error on /: app says: not good {"count":2}  (at /static/app.js:11:' in line
    tab.page.evaluate("warn('careful\\nnow')")
    warning = logged(server, "console.warn")
    assert "WARNING" in warning and "careful\\nnow" in warning  # one line, its newline escaped
    assert not any(PREFIX in line for line in browser_lines(server))  # our own console lines stay in the tab
    assert len(browser_lines(server)) == 4


def test_a_flood_is_capped_with_one_line_saying_how_much_was_dropped(context: Any, talkback: Any) -> None:
    server = talkback()
    tab = open_tab(context, server.url + "/")
    tab.page.evaluate("flood(10000)")
    dropped = logged(server, "dropped")
    assert re.search(r"browser: 99\d\d console lines dropped on /", dropped), dropped
    lines = [line for line in browser_lines(server) if "flood line" in line]
    assert len(lines) + int(re.search(r"(\d+) console lines dropped", dropped).group(1)) == 10000  # type: ignore[union-attr]
    assert 20 <= len(lines) <= 40, len(lines)  # 20 at once, and 2 a second while the loop runs
    assert tab.page.evaluate("1 + 1") == 2  # the tab is not stuck either


def test_forward_console_off_keeps_the_log_quiet(context: Any, talkback: Any) -> None:
    server = talkback(FHR_FORWARD="0")
    tab = open_tab(context, server.url + "/")
    tab.page.evaluate("complain('not sent'); throwLater('not sent either')")
    tab.until(lambda: tab.page.evaluate(NOTE_TEXTS), what="the runtime error shown on the page")
    server.edit("templates/index.html", "template-v1", "template-v2")  # a round trip after the error
    tab.wait_text("version", "template-v2")
    assert browser_lines(server) == []


def test_a_runtime_error_shows_as_a_small_entry_that_the_next_update_clears(context: Any, talkback: Any) -> None:
    server = talkback()
    tab = open_tab(context, server.url + "/")
    tab.page.evaluate("throwLater('shown on the page'); throwLater('shown on the page'); rejectLater('and this')")
    texts = tab.until(lambda: len(tab.page.evaluate(NOTE_TEXTS)) == 2 and tab.page.evaluate(NOTE_TEXTS))
    assert (
        "Uncaught error ×2" in texts[0] and "Error: shown on the page" in texts[0] and "/static/app.js:3:" in texts[0]
    )
    assert "Unhandled rejection" in texts[1] and "TypeError: and this" in texts[1]
    box = tab.page.evaluate(f"document.querySelector('{NOTES}').getBoundingClientRect().toJSON()")
    viewport = tab.page.viewport_size
    assert viewport is not None and box["width"] < viewport["width"] / 2 and box["height"] < viewport["height"] / 2
    assert tab.page.evaluate("document.elementFromPoint(20, 20).localName") != NOTES  # the page is not covered
    tab.page.locator(f"{NOTES} .note >> nth=1").locator(".close").click()  # dismissed
    assert len(tab.page.evaluate(NOTE_TEXTS)) == 1
    server.edit("templates/index.html", "template-v1", "template-v2")
    tab.wait_text("version", "template-v2")
    tab.until(lambda: tab.page.evaluate(NOTE_TEXTS) == [], what="the entry to clear on the update")
    tab.until(lambda: any(line.startswith(REFRESHED) for line in tab.logs), what="the refresh in place")


def test_alt_click_opens_the_template_at_the_line(context: Any, talkback: Any, editor: RecordingEditor) -> None:
    server = talkback()
    tab = open_tab(context, server.url + "/")
    root = server.root.resolve()
    cases = [
        ("#title", "templates/index.html", 4),  # a block of the child template
        ("#items li >> nth=1", "templates/index.html", 7),  # a loop's item
        ("footer .small", "templates/partials/footer.html", 2),  # an include
        ("header .brand", "templates/base.html", 9),  # the extended template
    ]
    for selector, file, line in cases:
        before = len(editor.calls())
        tab.page.locator(selector).click(modifiers=["Alt"])
        wait_for(lambda: len(editor.calls()) > before, what=f"the editor opened for {selector}")  # noqa: B023
        argv = editor.calls()[-1]
        assert argv[0] == "-g" and argv[1].startswith(f"{root / file}:{line}:"), (selector, argv)
    assert tab.navigations == [server.url + "/"]  # the alt+click on the link did not follow it
    tab.page.evaluate("addScriptMarkup()")
    before = len(editor.calls())
    tab.page.locator("#built").click(modifiers=["Alt"])
    wait_for(lambda: len(editor.calls()) > before, what="the nearest template element opened")
    assert editor.calls()[-1][1].startswith(f"{root / 'templates/index.html'}:3:")  # <main>, built markup's parent
    tab.until(lambda: any("no template has this <span>" in line for line in tab.logs), what="the console saying so")


def test_overlay_links_open_the_editor_at_the_line(context: Any, talkback: Any, editor: RecordingEditor) -> None:
    server = talkback()
    tab = open_tab(context, server.url + "/")
    server.edit("templates/index.html", "{{ title }}", "{{ title }")  # a syntax error
    tab.page.wait_for_selector(OVERLAY)
    tab.page.locator(f"{OVERLAY} .where a.open").click()
    wait_for(lambda: editor.calls(), what="the editor opened from the overlay")
    argv = editor.calls()[-1]
    assert argv[0] == "-g" and argv[1].startswith(f"{server.root.resolve() / 'templates/index.html'}:4:"), argv
    tab.page.evaluate("throwLater('from app.js')")
    tab.page.wait_for_function(f"document.querySelector('{NOTES}')")
    before = len(editor.calls())
    tab.page.locator(f"{NOTES} a.open").click()
    wait_for(lambda: len(editor.calls()) > before, what="the editor opened at the script's line")
    assert editor.calls()[-1][1].startswith(f"{server.root.resolve() / 'static/app.js'}:3:")
    tab.until(lambda: any(line.startswith(f"{PREFIX} jinja2.exceptions.TemplateSyntaxError") for line in tab.logs))
    # the overlay's console.error is ours: it is not sent back, the page's own error is
    assert [line for line in browser_lines(server) if "TemplateSyntaxError" in line or PREFIX in line] == []
    assert len(browser_lines(server)) == 1


def test_the_overlay_is_above_an_open_modal_dialog(context: Any, talkback: Any) -> None:
    server = talkback()
    tab = open_tab(context, server.url + "/")
    tab.page.click("#open-dialog")
    tab.page.wait_for_function("document.getElementById('dialog').matches(':modal')")
    server.edit("templates/index.html", "{{ title }}", "{{ title }")
    tab.page.wait_for_selector(OVERLAY)
    assert tab.page.evaluate(f"document.querySelector('{OVERLAY}').matches(':popover-open')")
    on_top = "([x, y]) => { const el = document.elementFromPoint(x, y); return el && el.localName; }"
    assert tab.page.evaluate(on_top, [10, 10]) == OVERLAY  # not the dialog, nor its backdrop
    tab.page.locator(f"{OVERLAY} .close").click()  # not inert: the modal dialog does not block it
    assert tab.page.locator(OVERLAY).count() == 0
    assert tab.page.evaluate("document.getElementById('dialog').open")  # the dialog stays, it was not ours to close
    tab.page.evaluate("throwLater('over the dialog')")
    tab.page.wait_for_function(f"document.querySelector('{NOTES}')?.matches(':popover-open')")
    tab.page.evaluate("document.getElementById('dialog').close()")
    tab.page.wait_for_function(f"document.querySelector('{NOTES}')?.getBoundingClientRect().width > 0")
    assert tab.page.evaluate(f"document.querySelector('{NOTES}').parentNode === document.documentElement")
