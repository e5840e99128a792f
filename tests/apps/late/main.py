"""An app whose page gets its fields late, for the browser tests of state kept across a full reload.

Written as the FastAPI docs teach (relative `templates` and `static`, run from its folder). The home page loads
its form with htmx (`hx-get` on load; FHR_HTMX picks htmx 1 or 2, default 2), which the server answers after a
short delay, so the form is really late; static/app.js adds a field after a timeout and, edited, forces a full
reload. A test holds the form's answers (POST /hold) until it releases them (POST /release), to act on the page
before the form comes. FHR_MODE picks ws (default) or sse.
"""

from __future__ import annotations

import os

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

DELAY = 0.3  # seconds before the form comes: after the page's load and the client's restore
HOLD_AT_MOST = 10.0  # seconds a held form waits for its release

app = FastAPI()
app.mount("/static", StaticFiles(directory="static"), name="static")
templates = Jinja2Templates(directory="templates")
templates.env.globals["htmx"] = os.environ.get("FHR_HTMX", "2")
FastHotReload(app, use_alternate_config=os.environ.get("FHR_MODE", "ws") == "sse", _ws_reconnect_interval=1)
held: list[anyio.Event] = []  # the one gate while a test holds the form (this test app's only state)


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {})


@app.get("/form", response_class=HTMLResponse)
async def form(request: Request) -> HTMLResponse:
    await anyio.sleep(DELAY)
    if held:
        with anyio.move_on_after(HOLD_AT_MOST):
            await held[0].wait()
    return templates.TemplateResponse(request, "partials/form.html", {})


@app.post("/hold")
async def hold() -> dict[str, bool]:
    if not held:
        held.append(anyio.Event())
    return {"held": True}


@app.post("/release")
async def release() -> dict[str, bool]:
    for gate in held:
        gate.set()
    held.clear()
    return {"held": False}
