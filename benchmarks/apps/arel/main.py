"""The benchmark page with arel, wired as arel's README shows: it watches the non-Python folders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import arel
from fastapi import Request
from page import create_app
from starlette.routing import WebSocketRoute

MESSAGE = "python-v1"

hotreload = arel.HotReload(paths=[arel.Path("templates"), arel.Path("static")])


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    await hotreload.startup()
    yield
    await hotreload.shutdown()


def script(request: Request) -> str:
    return hotreload.script(str(request.url_for("hot-reload").replace(scheme="ws")))


app = create_app(MESSAGE, lifespan=lifespan, body_end=script)
app.router.routes.append(WebSocketRoute("/hot-reload", hotreload, name="hot-reload"))
