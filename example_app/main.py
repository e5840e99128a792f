"""A small app to try fast-hot-reload on: edit templates/, static/ or this file while it runs.

Run it from the repository root:  uvicorn example_app.main:app --reload --reload-dir example_app
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

HERE = Path(__file__).parent

app = FastAPI(title="fast-hot-reload example")
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
templates = Jinja2Templates(directory=HERE / "templates")
FastHotReload(app, watch_paths=[HERE])

NOTES = [
    "Type in the form and click the button, then edit templates/index.html or templates/partials/signup.html: "
    "the page updates in place, and what you typed and the count stay.",
    "Open /about in a second tab: edits to this page's templates leave it alone; edits to about.html update it.",
    "Edit static/style.css: the style changes in place, without a reload; static/logo.svg: the logo, likewise.",
    "Edit main.py: the page updates once the server has restarted. Break a template or main.py: the error shows "
    "over the page, and the fix clears it.",
]


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"notes": NOTES, "title": "Hello, hot reload"})


@app.get("/about", response_class=HTMLResponse)
async def about(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "about.html", {"title": "About"})


@app.get("/api/status")
async def status() -> dict[str, str]:
    """JSON is never touched by the plugin."""
    return {"status": "ok", "time": datetime.now(timezone.utc).isoformat()}
