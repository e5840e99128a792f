"""Real-shaped pages in headless Chromium: htmx and Alpine, an inline script, a form, an htmx-loaded fragment,
templates split with extends/include, a cookie-auth redirect middleware, GZip and CORS, StaticFiles with its
defaults, FastAPI's default debug=False (tests/apps/real). Every edit is a real file write under a real
`uvicorn --reload`; each test runs in both transports.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from .._support import REPO
from .._support.browser import (
    KEPT,
    MODES,
    PREFIX,
    READ_STATE,
    REFRESHED,
    TIMEOUT,
    edit,
    home,
    latency,
    logged_in,
    open_tab,
)
from .._support.servers import Server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.browser


def serve_real(serve: Any, mode: str, **env: str) -> Server:
    server: Server = serve("real", env={"FHR_MODE": mode, **env})
    return server


@pytest.mark.parametrize("mode", MODES)
def test_template_edit_keeps_what_the_user_and_the_scripts_have(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode)
    tab = home(context, server)
    navigations = len(tab.navigations)
    started = edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2")
    latency(f"template edit, real page ({mode})", started)
    assert tab.page.evaluate(READ_STATE) == KEPT
    assert len(tab.navigations) == navigations and tab.page.evaluate("window.marker") == 1
    assert tab.text("count") == "3" and tab.text("fragment") == "fragment-v1"  # Alpine's and htmx's work stays
    assert tab.page.evaluate("window.inlineRuns") == 1  # the inline script did not run again
    tab.page.click("#increment")
    tab.wait_text("count", "4")  # Alpine still drives its component
    assert tab.count(f"{REFRESHED}templates/index.html") == 1


@pytest.mark.parametrize("mode", MODES)
def test_partial_edit_updates_the_pages_that_include_it_and_no_other(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    server = serve_real(serve, mode)
    tab = home(context, server)
    other = open_tab(context, server.url + "/other")
    started = edit(server, "templates/partials/form.html", "form-v1", "form-v2")
    tab.wait_text("form-label", "form-v2")
    latency(f"include edit ({mode})", started)
    assert tab.page.evaluate(READ_STATE) == KEPT
    # the other tab does not use the partial: a later edit to its own template is the next thing it shows
    edit(server, "templates/other.html", "other-v1", "other-v2")
    other.wait_text("title", "other-v2")
    assert other.count(f"{REFRESHED}templates/other.html") == 1
    assert not any("form.html" in line for line in other.logs), other.logs
    assert len(other.navigations) == 1


@pytest.mark.parametrize("mode", MODES)
def test_other_tab_is_untouched_by_a_template_it_does_not_use(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode)
    other = open_tab(logged_in(context), server.url + "/other")
    shown = other.text("random")
    tab = home(context, server)
    edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2")
    # the home tab's update is done: a shared event reached both tabs by now, and the other one ignored it
    edit(server, "static/app.css", "rgb(0, 0, 255)", "rgb(255, 0, 0)")
    other.page.wait_for_function(
        "getComputedStyle(document.getElementById('title')).color === 'rgb(255, 0, 0)'", timeout=TIMEOUT * 1000
    )
    assert other.text("random") == shown and len(other.navigations) == 1
    assert not any(line.startswith((REFRESHED, f"{PREFIX} Reloading")) for line in other.logs), other.logs


@pytest.mark.parametrize("mode", MODES)
def test_changed_script_set_reloads_in_full_and_restores_the_state(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    server = serve_real(serve, mode)
    tab = home(context, server)
    navigations = len(tab.navigations)
    edit(server, "templates/index.html", "window.inlineRuns || 0) + 1", "window.inlineRuns || 0) + 10")
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a full reload")
    tab.page.wait_for_function("window.inlineRuns === 10", timeout=TIMEOUT * 1000)
    tab.wait_text("fragment", "fragment-v1")
    tab.page.wait_for_function(f"window.scrollY === {KEPT['scroll']}", timeout=TIMEOUT * 1000)
    assert tab.page.evaluate(READ_STATE) == KEPT
    assert f"{PREFIX} Reloading: templates/index.html (its scripts changed)" in tab.logs


@pytest.mark.parametrize("mode", MODES)
def test_image_edit_refreshes_images_in_place(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode)
    tab = home(context, server)
    navigations = len(tab.navigations)
    started = edit(server, "static/logo.svg", 'fill="red"', 'fill="blue"')
    tab.page.wait_for_function(
        """() => document.getElementById("logo").src.includes("_fhr=")
            && getComputedStyle(document.getElementById("banner")).backgroundImage.includes("_fhr=")
            && document.querySelector('link[rel="icon"]').href.includes("_fhr=")""",
        timeout=TIMEOUT * 1000,
    )
    latency(f"image edit ({mode})", started)
    assert tab.page.evaluate(READ_STATE) == KEPT
    assert len(tab.navigations) == navigations
    assert f"{PREFIX} Images refreshed: static/logo.svg" in tab.logs


@pytest.mark.parametrize("mode", MODES)
def test_script_edit_reloads_and_the_new_script_runs_despite_static_caching(
    serve: Any, context: BrowserContext, mode: str
) -> None:
    """StaticFiles sends no Cache-Control: with a day-old file Chromium would reuse it from its heuristic cache
    on a reload. While hot reload is on, such responses get no-cache, so the reload shows the new script."""
    server = serve_real(serve, mode)
    day_ago = time.time() - 86400
    os.utime(server.root / "static" / "app.js", (day_ago, day_ago))
    tab = home(context, server)
    assert tab.page.evaluate("window.appVersion") == "js-v1"
    navigations = len(tab.navigations)
    edit(server, "static/app.js", "js-v1", "js-v2")
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a full reload")
    tab.page.wait_for_function("window.appVersion === 'js-v2'", timeout=TIMEOUT * 1000)
    # read once what comes after the restore has come: the load (the browser's own scroll restore) and the fragment
    tab.page.wait_for_function(
        f"""document.readyState === "complete" && document.getElementById("fragment") !== null
            && window.scrollY === {KEPT["scroll"]}""",
        timeout=TIMEOUT * 1000,
    )
    assert tab.page.evaluate(READ_STATE) == KEPT


@pytest.mark.parametrize("mode", MODES)
def test_template_then_css_build_is_one_update_showing_both(serve: Any, context: BrowserContext, mode: str) -> None:
    """A template save, and 300 ms later a CSS build's output (tailwindcss --watch): one update, both shown."""
    server = serve_real(serve, mode)
    tab = home(context, server)
    navigations = len(tab.navigations)
    started = edit(server, "templates/index.html", "home-v1", "home-v2")
    time.sleep(0.3)  # the build tool's own delay, part of the scenario, not a wait for a result
    edit(server, "static/app.css", "rgb(0, 0, 255)", "rgb(255, 0, 0)")
    tab.page.wait_for_function(
        """() => document.getElementById("title").textContent === "home-v2"
            && getComputedStyle(document.getElementById("title")).color === "rgb(255, 0, 0)"
            && document.querySelectorAll('link[rel="stylesheet"]').length === 1""",
        timeout=TIMEOUT * 1000,
    )
    latency(f"template then css build ({mode})", started)
    assert len(tab.navigations) == navigations
    assert tab.count(f"{REFRESHED}templates/index.html") == 1
    assert tab.page.evaluate(READ_STATE) == KEPT


