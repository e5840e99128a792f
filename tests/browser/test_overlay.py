from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from fast_hot_reload._errors.describe import describe_exception

from .._support.browser import CLIENT, PREFIX
from .._support.waiting import wait_for

pytestmark = pytest.mark.browser

ROOM = (CLIENT / "overlay.js").read_text()
APP = """<!DOCTYPE html>
<html><head><title>Shop</title></head>
<body>
  <header><h1>Shop</h1></header>
  <form><label>Name <input id="name"></label><button type="button">Save</button></form>
  <pre id="own">page text</pre>
  <table><tr><td id="cell">1</td></tr></table>
</body></html>"""
HOSTILE_CSS = """
* { color: red !important; display: inline !important; font-size: 40px !important; margin: 30px !important;
    font-family: serif !important; line-height: 5 !important; }
html { font-size: 5px !important; }
fast-hot-reload-overlay { display: none !important; opacity: 0 !important; inset: auto !important; }
"""
SERVER_GONE = {"title": "The server has not come back", "message": "Look at its terminal: it may have stopped."}


def jinja_details(tmp_path: Path, source: str, **context: Any) -> dict[str, Any]:
    """What describe_exception says of a real error raised while a real template rendered."""
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / "page.html").write_text(source)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)))
    with pytest.raises(Exception) as info:
        env.get_template("page.html").render(**context)
    return describe_exception(info.value, (tmp_path,))


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    tab = context.new_page()
    tab.console_lines = []
    tab.on("console", lambda m: tab.console_lines.append((m.type, m.text)))
    tab.set_content(APP)
    tab.add_script_tag(content=ROOM + "\nwindow.Overlay = Overlay;")
    yield tab
    tab.close()


def show(page: Any, details: dict[str, Any]) -> None:
    page.evaluate("([d, p]) => Overlay.show(d, p)", [details, PREFIX])


def shown(page: Any) -> bool:
    return bool(page.evaluate("Overlay.shown() && document.querySelectorAll('fast-hot-reload-overlay').length === 1"))


SHADOW = """() => {
  const host = document.querySelector("fast-hot-reload-overlay");
  const root = host.shadowRoot;
  const texts = (selector) => [...root.querySelectorAll(selector)].map((e) => e.textContent);
  return {
    parent: host.parentNode === document.documentElement,
    defined: !!customElements.get("fast-hot-reload-overlay"),
    kind: root.querySelector(".kind").textContent,
    title: root.querySelector("h1").textContent,
    message: texts(".message"),
    where: texts(".where"),
    rows: [...root.querySelectorAll("tr")].map((tr) => [tr.className, ...[...tr.cells].map((c) => c.textContent)]),
    appFrames: texts(".frames > ol > li .frame-at"),
    libraryFrames: texts("details li .frame-at"),
    summary: texts("summary"),
    folded: [...root.querySelectorAll("details")].map((d) => !d.open),
    chain: texts(".chain li"),
    text: root.textContent,
  };
}"""


def test_the_room_can_be_included_in_the_client(tmp_path: Path) -> None:
    for sequence in ("{{", "{%", "{#"):
        assert sequence not in ROOM
    assert ROOM.startswith("// ---- overlay: errors shown over the page, in a shadow root, as text only ----\n")
    assert ROOM.endswith("  return { show, clear, shown };\n})();\n")
    top_level = re.findall(r"^(?:const|let|var|function|class)\s+(\w+)", ROOM, re.MULTILINE)
    assert top_level == ["Overlay"]
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "overlay.js").write_text(ROOM)
    (tmp_path / "client.js").write_text('(() => {\n  "use strict";\n{% include "client/overlay.js" %}\n})();\n')
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), keep_trailing_newline=True)
    assert env.get_template("client.js").render() == '(() => {\n  "use strict";\n' + ROOM + "\n})();\n"


