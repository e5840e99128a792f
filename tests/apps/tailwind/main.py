"""A Tailwind-shaped app for the stylesheet tests: the page links static/out.css, which the Tailwind CLI builds
from src/tw.css (linked by no page); a sheet that @imports another (nested), an inline <style> that imports one,
and two sheets both named app.css in different folders. Relative dirs, served from its folder; FHR_MODE ws or sse.
"""

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
FastHotReload(app, use_alternate_config=os.environ.get("FHR_MODE", "ws") == "sse", _ws_reconnect_interval=1)


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html")
