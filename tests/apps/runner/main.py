"""The app the runner tests serve (`fast-hot-reload main:app`), written the FastAPI docs' way: relative `templates`.

`state` is a module the edits never touch: its `TOKEN` (set when it ran) and `hits` show whether it survived.
"""

from __future__ import annotations

import state
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

MESSAGE = "python-v1"

app = FastAPI()
FastHotReload(app, _ws_reconnect_interval=1)
templates = Jinja2Templates(directory="templates")


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    state.hits += 1
    return templates.TemplateResponse(request, "index.html", {"message": MESSAGE, "token": state.TOKEN})
