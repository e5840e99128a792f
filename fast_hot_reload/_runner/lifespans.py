"""One app object's lifespan, driven by hand as uvicorn drives it, so that two can overlap while the runner swaps."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import anyio
from anyio.abc import TaskGroup
from starlette.types import ASGIApp, Message

logger = logging.getLogger("fast_hot_reload.runner")

SHUTDOWN_TIMEOUT = 10.0  # seconds an old app's lifespan shutdown may take before the runner stops waiting


class StartupFailed(Exception):
    """The app's lifespan startup failed (or crashed): the runner keeps serving the app it had."""


class AppLifespan:
    """Runs `app`'s lifespan protocol in a task of the runner; `state` goes into each request's scope, as uvicorn's.

    An app that raises before its first lifespan message does not do lifespans (uvicorn's `lifespan="auto"`): it is
    served all the same.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = True
        self._to_app, self._app_receive = anyio.create_memory_object_stream[Message](2)
        self._app_send, self._from_app = anyio.create_memory_object_stream[Message](2)
        self._started = False
        self._shut = False
        self._up = False  # its startup completed

    async def startup(self, tg: TaskGroup) -> None:
        """Start the lifespan in `tg`, and return once the app says it started; StartupFailed if it did not."""
        tg.start_soon(self._main)
        reply = await self._roundtrip("lifespan.startup")
        if reply["type"] == "lifespan.startup.complete":
            self._up = True
            return
        self._close()
        if reply["type"] == "lifespan.crashed" and not self._started:
            self.supported = False  # raised before saying anything: an app without lifespan support
            logger.debug("the app does not run a lifespan (%r): serving it without one", reply.get("exc"))
            return
        raise StartupFailed(reply.get("message") or repr(reply.get("exc")) or reply["type"])

    async def shutdown(self) -> None:
        """Run the lifespan's shutdown, bounded in time; a failure is logged, never raised."""
        if not self.supported or self._shut:
            return
        self._shut = True
        with anyio.move_on_after(SHUTDOWN_TIMEOUT) as scope:
            reply = await self._roundtrip("lifespan.shutdown")
            if reply["type"] != "lifespan.shutdown.complete":
                logger.error("an app's lifespan shutdown failed: %s", reply.get("message") or reply.get("exc"))
        if scope.cancelled_caught:
            logger.warning("an app's lifespan shutdown ran over %g s; the runner goes on without it", SHUTDOWN_TIMEOUT)
        self._close()

    def _close(self) -> None:
        for stream in (self._to_app, self._from_app):
            stream.close()

    async def _roundtrip(self, kind: str) -> Message:
        await self._to_app.send({"type": kind})
        try:
            return await self._from_app.receive()
        except anyio.EndOfStream:
            return {"type": "lifespan.crashed", "exc": None}

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:  # Starlette re-raises after sending *.failed; an app without lifespans raises at once
            if self._up and not self._shut:
                logger.exception("an app's lifespan raised")
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # nobody waits for a reply now
                await self._app_send.send({"type": "lifespan.crashed", "exc": exc})
        finally:
            self._app_send.close()
            self._app_receive.close()

    async def _receive(self) -> Message:
        message = await self._app_receive.receive()
        self._started = True  # the app asked for its first message: it does lifespans
        return message

    async def _send(self, message: Message) -> None:
        await self._app_send.send(message)
