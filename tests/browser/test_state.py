"""The client's state room in real Chromium: what the user has survives a real full reload.

Pages come from a Playwright route on a real-looking origin (http://fhr.test), so sessionStorage works and
`page.reload()` is a real reload. Each page loads the room the way the client will: inside one strict IIFE,
from a `defer` script, calling `State.restore()` at once. The pages turn the browser's own scroll restoration
off, so what comes back is the room's doing. Every wait is a condition with a deadline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jinja2
import pytest

from .._support.browser import CLIENT

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

pytestmark = pytest.mark.browser

ROOM = CLIENT / "state.js"
LATE = CLIENT / "late.js"  # the room state.js waits for late content with, included before it as in the client
ORIGIN = "http://fhr.test"
KEY = "fast-hot-reload:state"
DEADLINE_MS = 5000  # for waits on the page; everything here happens in well under a second
# the test page's stand-in for the client: the rooms in a strict IIFE, then restore() (options from ?wait=)
DRIVER = """(() => {
  "use strict";
%s
  const wait = new URLSearchParams(location.search).get("wait");
  window.fhrState = State;
  window.fhrHeightAtRestore = document.documentElement.scrollHeight;
  window.fhrRestoredAt = performance.now();
  window.fhrRestored = State.restore(wait ? { scrollWait: Number(wait) } : undefined);
})();
"""
HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>state</title>
<script>history.scrollRestoration = "manual";</script>
<script src="/client.js" defer></script>
<style>body{margin:0} .box{height:100px;overflow:auto} .box div{height:1000px}</style></head>"""

FORM_PAGE = (
    HEAD
    + """<body>
<form id="signup">
  <input id="title" value="old title">
  <textarea id="notes">first</textarea>
  <select id="size"><option>s</option><option>m</option><option>l</option></select>
  <select id="tags" multiple><option>a</option><option selected>b</option><option>c</option></select>
  <input type="checkbox" id="agree">
  <input type="radio" name="color" value="red" checked><input type="radio" name="color" value="blue">
  <input name="nick"><input name="nick">
  <input type="password" id="pw">
  <input type="hidden" id="token" value="t0">
  <input id="private" data-fhr-nostate>
</form>
<section id="area"><p>by path</p><div><input class="pathy"></div></section>
<details id="more"><summary>more</summary>inside</details>
<details open><summary>faq</summary>answer</details>
<div class="box" id="box"><div>tall</div></div>
<main><div class="box"><div>tall, no id</div></div></main>
<dialog id="modal"><input id="in-dialog"></dialog>
<dialog id="note">non-modal</dialog>
<div style="height:4000px"></div>
</body></html>"""
)

GROW = """<script>
  addEventListener("wheel", () => { window.wheeled = true; });
  function grow() {
    const late = document.createElement("div");
    late.id = "late";
    late.innerHTML = '<div class="box" id="feed"><div>feed</div></div><div style="height:5000px"></div>';
    document.body.append(late);
  }
  function stretch() { document.getElementById("spacer").style.height = "5000px"; }
  function picture() { pic.src = "data:image/svg+xml," + encodeURIComponent(TALL_SVG); }
  const TALL_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="1000"></svg>';
  function swap() { document.getElementById("slot").innerHTML = '<div class="box" id="feed"><div>feed</div></div>'; }
</script>"""
# content arrives 300 ms after load, as an htmx hx-trigger="load delay:300ms" would bring it
LATE_PAGE = HEAD + "<body><p>top</p>" + GROW + '<script>addEventListener("load", () => setTimeout(grow, 300));</script>'
# grows when the test calls grow() (appends), stretch() (a style change), swap() (fills a fixed-size slot)
# or picture() (an image loads in a scrolled box: neither new nodes nor a new page size)
MANUAL_PAGE = (
    HEAD
    + '<body><p>top</p><div id="slot" style="height:120px"></div><div id="spacer"></div>'
    + '<div class="box" id="gallery"><img id="pic" alt=""></div>'
    + GROW
)

Pages = dict[str, str]