@pytest.mark.parametrize("mode", MODES)
def test_login_page_behind_auth_middleware_updates(serve: Any, context: BrowserContext, mode: str) -> None:
    """No session: every page redirects to /login, but our endpoints are served before the auth middleware."""
    server = serve_real(serve, mode)
    tab = open_tab(context, server.url + "/")
    assert tab.page.url == server.url + "/login"
    started = edit(server, "templates/login.html", "login-v1", "login-v2")
    tab.wait_text("title", "login-v2")
    latency(f"login page edit ({mode})", started)
    assert len(tab.navigations) == 1


@pytest.mark.parametrize("mode", MODES)
def test_htmx_fragment_edit_updates_its_tab(serve: Any, context: BrowserContext, mode: str) -> None:
    server = serve_real(serve, mode)
    tab = home(context, server)
    navigations = len(tab.navigations)
    edit(server, "templates/partials/fragment.html", "fragment-v1", "fragment-v2")
    tab.wait_text("fragment", "fragment-v2")
    # htmx loaded the fragment by a GET after the page: that request is sent again and morphed in, no reload
    assert len(tab.navigations) == navigations and tab.page.evaluate("window.marker") == 1
    assert tab.page.evaluate(READ_STATE) == KEPT
    assert tab.count(f"{REFRESHED}templates/partials/fragment.html") == 1


@pytest.mark.parametrize("htmx", ["1", "2"])
def test_new_htmx_attributes_from_a_morph_work(serve: Any, context: BrowserContext, htmx: str) -> None:
    """A template edit adds an hx-get button: htmx is told about the new node, so a click loads the fragment."""
    server = serve_real(serve, "ws", FHR_HTMX=htmx)
    tab = home(context, server)
    edit(
        server,
        "templates/index.html",
        '<div id="banner"></div>',
        '<div id="banner"></div><button id="load" hx-get="/fragment" hx-target="#target">load</button>'
        '<div id="target"></div>',
    )
    tab.page.wait_for_selector("#load", timeout=TIMEOUT * 1000)
    tab.page.click("#load")
    tab.page.wait_for_selector("#target #fragment", timeout=TIMEOUT * 1000)
    assert tab.page.evaluate(READ_STATE)["name"] == KEPT["name"]


