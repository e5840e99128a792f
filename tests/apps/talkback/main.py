"""The app of the browser tests for what a tab sends back: its errors to the log, alt+click and links to the editor.
FHR_MODE picks ws (default) or sse; FHR_FORWARD=0 turns forward_console off."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

app = FastAPI()
app.mount("/static", StaticFiles(directory="static"), name="static")
templates = Jinja2Templates(directory="templates")
FastHotReload(
    app,
    use_alternate_config=os.environ.get("FHR_MODE") == "sse",
    forward_console=os.environ.get("FHR_FORWARD") != "0",
    _ws_reconnect_interval=1,
)


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    items = ["apple", "pear"]
    return templates.TemplateResponse(request, "index.html", {"items": items, "title": "Fruit"})
