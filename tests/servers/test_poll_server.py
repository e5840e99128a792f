"""Forced polling (WATCHFILES_FORCE_POLLING=true) end to end: a real server sends an event per save (the poller
itself: tests/unit/test_poll.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .._support.clients import listen
from .._support.servers import Server, assert_clean_log
from .._support.watcher import save_with_mtime

pytestmark = pytest.mark.anyio


async def test_server_with_forced_polling_sends_an_event_per_save(serve: Any) -> None:
    server: Server = serve("site", env={"WATCHFILES_FORCE_POLLING": "true"})
    template = server.root / "templates" / "index.html"
    mtime_ns = template.stat().st_mtime_ns
    async with listen(server, "ws") as listener:
        assert listener.hello["version"] == 0
        for i in range(1, 11):
            if i % 2:
                server.edit("templates/index.html", f"template-v{i}", f"template-v{i + 1}")
            else:  # as a whole-second mtime shows a save within the second of the one before
                save_with_mtime(
                    template, template.read_text().replace(f"template-v{i}", f"template-v{i + 1}"), mtime_ns
                )
            event = await listener.next()
            assert (event["type"], event["version"], event["paths"]) == ("reload", i, ["templates/index.html"])
    assert_clean_log(server)
