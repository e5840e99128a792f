"""The pages every benchmark app serves; each app's main.py only adds (or not) its hot reload.

`/` is the plain page (no scripts, static files revalidated on every use); `/scripted` is shaped like real
apps' pages: htmx and Alpine (copied in from tests/.vendor), an inline script, a form, an htmx-loaded
fragment, and its stylesheet from a StaticFiles with its default caching.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
STREAM_DELAY = 0.3  # seconds between the first chunk of /stream and the rest
BIG_PAGE = (
    "<!doctype html><html><head><title>big</title></head><body>\n"
    + "".join(f"<p>paragraph {i:05d}: lorem ipsum dolor sit amet, consectetur adipiscing.</p>\n" for i in range(1350))
    + "</body></html>\n"
)  # about 100 KB


class DevStaticFiles(StaticFiles):
    """Static files that the browser revalidates on every use, as a dev server should: without it
    Chromium keeps a changed stylesheet from its heuristic cache across a page reload."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_app(
    message: str,
    *,
    lifespan: Any = None,
    body_end: Callable[[Request], str] = lambda request: "",
    setup: Callable[[FastAPI], object] = lambda app: None,
) -> FastAPI:
    """The page; `body_end(request)` is HTML put before </body> (arel's script: arel does not inject it).

    `setup(app)` runs before any route is added, where a README tells users to add their hot reload.
    """
    app = FastAPI(lifespan=lifespan)
    setup(app)
    app.mount("/static", DevStaticFiles(directory=HERE / "static"), name="static")
    app.mount("/assets", StaticFiles(directory=HERE / "assets"), name="assets")  # the scripted page's: defaults
    templates = Jinja2Templates(directory=HERE / "templates")

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {"message": message, "body_end": body_end(request)})

    @app.get("/scripted", response_class=HTMLResponse)
    async def scripted(request: Request) -> HTMLResponse:
        # as real apps are: htmx, Alpine, an inline script, a form, a fragment htmx loads; StaticFiles' own caching
        context = {"message": message, "body_end": body_end(request)}
        return templates.TemplateResponse(request, "scripted.html", context)

    @app.get("/fragment", response_class=HTMLResponse)
    async def fragment() -> HTMLResponse:
        return HTMLResponse('<p id="fragment">loaded by htmx</p>')

    @app.get("/api")
    async def api() -> dict[str, str | int]:
        return {"message": message, "pid": os.getpid()}

    @app.get("/big", response_class=HTMLResponse)
    async def big() -> HTMLResponse:
        return HTMLResponse(BIG_PAGE)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"<!doctype html><html><head><title>stream</title></head><body><h1>first chunk</h1>\n"
            await asyncio.sleep(STREAM_DELAY)
            yield b"<p>the rest</p></body></html>\n"

        return StreamingResponse(chunks(), media_type="text/html")

    return app
