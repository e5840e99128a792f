"""What the user typed in content that comes after load (an htmx-loaded form, a field a script adds) survives a
full reload: the text, the caret and the focus come back when the content does (tests/apps/late, a real uvicorn
--reload, a real edit of the page's script). Typing done meanwhile is the user's, and a default the template
changed wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .._support.browser import TIMEOUT, edit
from .._support.late import FORM_IN, READ_FORM, TYPE_IN_FORM, TYPED, hold_form, late_page, reload_by_script_edit

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("htmx", ["1", "2"])
def test_text_caret_and_focus_in_an_htmx_loaded_form_come_back(serve: Any, context: BrowserContext, htmx: str) -> None:
    server = serve("late", env={"FHR_HTMX": htmx})
    tab = late_page(context, server)
    tab.page.evaluate(TYPE_IN_FORM)
    assert tab.page.evaluate(READ_FORM) == TYPED
    reload_by_script_edit(tab, server)
    tab.page.wait_for_function(FORM_IN, timeout=TIMEOUT * 1000)
    assert tab.page.evaluate(READ_FORM) == TYPED


def test_a_field_a_script_adds_late_comes_back_with_caret_and_focus(serve: Any, context: BrowserContext) -> None:
    server = serve("late", env={"FHR_MODE": "sse"})
    tab = late_page(context, server)
    tab.page.evaluate(
        "() => { const memo = document.getElementsByName('memo')[0];"
        " memo.value = 'a memo'; memo.focus(); memo.setSelectionRange(2, 2); }"
    )
    reload_by_script_edit(tab, server)
    tab.page.wait_for_function("document.getElementsByName('memo').length === 1", timeout=TIMEOUT * 1000)
    memo = tab.page.evaluate(
        "() => { const memo = document.getElementsByName('memo')[0];"
        " return [memo.value, document.activeElement === memo, memo.selectionStart, memo.selectionEnd]; }"
    )
    assert memo == ["a memo", True, 2, 2]


def test_a_late_field_whose_default_changed_in_the_template_gets_the_new_default(
    serve: Any, context: BrowserContext
) -> None:
    server = serve("late")
    tab = late_page(context, server)
    tab.page.evaluate(TYPE_IN_FORM)
    hold_form(server, True)
    reload_by_script_edit(tab, server)
    # the reloaded page asked for the form; the template changes before its answer renders
    edit(server, "templates/partials/form.html", 'value="draft-v1"', 'value="draft-v2"')
    assert not tab.page.evaluate(FORM_IN)
    hold_form(server, False)
    tab.page.wait_for_function(FORM_IN, timeout=TIMEOUT * 1000)
    state = tab.page.evaluate(READ_FORM)
    assert (state["title"], state["notes"], state["focus"]) == ("draft-v2", "my notes", "title")


def test_typing_before_the_late_form_arrives_is_not_overwritten(serve: Any, context: BrowserContext) -> None:
    server = serve("late")
    tab = late_page(context, server)
    tab.page.fill("#search", "saved search")
    tab.page.evaluate(TYPE_IN_FORM)  # the focus is in the form's title
    hold_form(server, True)
    reload_by_script_edit(tab, server)
    tab.page.wait_for_function("document.getElementById('search').value === 'saved search'")
    tab.page.click("#search")  # the user goes on while the form has not come yet
    tab.page.keyboard.press("End")
    tab.page.keyboard.type(" and more")
    assert not tab.page.evaluate(FORM_IN)
    hold_form(server, False)
    tab.page.wait_for_function(FORM_IN, timeout=TIMEOUT * 1000)
    state = tab.page.evaluate(READ_FORM)
    assert tab.page.evaluate("document.getElementById('search').value") == "saved search and more"
    assert state["focus"] == "q"  # not taken back into the form that came meanwhile
    assert (state["title"], state["notes"], state["agree"]) == ("my title", "my notes", True)
    tab.page.fill("#signup [name=title]", "typed after it came")
    tab.page.evaluate("document.getElementById('later').append(document.createElement('p'))")  # more late content
    tab.page.wait_for_function("document.querySelector('#later p')")
    tab.page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert tab.page.evaluate(READ_FORM)["title"] == "typed after it came"  # filled once, never again over it