def test_a_template_error_shows_in_the_shadow_root(page: Any, tmp_path: Path) -> None:
    details = jinja_details(tmp_path, "<main>\n  <h1>Orders</h1>\n  <p>{{ user.name }}</p>\n</main>\n")
    assert details["title"] == "jinja2.exceptions.UndefinedError"
    show(page, details)
    assert shown(page)
    seen = page.evaluate(SHADOW)
    assert seen["parent"] and seen["defined"]
    assert seen["kind"] == "Template error"
    assert seen["title"] == "jinja2.exceptions.UndefinedError"
    assert seen["message"] == ["'user' is undefined"]
    assert seen["where"] == ["templates/page.html:3  (template page.html)"]
    assert seen["rows"] == [
        ["", "1", "<main>"],
        ["", "2", "  <h1>Orders</h1>"],
        ["current", "3", "  <p>{{ user.name }}</p>"],
        ["", "4", "</main>"],
    ]
    app = [f for f in details["frames"] if f["app"]]
    library = [f for f in details["frames"] if not f["app"]]
    assert app and library
    assert seen["appFrames"] == [f"{f['function']}  {f['file']}:{f['line']}" for f in app]
    assert seen["libraryFrames"] == [f"{f['function']}  {f['file']}:{f['line']}" for f in library]
    assert seen["summary"] == [f"{len(library)} library frames"] and seen["folded"] == [True]
    assert page.evaluate("document.documentElement.outerHTML").count("user.name") == 0  # all of it in the shadow


def test_a_syntax_error_marks_its_column(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "views.py"
    path.write_text("import os\n\ndef view(:\n    return 1\n")
    with pytest.raises(SyntaxError) as info:
        compile(path.read_text(), str(path), "exec")
    show(page, describe_exception(info.value, (tmp_path,)))
    seen = page.evaluate(SHADOW)
    assert seen["kind"] == "Syntax error"
    assert seen["where"] == ["views.py:3:10"]
    assert seen["rows"][2:4] == [["current", "3", "def view(:"], ["caret", "", "         ^"]]


def test_error_text_is_never_html(page: Any, tmp_path: Path) -> None:
    def fail(text: str) -> None:
        raise ValueError(text)

    details = jinja_details(
        tmp_path,
        '<p>ok</p>\n<img src=x onerror="window.pwned = 1">{{ fail("<img src=x onerror=window.pwned=2>") }}\n',
        fail=fail,
    )
    details["title"] = "<img src=x onerror=window.pwned=3>"
    details["frames"][-1]["function"] = "<b onmouseover=window.pwned=4>f</b>"
    show(page, details)
    seen = page.evaluate(SHADOW)
    assert seen["message"] == ["<img src=x onerror=window.pwned=2>"]
    assert seen["title"] == "<img src=x onerror=window.pwned=3>"
    line = '<img src=x onerror="window.pwned = 1">{{ fail("<img src=x onerror=window.pwned=2>") }}'
    assert ["current", "2", line] in seen["rows"]
    counts = "(r) => [r.querySelectorAll('img, b').length, document.querySelectorAll('img, b').length]"
    assert page.evaluate(f"({counts})(document.querySelector('fast-hot-reload-overlay').shadowRoot)") == [0, 0]
    # an image that fails to load does run its handler on this page: so ours would have by now, had one been made
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.control = 1\">')")
    page.wait_for_function("window.control === 1")
    assert page.evaluate("window.pwned") is None


def test_esc_the_button_and_the_backdrop_close_it(page: Any) -> None:
    show(page, SERVER_GONE)
    page.keyboard.press("Escape")
    assert not shown(page)
    assert page.evaluate("document.querySelector('fast-hot-reload-overlay')") is None

    show(page, SERVER_GONE)
    page.locator("fast-hot-reload-overlay .close").click()
    assert not shown(page)

    show(page, SERVER_GONE)
    page.locator("fast-hot-reload-overlay h1").click()  # inside the panel: stays
    assert shown(page)
    box = page.locator("fast-hot-reload-overlay .message").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)  # select text, let go outside: stays
    page.mouse.down()
    page.mouse.move(5, 5, steps=4)
    page.mouse.up()
    assert shown(page)
    page.mouse.click(5, 5)
    assert not shown(page)

    show(page, SERVER_GONE)
    page.evaluate("Overlay.clear()")
    assert not shown(page)
    assert page.evaluate("document.querySelectorAll('fast-hot-reload-overlay').length") == 0
    page.keyboard.press("Escape")  # with nothing shown, Esc is the page's again
    assert not shown(page)