def test_new_alpine_component_from_a_morph_works_and_permanent_stays(serve: Any, context: BrowserContext) -> None:
    """Alpine sees a new x-data by itself; an element marked data-fhr-permanent keeps what a script put in it."""
    server = serve_real(serve, "ws")
    edit(server, "templates/index.html", '<div id="banner"></div>', '<div id="banner" data-fhr-permanent></div>')
    tab = home(context, server)
    tab.page.evaluate("document.getElementById('banner').textContent = 'a script put this here'")
    edit(
        server,
        "templates/index.html",
        '<div id="banner" data-fhr-permanent></div>',
        '<div id="banner" data-fhr-permanent>server text</div>'
        '<div x-data="{ on: false }"><button id="toggle" @click="on = !on">t</button>'
        '<b id="state" x-text="on"></b></div>',
    )
    tab.page.wait_for_selector("#toggle", timeout=TIMEOUT * 1000)
    tab.wait_text("state", "false")
    tab.page.click("#toggle")
    tab.wait_text("state", "true")
    assert tab.text("banner") == "a script put this here" and tab.text("count") == "3"
    moved = {"focus", "selection", "scroll"}  # the click moved them
    assert {k: v for k, v in tab.page.evaluate(READ_STATE).items() if k not in moved} == {
        k: v for k, v in KEPT.items() if k not in moved
    }


def test_full_reload_option_on_the_page(serve: Any, context: BrowserContext) -> None:
    server = serve_real(serve, "ws")
    edit(server, "templates/base.html", '<html lang="en">', '<html lang="en" data-fhr-full-reload>')
    tab = home(context, server)
    navigations = len(tab.navigations)
    edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.until(lambda: len(tab.navigations) == navigations + 1, what="a plain full reload")
    tab.wait_text("title", "home-v2")
    assert tab.page.evaluate("document.getElementById('name').value") == ""  # plain: nothing restored


@pytest.mark.parametrize("mode", MODES)
def test_uvicorn_restarting_for_templates_gives_one_update(serve: Any, context: BrowserContext, mode: str) -> None:
    """`--reload-include '*.html'`: the save is an event and a restart; the tab shows it once, state kept."""
    server: Server = serve("real", env={"FHR_MODE": mode}, args=("--reload-include", "*.html"))
    tab = home(context, server)
    navigations = len(tab.navigations)
    started = edit(server, "templates/index.html", "home-v1", "home-v2")
    tab.wait_text("title", "home-v2")
    latency(f"template edit with uvicorn restarting for it ({mode})", started)
    # the restarted server's hello comes after: the tab fetches the page once more and finds nothing new
    tab.until(lambda: f"{PREFIX} Up to date: the server restarted" in tab.logs, 30, "the look after the restart")
    assert tab.count(f"{REFRESHED}templates/index.html") == 1
    assert not any(line.startswith(REFRESHED) and "restarted" in line for line in tab.logs), tab.logs
    assert len(tab.navigations) == navigations and tab.page.evaluate(READ_STATE) == KEPT


def test_example_app_keeps_the_form_and_the_count_and_leaves_the_other_tab(serve: Any, context: BrowserContext) -> None:
    """The README's quick start, as a newcomer tries it: type, click, edit a template, look at the other tab."""
    server: Server = serve(str(REPO / "example_app"))
    tab = open_tab(context, server.url + "/")
    about = open_tab(context, server.url + "/about")
    tab.page.fill("input[name=name]", "Ada")
    tab.page.click("#counter")
    tab.page.click("#counter")
    tab.wait_text("count", "2")
    edit(server, "templates/partials/signup.html", "<h2>Sign up</h2>", "<h2>Join us</h2>")
    tab.page.wait_for_function("document.querySelector('#signup h2').textContent === 'Join us'")
    edit(server, "templates/index.html", "Clicked <span", "Pressed <span")
    tab.page.wait_for_function("document.getElementById('counter').textContent.startsWith('Pressed')")
    assert tab.page.input_value("input[name=name]") == "Ada" and tab.text("count") == "2"
    assert len(tab.navigations) == 1 and len(about.navigations) == 1
    assert not any(line.startswith(REFRESHED) for line in about.logs), about.logs
    edit(server, "templates/about.html", "Change it and save.", "Changed, saved.")
    about.page.wait_for_function("document.querySelector('main p').textContent.includes('Changed, saved.')")
