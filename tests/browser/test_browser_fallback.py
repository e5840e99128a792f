from __future__ import annotations

from typing import Any

import pytest

from .._support.servers import Server
from .._support.waiting import wait_for

pytestmark = pytest.mark.browser


def test_refused_websockets_fall_back_to_sse_and_say_so_once(serve: Any, context: Any) -> None:
    server: Server = serve("blocked_ws")
    page = context.new_page()
    lines: list[str] = []
    page.on("console", lambda message: lines.append(message.text))
    page.goto(server.url)
    page.wait_for_function("window.__fastHotReload === true")
    wait_for(lambda: page.evaluate("1") and "[Hot Reload] Connected!" in lines, what="the client to connect over SSE")
    server.edit("templates/index.html", "template-v1", "template-v2")
    page.wait_for_function("document.getElementById('title')?.textContent === 'template-v2'", timeout=15000)
    assert "proxy: an SSE stream went through" in server.log()
    fallback = [line for line in lines if "using server-sent events" in line]
    assert len(fallback) == 1, lines