def test_one_console_line_per_distinct_error(page: Any, tmp_path: Path) -> None:
    first = jinja_details(tmp_path, "{{ 1 / 0 }}")
    second = jinja_details(tmp_path, "{{ missing.attr }}")
    show(page, first)
    show(page, first)  # the same in a row: quiet, and still one overlay
    assert page.evaluate("document.querySelectorAll('fast-hot-reload-overlay').length") == 1
    show(page, second)
    page.keyboard.press("Escape")
    show(page, second)  # closed by hand, then the same again: shown, not logged
    assert shown(page)
    page.evaluate("Overlay.clear()")
    show(page, second)  # after a good update the same error is news
    show(page, SERVER_GONE)
    wait_for(lambda: len(page.console_lines) >= 4, what="four console lines")
    assert page.console_lines == [
        ("error", f"{PREFIX} {first['text']}"),
        ("error", f"{PREFIX} {second['text']}"),
        ("error", f"{PREFIX} {second['text']}"),
        ("error", f"{PREFIX} The server has not come back\nLook at its terminal: it may have stopped."),
    ]


def test_minimal_details(page: Any) -> None:
    show(page, SERVER_GONE)
    seen = page.evaluate(SHADOW)
    assert (seen["kind"], seen["title"], seen["message"]) == ("", SERVER_GONE["title"], [SERVER_GONE["message"]])
    assert (seen["where"], seen["rows"], seen["appFrames"], seen["summary"]) == ([], [], [], [])


def test_a_long_error_scrolls(page: Any, tmp_path: Path) -> None:
    def dive(depth: int) -> None:
        if depth == 0:
            raise RecursionError("deep")
        dive(depth - 1)

    with pytest.raises(RecursionError) as info:
        dive(80)
    details = describe_exception(info.value, (tmp_path,))
    page.set_viewport_size({"width": 800, "height": 400})
    show(page, details)
    page.evaluate("document.querySelector('fast-hot-reload-overlay').shadowRoot.querySelector('details').open = true")
    scrolled = page.evaluate("""() => {
      const backdrop = document.querySelector("fast-hot-reload-overlay").shadowRoot.querySelector(".backdrop");
      backdrop.scrollTop = 500;
      return [backdrop.scrollTop, getComputedStyle(backdrop).position, scrollY];
    }""")
    assert scrolled == [500, "fixed", 0]


STYLES = """() => {
  const host = document.querySelector("fast-hot-reload-overlay");
  const root = host.shadowRoot;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
  const css = (e, ...names) => names.map((n) => getComputedStyle(e).getPropertyValue(n));
  return {
    host: [box(host), ...css(host, "display", "position", "z-index", "opacity")],
    panel: [box(root.querySelector(".panel")), ...css(root.querySelector(".panel"), "background-color", "display")],
    title: [box(root.querySelector("h1")), ...css(root.querySelector("h1"), "color", "font-size", "font-family")],
    row: css(root.querySelector("tr.current"), "background-color", "display"),
    code: css(root.querySelector("tr.current td.code"), "color", "font-family", "white-space"),
    close: [box(root.querySelector(".close")), ...css(root.querySelector(".close"), "color", "display")],
  };
}"""
PAGE_STYLES = """() => ["h1", "pre", "button", "#cell", "input"].map((s) => {
  const style = getComputedStyle(document.querySelector(s));
  return [s, style.color, style.fontFamily, style.fontSize, style.display, style.backgroundColor, style.margin];
})"""


