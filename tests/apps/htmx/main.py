"""An app shaped like the htmx docs' examples and public htmx + FastAPI apps, for tests/browser/test_htmx.py.

Relative `templates` and `static` dirs (served from its folder); the page is a shell that htmx fills after it
loads: company rows from a Python dict (`hx-get` on load, innerHTML), items from a JSON file (`hx-get` on load,
outerHTML), a page of news appended by a "more" button (beforeend), a form loaded by htmx, a note loaded by a POST,
a search form with `hx-get` + `hx-push-url` whose URL renders the whole page when browsed to, and a ticker that
polls (`hx-trigger="every 300ms"`, outerHTML: each answer brings a new element).
FHR_MODE picks ws (default) or sse; FHR_HTMX picks htmx 1 or 2 (default).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

COMPANIES = {"acme": "ACME Corp", "globex": "Globex"}
MODE = os.environ.get("FHR_MODE", "ws")
TICKS = [0]

app = FastAPI()
app.mount("/static", StaticFiles(directory="static"), name="static")
templates = Jinja2Templates(directory="templates")
templates.env.globals["htmx"] = os.environ.get("FHR_HTMX", "2")
FastHotReload(app, use_alternate_config=MODE == "sse", _ws_reconnect_interval=1)


def found(q: str) -> list[str]:
    return [name for name in COMPANIES.values() if q and q.lower() in name.lower()]


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"q": "", "results": []})


@app.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: str = "") -> HTMLResponse:
    if request.headers.get("hx-request"):  # htmx asks for the results only; a browser for the whole page
        return templates.TemplateResponse(request, "partials/results.html", {"results": found(q)})
    return templates.TemplateResponse(request, "index.html", {"q": q, "results": found(q)})


@app.get("/companies", response_class=HTMLResponse)
async def companies(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "partials/companies.html", {"companies": COMPANIES})


@app.get("/items", response_class=HTMLResponse)
async def items(request: Request) -> HTMLResponse:
    data = json.loads(Path("data.json").read_text())
    return templates.TemplateResponse(request, "partials/items.html", {"items": data["items"]})


@app.get("/news", response_class=HTMLResponse)
async def news(request: Request, page: int = 1) -> HTMLResponse:
    data = json.loads(Path("data.json").read_text())
    return templates.TemplateResponse(request, "partials/news.html", {"news": data["news"], "page": page})


@app.get("/form", response_class=HTMLResponse)
async def form(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "partials/form.html", {})


@app.post("/note", response_class=HTMLResponse)
async def note(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "partials/note.html", {})


@app.get("/ticker", response_class=HTMLResponse)
async def ticker(request: Request) -> HTMLResponse:
    TICKS[0] += 1
    return templates.TemplateResponse(request, "partials/ticker.html", {"tick": TICKS[0]})
