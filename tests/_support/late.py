"""The late app (tests/apps/late) in a browser tab: what the user does on it, what comes back, and the full
reload that a script edit forces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .browser import TIMEOUT, Tab, edit, open_tab

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from .servers import Server

# what the user has in the htmx-loaded form: typed text in fields found by form + name, id and path, a tick,
# and the focus with a text selection (a caret range) in the title
TYPE_IN_FORM = """() => {
    const form = document.getElementById("signup");
    form.elements.title.value = "my title";
    form.elements.notes.value = "my notes";
    document.getElementById("email").value = "me@example.com";
    form.querySelector("p input").value = "by path";
    form.elements.agree.checked = true;
    form.elements.title.focus();
    form.elements.title.setSelectionRange(3, 6);
}"""

READ_FORM = """() => {
    const form = document.getElementById("signup");
    const active = document.activeElement;
    return {
        title: form.elements.title.value, notes: form.elements.notes.value,
        email: document.getElementById("email").value, path: form.querySelector("p input").value,
        agree: form.elements.agree.checked,
        focus: active.name || active.id || active.tagName, selection: [active.selectionStart, active.selectionEnd],
    };
}"""

TYPED = {
    "title": "my title",
    "notes": "my notes",
    "email": "me@example.com",
    "path": "by path",
    "agree": True,
    "focus": "title",
    "selection": [3, 6],
}
FORM_IN = "() => document.getElementById('signup') !== null"


def late_page(context: BrowserContext, server: Server) -> Tab:
    """The late app's home page, connected, its htmx form and its script's field in."""
    tab = open_tab(context, server.url + "/")
    tab.page.wait_for_function(f"({FORM_IN})() && document.getElementsByName('memo').length === 1")
    return tab


def reload_by_script_edit(tab: Tab, server: Server, old: str = "js-v1", new: str = "js-v2") -> None:
    """Edit static/app.js (a script change reloads the page) and wait for the reloaded page to run it."""
    navigations = len(tab.navigations)
    edit(server, "static/app.js", old, new)
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a full reload")
    tab.page.wait_for_function(f"window.appVersion === {new!r}", timeout=TIMEOUT * 1000)


def hold_form(server: Server, held: bool) -> Any:
    """Hold the form's answers on the server (or release them): the page can be acted on before it comes."""
    return httpx.post(server.url + ("/hold" if held else "/release"), timeout=5).json()
