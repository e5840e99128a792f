"""An app shaped like real FastAPI + Jinja apps, for the real-page browser tests.

htmx and Alpine from its static folder (copied in from tests/.vendor, which `tests/run` fills from npm),
an inline script, a form, an htmx-loaded fragment, templates split with extends/include, a cookie-auth
redirect middleware, CORS and GZip, StaticFiles with its defaults and FastAPI's default debug=False.
FHR_MODE picks ws (default) or sse; FHR_HTMX picks htmx 1 or 2 (default); FHR_DEBUG=1 turns debug on;
FHR_ALLOWED_HOSTS is a comma-separated allowed_hosts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

MESSAGE = "python-v1"
MODE = os.environ.get("FHR_MODE", "ws")

app = FastAPI(debug=os.environ.get("FHR_DEBUG") == "1")
app.mount("/static", StaticFiles(directory="static"), name="static")
templates = Jinja2Templates(directory="templates")
templates.env.globals["htmx"] = os.environ.get("FHR_HTMX", "2")
ALLOWED = [host for host in os.environ.get("FHR_ALLOWED_HOSTS", "").split(",") if host]
FastHotReload(app, use_alternate_config=MODE == "sse", _ws_reconnect_interval=1, allowed_hosts=ALLOWED)
app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_credentials=True)


@app.middleware("http")
async def login_required(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Like many apps: no session cookie, no page (static files and the login page excepted)."""
    if request.cookies.get("session") or request.url.path.startswith(("/static/", "/ranged/", "/login")):
        return await call_next(request)
    return RedirectResponse("/login", status_code=302)


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"message": MESSAGE})


@app.get("/other", response_class=HTMLResponse)
async def other(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "other.html", {"message": MESSAGE})


@app.get("/fragment", response_class=HTMLResponse)
async def fragment(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "partials/fragment.html", {})


@app.get("/login", response_class=HTMLResponse)
async def login(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {})


@app.post("/login")
async def log_in() -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.set_cookie("session", "yes")
    return response


@app.get("/ranged/page.html")
async def ranged(request: Request) -> Response:
    """static/page.html answering one byte range by hand, as StaticFiles does from Starlette 0.39 on."""
    body = Path("static/page.html").read_bytes()
    headers = {"accept-ranges": "bytes"}
    found = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
    if not found:
        return HTMLResponse(body, headers=headers)
    start, end = int(found[1]), int(found[2] or len(body) - 1)
    headers["content-range"] = f"bytes {start}-{end}/{len(body)}"
    return HTMLResponse(body[start : end + 1], status_code=206, headers=headers)


@app.get("/api")
async def api() -> dict[str, str]:
    return {"message": MESSAGE}


@app.get("/boom", response_class=HTMLResponse)
async def boom(request: Request) -> HTMLResponse:
    if MESSAGE == "python-v1":
        raise RuntimeError("boom <img src=x onerror=window.pwned=1> with " + MESSAGE)  # a bug about to be fixed
    return templates.TemplateResponse(request, "index.html", {"message": MESSAGE})


@app.get("/api/boom")
async def api_boom() -> dict[str, str]:
    raise RuntimeError("an API route that fails")
