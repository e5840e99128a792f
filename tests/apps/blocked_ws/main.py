"""An app behind a 'proxy' that refuses every websocket handshake: the client must fall back to SSE."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from fast_hot_reload import FastHotReload


class RefuseWebsockets:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        if scope["type"] == "http" and scope["path"].endswith("/events"):
            print("proxy: an SSE stream went through", flush=True)  # the server's access log leaves ours out
        await self.app(scope, receive, send)


inner = FastAPI()
templates = Jinja2Templates(directory="templates")
FastHotReload(inner)


@inner.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html")


app = RefuseWebsockets(inner)
