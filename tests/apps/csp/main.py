"""A page under a strict Content-Security-Policy with a nonce: the injected tag must carry it.

FHR_MODE=ws|sse picks the transport; FHR_WORKER_SRC sets the policy's worker-src ('self' lets the
SharedWorker start, 'none' blocks it so that each tab connects by itself).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from fast_hot_reload import FastHotReload

HERE = Path(__file__).parent
NONCE = "abc123"
MODE = os.environ.get("FHR_MODE", "ws")
WORKER_SRC = os.environ.get("FHR_WORKER_SRC", "'self'")
# connect-src 'self' covers the page's own origin over ws: too (CSP 3); worker-src governs the SharedWorker
POLICY = (
    f"default-src 'none'; script-src 'nonce-{NONCE}'; style-src 'self'; connect-src 'self'; worker-src {WORKER_SRC}"
)

app = FastAPI()
FastHotReload(app, use_alternate_config=MODE == "sse", _ws_reconnect_interval=1)


@app.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    page = (HERE / "templates" / "index.html").read_text().replace("{{ nonce }}", NONCE)
    return HTMLResponse(page, headers={"Content-Security-Policy": POLICY})
