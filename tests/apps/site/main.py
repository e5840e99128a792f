"""The app the real-server and browser tests run: FHR_MODE picks ws (default), sse or manual wiring;
FHR_WS_HOST sets ws_host_override; FHR_EXIT_POLL sets the seconds between looks at uvicorn's should_exit."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload, HotReloadMiddleware, _lifespan, hot_reload_router

MESSAGE = "python-v1"
MODE = os.environ.get("FHR_MODE", "ws")
if "FHR_EXIT_POLL" in os.environ:
    _lifespan.EXIT_POLL = float(os.environ["FHR_EXIT_POLL"])

app = FastAPI(debug=True)  # a route that raises shows the traceback page
app.mount("/static", StaticFiles(directory="static"), name="static")
templates = Jinja2Templates(directory="templates")

if MODE == "manual":
    app.include_router(hot_reload_router)
    app.add_middleware(HotReloadMiddleware)
else:
    FastHotReload(
        app,
        use_alternate_config=MODE == "sse",
        ws_host_override=os.environ.get("FHR_WS_HOST") or None,
        _ws_reconnect_interval=1,
    )


@app.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"message": MESSAGE})


@app.get("/boom", response_class=HTMLResponse)
async def boom(request: Request) -> HTMLResponse:
    if MESSAGE == "python-v1":
        raise RuntimeError(f"boom with {MESSAGE}")  # a bug the developer is about to fix
    return templates.TemplateResponse(request, "index.html", {"message": MESSAGE})


@app.get("/latin1", response_class=HTMLResponse)
async def latin1(request: Request) -> HTMLResponse:
    """A page in ISO-8859-1, as older apps and some CMS templates still send."""
    page = templates.get_template("latin1.html").render(message=MESSAGE)
    return HTMLResponse(page.encode("latin-1"), media_type="text/html; charset=iso-8859-1")


@app.get("/api")
async def api() -> dict[str, str]:
    return {"message": MESSAGE}


@app.get("/worker")
async def worker() -> int:
    return os.getpid()  # which of several workers answered


@app.get("/subscribers")
async def subscribers(request: Request) -> int:
    count: int = request.state.fast_hot_reload.broadcaster.subscribers
    return count


@app.get("/scripted", response_class=HTMLResponse)
async def scripted(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "scripted.html", {"message": MESSAGE})


class OnlyOverriddenWebsockets:
    """With FHR_WS_HOST set, refuse websockets addressed to any other host: proves the client used it."""

    def __init__(self, inner: Any, host: str) -> None:
        self.inner = inner
        self.host = host.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not dict(scope["headers"]).get(b"host", b"").startswith(self.host + b":"):
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.inner(scope, receive, send)


if os.environ.get("FHR_WS_HOST"):
    app.add_middleware(OnlyOverriddenWebsockets, host=os.environ["FHR_WS_HOST"])