@pytest.fixture
def pages(context: BrowserContext) -> Iterator[Pages]:
    """Path -> HTML served on ORIGIN; a test edits it between loads to change the markup."""
    served: Pages = {"/": FORM_PAGE, "/late": LATE_PAGE, "/manual": MANUAL_PAGE}
    script = DRIVER % (LATE.read_text() + ROOM.read_text())

    def answer(route: Route) -> None:
        path = "/" + route.request.url.removeprefix(ORIGIN + "/").split("?")[0]
        if path == "/client.js":
            route.fulfill(body=script, content_type="application/javascript")
        elif path in served:
            route.fulfill(body=served[path], content_type="text/html")
        else:
            route.fulfill(status=404, body="")

    context.route(ORIGIN + "/**", answer)
    yield served


def open_page(context: BrowserContext, path: str) -> Page:
    page = context.new_page()
    page.goto(ORIGIN + path)
    ready(page)
    return page


def ready(page: Page) -> Any:
    """Wait for the driver to have run; returns what State.restore() said."""
    page.wait_for_function("'fhrRestored' in window", timeout=DEADLINE_MS)
    return page.evaluate("window.fhrRestored")


def reload(page: Page) -> Any:
    page.reload()
    return ready(page)


def until(page: Page, expression: str, arg: Any = None) -> None:
    page.wait_for_function(expression, arg=arg, timeout=DEADLINE_MS)


def after_frames(page: Page, expression: str) -> Any:
    """Evaluate `expression` (may run code), then wait two frames, so observers have seen the change."""
    return page.evaluate(
        "async (code) => { const out = eval(code);"
        " await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))); return out; }",
        expression,
    )


def stored(page: Page) -> Any:
    return page.evaluate("(key) => sessionStorage.getItem(key)", KEY)


def user_edits(page: Page) -> None:
    """What a user does on FORM_PAGE: type, tick, choose, scroll, open, focus and select text."""
    page.fill("#title", "my title")
    page.fill("#notes", "my notes")
    page.select_option("#size", "l")
    page.select_option("#tags", ["a", "c"])
    page.check("#agree")
    page.check("input[value=blue]")
    page.locator("input[name=nick]").nth(1).fill("second nick")
    page.fill(".pathy", "found by path")
    page.fill("#pw", "secret-password")
    page.fill("#private", "not kept")
    page.evaluate("document.getElementById('token').value = 'changed-token'")
    page.click("details[open] summary")  # the user closes the one the markup opened
    page.click("#more summary")
    page.evaluate("""() => {
      document.getElementById("note").show();
      document.getElementById("modal").showModal();
      const field = document.getElementById("in-dialog");
      field.value = "hello world";
      field.focus();
      field.setSelectionRange(6, 11, "backward");
      document.getElementById("box").scrollTop = 345;
      document.querySelector("main .box").scrollTop = 123;
      scrollTo(0, 1500);
    }""")


STATE = """() => {
  const $ = (s) => document.querySelector(s);
  const details = [...document.querySelectorAll("details")];
  const field = $("#in-dialog");
  return {
    title: $("#title").value, notes: $("#notes").value, size: $("#size").value,
    tags: [...$("#tags").selectedOptions].map((o) => o.value), agree: $("#agree").checked,
    color: $("input[name=color]:checked").value, nicks: [...document.getElementsByName("nick")].map((n) => n.value),
    pathy: $(".pathy").value, pw: $("#pw").value, token: $("#token").value, private: $("#private").value,
    details: details.map((d) => d.open),
    modal: $("#modal").open && $("#modal").matches(":modal"), note: $("#note").open && !$("#note").matches(":modal"),
    focus: document.activeElement.id,
    selection: [field.selectionStart, field.selectionEnd, field.selectionDirection],
    box: $("#box").scrollTop, box2: $("main .box").scrollTop, y: scrollY,
  };
}"""
RESTORED = {
    "title": "my title",
    "notes": "my notes",
    "size": "l",
    "tags": ["a", "c"],
    "agree": True,
    "color": "blue",
    "nicks": ["", "second nick"],
    "pathy": "found by path",
    "pw": "",
    "token": "t0",
    "private": "",
    "details": [True, False],
    "modal": True,
    "note": True,
    "focus": "in-dialog",
    "selection": [6, 11, "backward"],
    "box": 345,
    "box2": 123,
    "y": 1500,
}