def test_page_styles_do_not_reach_in_and_ours_do_not_leak_out(context: Any, tmp_path: Path) -> None:
    details = jinja_details(tmp_path, "<p>\n{{ user.name }}\n</p>\n")
    seen = []
    for css in ("", HOSTILE_CSS):
        tab = context.new_page()
        tab.set_content(APP)
        if css:
            tab.add_style_tag(content=css)
        tab.add_script_tag(content=ROOM + "\nwindow.Overlay = Overlay;")
        before = tab.evaluate(PAGE_STYLES)
        show(tab, details)
        assert tab.evaluate(PAGE_STYLES) == before  # nothing of ours reaches the page
        seen.append(tab.evaluate(STYLES))
        tab.close()
    plain, hostile = seen
    assert plain == hostile
    assert plain["host"][1:] == ["block", "fixed", "2147483647", "1"]
    assert plain["title"][1] != "rgb(255, 0, 0)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_its_own_palette_follows_the_color_scheme(browser: Any, scheme: str) -> None:
    ctx = browser.new_context(color_scheme=scheme)
    tab = ctx.new_page()
    tab.set_content(APP)
    tab.add_script_tag(content=ROOM + "\nwindow.Overlay = Overlay;")
    show(tab, SERVER_GONE)
    colours = tab.evaluate("""() => {
      const root = document.querySelector("fast-hot-reload-overlay").shadowRoot;
      const css = (selector) => getComputedStyle(root.querySelector(selector));
      return [css(".panel").backgroundColor, css("h1").color];
    }""")
    ctx.close()
    light, dark = ["rgb(255, 255, 255)", "rgb(31, 35, 40)"], ["rgb(28, 31, 36)", "rgb(230, 237, 243)"]
    assert colours == (light if scheme == "light" else dark)


def test_it_keeps_the_focus_of_a_form_being_typed_in(page: Any) -> None:
    page.locator("#name").click()
    page.keyboard.type("Ad")
    show(page, SERVER_GONE)
    page.keyboard.type("a")
    assert page.evaluate("[document.activeElement.id, document.querySelector('#name').value]") == ["name", "Ada"]
    page.keyboard.press("Escape")
    assert not shown(page)
    page.evaluate("document.activeElement.blur()")
    show(page, SERVER_GONE)  # nobody typing: focus moves in, so keys scroll the overlay, not the page
    focus = "[document.activeElement.localName, document.activeElement.shadowRoot.activeElement.className]"
    assert page.evaluate(focus) == ["fast-hot-reload-overlay", "panel"]


def test_a_page_without_a_body(page: Any) -> None:
    page.evaluate("document.body.remove()")
    show(page, SERVER_GONE)
    assert shown(page)
    assert page.evaluate("document.querySelector('fast-hot-reload-overlay').parentNode === document.documentElement")
    page.evaluate("Overlay.clear(); document.documentElement.remove()")
    show(page, {"title": "no document element"})
    assert page.evaluate("Overlay.shown()") is False
    wait_for(lambda: any("no document element" in text for _, text in page.console_lines), what="the console line")


def test_a_second_copy_and_a_worker(page: Any) -> None:
    page.add_script_tag(content="(() => {\n" + ROOM + "\nwindow.Overlay2 = Overlay;\n})();")
    page.evaluate("([d, p]) => Overlay2.show(d, p)", [SERVER_GONE, PREFIX])  # its element is defined already
    assert page.evaluate("Overlay2.shown() && document.querySelectorAll('fast-hot-reload-overlay').length === 1")
    show(page, {"title": "replaced"})  # one overlay on the page, whichever copy showed it
    assert shown(page) and page.evaluate("Overlay2.shown()") is False
    page.evaluate("Overlay.clear()")
    assert page.evaluate("document.querySelectorAll('fast-hot-reload-overlay').length") == 0
    # in a worker there is no DOM: the room still loads, logs and shows nothing
    result = page.evaluate(
        """(room) => new Promise((resolve) => {
          const code = room + "\\nOverlay.show({ title: 'in a worker' }, 'w'); postMessage(String(Overlay.shown()));";
          const worker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => resolve("error: " + e.message);
        })""",
        ROOM,
    )
    assert result == "false"


def test_a_strict_style_csp_still_styles_it(context: Any) -> None:
    tab = context.new_page()
    csp = "style-src 'none'; script-src 'unsafe-inline'"
    tab.set_content(f'<meta http-equiv="Content-Security-Policy" content="{csp}"><p>page</p>')
    tab.add_script_tag(content=ROOM + "\nwindow.Overlay = Overlay;")
    show(tab, SERVER_GONE)
    panel = "getComputedStyle(document.querySelector('fast-hot-reload-overlay').shadowRoot.querySelector('.panel'))"
    assert tab.evaluate(f"[{panel}.backgroundColor, {panel}.maxWidth]") == ["rgb(255, 255, 255)", "980px"]
    tab.close()
