"""Screenshots of the error overlay: docs/overlay.png (light) and docs/overlay-dark.png (dark).

Run from a checkout: `python3 docs/make_screenshots.py`. It builds a small FastAPI app in a temp folder whose
template has a typo, takes the real error of a real request, and shows it with the overlay over an app page.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's package and test settings, not an installed copy

from fast_hot_reload._errors.describe import describe_exception  # noqa: E402
from tests._support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOM = ROOT / "templates" / "client" / "overlay.js"
MAIN = """\
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

app = FastAPI()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def current_user():
    return {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "Team"}


@app.get("/account")
def account(request: Request):
    return templates.TemplateResponse(request, "account.html", {"user": current_user()})
"""
BASE = """\
<!DOCTYPE html>
<title>{% block title %}Acme{% endblock %}</title>
<main>{% block content %}{% endblock %}</main>
"""
ACCOUNT = """\
{% extends "base.html" %}
{% block title %}Account settings{% endblock %}
{% block content %}
  <h1>Account settings</h1>
  <p class="lead">Signed in as {{ user.name }}</p>
  <p>Reply-to: {{ user.emial.split("@")[0] }}</p>
  {% include "account_form.html" %}
{% endblock %}
"""
# the last good page, which the tab keeps under the overlay
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Account settings · Acme</title>
<style>
  :root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --fg: #1d2330; --muted: #667085; --line: #e3e6ea;
          --brand: #3b5bdb; }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #0f1115; --card: #181b21; --fg: #e4e7ec; --muted: #98a2b3; --line: #2a2f37; --brand: #7d95ff; }
  }
  body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, "Liberation Sans", sans-serif; }
  header { display: flex; align-items: center; gap: 28px; padding: 14px 32px; background: var(--card);
           border-bottom: 1px solid var(--line); }
  header b { font-size: 18px; color: var(--brand); }
  nav a { color: var(--muted); margin-right: 18px; text-decoration: none; }
  main { max-width: 760px; margin: 32px auto; padding: 0 24px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 24px 28px; }
  label { display: block; margin: 14px 0 4px; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: 9px 11px; border: 1px solid var(--line); border-radius: 6px;
          background: var(--bg); color: var(--fg); font: inherit; }
  button { margin-top: 20px; padding: 9px 18px; border: 0; border-radius: 6px; background: var(--brand); color: #fff;
           font: 600 15px system-ui, sans-serif; }
  .lead { color: var(--muted); }
</style></head>
<body>
  <header><b>Acme</b><nav><a href="#">Dashboard</a><a href="#">Orders</a><a href="#">Account</a></nav></header>
  <main>
    <h1>Account settings</h1>
    <p class="lead">Signed in as Ada Lovelace</p>
    <form class="card">
      <label for="name">Name</label><input id="name" value="Ada Lovelace">
      <label for="email">Email</label><input id="email" value="ada@example.com">
      <label for="plan">Plan</label><input id="plan" value="Team">
      <button type="button">Save changes</button>
    </form>
  </main>
</body></html>"""


def template_error(folder: Path) -> dict[str, Any]:
    """The details of a real request to a real app whose template has a typo (`user.emial`)."""
    from starlette.testclient import TestClient

    (folder / "templates").mkdir()
    (folder / "main.py").write_text(MAIN)
    (folder / "templates" / "base.html").write_text(BASE)
    (folder / "templates" / "account.html").write_text(ACCOUNT)
    (folder / "templates" / "account_form.html").write_text("<form method=post></form>\n")
    spec = importlib.util.spec_from_file_location("screenshot_app", folder / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        TestClient(module.app).get("/account")
    except Exception as exc:
        return describe_exception(exc, (folder,))
    raise RuntimeError("the app rendered without an error")


def render(details: dict[str, Any], path: Path, color_scheme: str = "light", page_html: str = PAGE) -> None:
    """Save a screenshot of `page_html` with the overlay showing `details`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=color_scheme)
            page = context.new_page()
            page.set_content(page_html)
            page.add_script_tag(content=ROOM.read_text() + "\nwindow.Overlay = Overlay;")
            page.evaluate("(details) => Overlay.show(details, '[Hot Reload]')", details)
            page.wait_for_function("Overlay.shown()")
            page.screenshot(path=str(path))
        finally:
            browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        details = template_error(Path(folder))
    render(details, ROOT / "docs" / "overlay.png", "light")
    render(details, ROOT / "docs" / "overlay-dark.png", "dark")


if __name__ == "__main__":
    main()