def test_everything_the_user_has_comes_back_after_a_reload(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/")
    user_edits(page)
    unkept = {"pw": "secret-password", "token": "changed-token", "private": "not kept"}
    assert page.evaluate(STATE) == {**RESTORED, **unkept}  # the edits did what we think
    page.evaluate("fhrState.save()")
    snapshot = stored(page)
    assert snapshot is not None
    for value in [*unkept.values(), "old title"]:
        assert value not in snapshot  # passwords, hidden and opted-out fields, and defaults are not stored
    assert len(snapshot) < 1500

    assert reload(page) is True
    until(page, "() => scrollY === 1500")
    assert page.evaluate(STATE) == RESTORED
    assert stored(page) is None


def test_a_second_reload_restores_nothing(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/")
    user_edits(page)
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    until(page, "() => scrollY === 1500")
    assert reload(page) is False  # consumed once: this reload had no snapshot
    state = page.evaluate(STATE)
    assert (state["title"], state["modal"], state["y"], state["box"]) == ("old title", False, 0, 0)


def test_a_field_whose_markup_changed_keeps_the_new_default(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/")
    page.fill("#title", "my title")
    page.fill("#notes", "my notes")
    page.select_option("#size", "l")
    page.evaluate("fhrState.save()")
    pages["/"] = FORM_PAGE.replace('value="old title"', 'value="new title"').replace("<option>m", "<option selected>m")
    assert reload(page) is True
    values = page.evaluate("[title.value, notes.value, size.value]")
    assert values == ["new title", "my notes", "m"]  # the server's edits win; the untouched field keeps the user's


def test_scroll_comes_back_on_a_page_that_grows_after_load(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/late")
    until(page, "() => document.getElementById('feed')")
    page.evaluate("document.getElementById('feed').scrollTop = 200; scrollTo(0, 2500)")
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    assert page.evaluate("fhrHeightAtRestore < 2500")  # at restore time the saved spot did not exist yet
    until(page, "() => scrollY === 2500 && document.getElementById('feed')?.scrollTop === 200")


@pytest.mark.parametrize(
    ("change", "scroll", "where", "saved"),
    [
        ("grow()", "scrollTo(0, 2500)", "scrollY", 2500),  # new nodes, a taller page
        ("stretch()", "scrollTo(0, 2500)", "scrollY", 2500),  # no new nodes: only the size tells
        ("swap()", "feed.scrollTop = 200", "feed.scrollTop", 200),  # new nodes, same page size
    ],
)
def test_content_that_arrives_in_time_gets_the_scroll(
    context: BrowserContext, pages: Pages, change: str, scroll: str, where: str, saved: int
) -> None:
    page = open_page(context, "/manual?wait=10000")
    page.evaluate(f"{change}; {scroll}")
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    assert page.evaluate("scrollY === 0 && !window.feed")  # what the new page has before the content comes
    # the twin of the tests below: two frames after the change are enough
    assert after_frames(page, f"{change}; 0") == 0
    assert page.evaluate(where) == saved


def test_an_image_that_loads_late_gets_its_box_scrolled(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/manual?wait=10000")
    page.evaluate("picture()")
    until(page, "() => pic.complete && gallery.scrollHeight > 500")
    page.evaluate("gallery.scrollTop = 300; fhrState.save()")
    assert reload(page) is True
    assert page.evaluate("gallery.scrollTop") == 0
    page.evaluate("picture()")
    until(page, "() => gallery.scrollTop === 300")


def test_a_user_scroll_during_the_wait_cancels_the_restore(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/manual?wait=10000")
    page.evaluate("grow(); scrollTo(0, 2500)")
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    page.mouse.move(100, 10)
    page.mouse.wheel(0, 40)
    until(page, "() => window.wheeled")
    after_frames(page, "grow(); 0")
    assert page.evaluate("scrollY") < 100  # the page grew, but the user had taken over


def test_a_scroll_not_by_the_user_during_the_wait_is_undone(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/manual?wait=10000")
    page.evaluate("grow(); scrollTo(0, 2500)")
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    after_frames(page, "grow(); 0")
    assert page.evaluate("scrollY") == 2500
    # the browser's own restore at load, placed for the page as it was then, or a script: no user input
    page.evaluate("scrollTo(0, 400)")
    until(page, "() => scrollY === 2500")


def test_the_restore_gives_up_after_its_wait(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/manual?wait=100")
    page.evaluate("grow(); scrollTo(0, 2500)")
    page.evaluate("fhrState.save()")
    assert reload(page) is True
    until(page, "() => performance.now() > fhrRestoredAt + 300")  # well past the 100 ms this page allows
    after_frames(page, "grow(); 0")
    assert page.evaluate("scrollY") == 0


@pytest.mark.parametrize("change", ["other url", "stale"])
def test_a_snapshot_for_another_page_or_time_is_ignored_and_removed(
    context: BrowserContext, pages: Pages, change: str
) -> None:
    page = open_page(context, "/")
    page.fill("#title", "my title")
    page.evaluate("fhrState.save()")
    snapshot = json.loads(stored(page))
    if change == "other url":
        snapshot["url"] = ORIGIN + "/elsewhere"
    else:
        snapshot["time"] -= 16_000
    page.evaluate("([key, value]) => sessionStorage.setItem(key, value)", [KEY, json.dumps(snapshot)])
    assert reload(page) is False
    assert page.evaluate("title.value") == "old title"
    assert stored(page) is None


def test_odd_snapshots_and_broken_storage_never_throw(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/")
    hostile = {
        "url": ORIGIN + "/",
        "time": "now",
    }
    for text in ["not json {", json.dumps(hostile), "7", "null"]:
        page.evaluate("([key, value]) => sessionStorage.setItem(key, value)", [KEY, text])
        assert reload(page) is False
    odd = {
        "fields": [[["#", "title"], "kept"], [["n", ["#", "nope"], "x", 0], 1, 2], None, [["p", None, "x"], 1, 2]],
        "details": [["bad"]],
        "dialogs": [None, [["#", "title"], "modal"]],
        "focus": 7,
        "scroll": "down",
    }
    page.evaluate(
        "([key, odd]) => sessionStorage.setItem(key, JSON.stringify({ ...odd, url: location.href, time: Date.now() }))",
        [KEY, odd],
    )
    assert reload(page) is True  # a snapshot for this page, so it is used, as far as it makes sense
    assert page.evaluate("document.getElementById('modal').open") is False
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.evaluate("""() => {
      Storage.prototype.setItem = () => { throw new DOMException("full", "QuotaExceededError"); };
      fhrState.save();
      delete Storage.prototype.setItem;
    }""")
    assert page.evaluate("fhrState.restore(null)") is False
    assert errors == []


def test_the_room_declares_only_state(context: BrowserContext, pages: Pages) -> None:
    page = open_page(context, "/")
    before = set(page.evaluate("Object.keys(window)"))
    run_room_again = "(room) => (0, eval)(`(() => { 'use strict';\\n${room}\\nState.save(); State.restore(); })()`)"
    page.evaluate(run_room_again, ROOM.read_text())
    assert set(page.evaluate("Object.keys(window)")) == before
    source = ROOM.read_text()
    top_level = re.findall(r"^(?:const|let|var|function|class)\s+(\w+)", source, re.MULTILINE)
    assert top_level == ["State"]
    assert source.startswith("// ---- state: ") and source.rstrip().endswith("return { save, restore };\n})();")


def test_the_room_renders_through_jinja_unchanged() -> None:
    source = ROOM.read_text()
    assert not any(mark in source for mark in ("{{", "{%", "{#"))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOM.parent)), keep_trailing_newline=True)
    assert env.get_template(ROOM.name).render() == source
