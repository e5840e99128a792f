"""The app the hostile-client and fault tests run.

FHR_WATCH=<subfolder> watches only that folder; FHR_WS_HOST sets ws_host_override;
FHR_PING_INTERVAL=<seconds> shortens the keepalive interval.
`/subscribers` says how many hot reload clients the server is holding.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from fast_hot_reload import FastHotReload, _lifespan

HERE = Path(__file__).parent
MESSAGE = "python-v1"
WATCH = os.environ.get("FHR_WATCH")

# the package's warnings and reload lines in the server log, where the tests read them
handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
logging.getLogger("fast_hot_reload").addHandler(handler)
logging.getLogger("fast_hot_reload").setLevel(logging.INFO)

if "FHR_PING_INTERVAL" in os.environ:
    _lifespan.PING_INTERVAL = float(os.environ["FHR_PING_INTERVAL"])

app = FastAPI()
FastHotReload(
    app,
    watch_paths=HERE / WATCH if WATCH else None,
    ws_host_override=os.environ.get("FHR_WS_HOST") or None,
    _ws_reconnect_interval=1,
)


@app.get("/", response_class=HTMLResponse)
async def index() -> str:
    return f"<!doctype html><html><body><p id='message'>{MESSAGE}</p></body></html>"


@app.get("/subscribers")
async def subscribers(request: Request) -> int:
    count: int = request.state.fast_hot_reload.broadcaster.subscribers
    return count
