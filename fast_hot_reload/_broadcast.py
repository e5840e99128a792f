from __future__ import annotations

import json
import math
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anyio

Kind = Literal["css", "reload"]
HISTORY = 64  # events kept to merge for clients that fell behind; older gaps become a reload
MAX_PATHS = 50  # paths carried by one event: enough to pick stylesheets, small on the wire


@dataclass(frozen=True)
class Event:
    version: int
    kind: Kind
    paths: tuple[str, ...]


class Broadcaster:
    """Versioned change events fanned out to any number of subscribers.

    Subscribers never queue: each one remembers the version it has sent and, when woken,
    gets one event merged from everything it missed. `publish()` never blocks.
    """

    def __init__(self) -> None:
        self.boot = secrets.token_hex(8)
        self.version = 0
        self.subscribers = 0
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._changed = anyio.Event()
        self._closed = False
        # one merge and one encoding per version for all clients, not one per client: fan-out stays cheap
        self._merged: dict[int, Event | None] = {}
        self._texts: dict[Event, str] = {}
        self._frames: dict[Event, bytes] = {}

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, kind: Kind, paths: tuple[str, ...]) -> Event:
        self.version += 1
        event = Event(self.version, kind, paths[:MAX_PATHS])
        self._history.append(event)
        self._merged.clear()
        self._texts.clear()
        self._frames.clear()
        self._wake()
        return event

    def close(self) -> None:
        self._closed = True
        self._wake()

    def since(self, version: int) -> Event | None:
        """One event that brings a client at `version` up to date, or None when it already is."""
        if version not in self._merged:
            self._merged[version] = self._merge(version)
        return self._merged[version]

    def _merge(self, version: int) -> Event | None:
        if version >= self.version:
            return None
        missed = [e for e in self._history if e.version > version]
        complete = bool(missed) and missed[0].version == version + 1
        kind: Kind = "css" if complete and all(e.kind == "css" for e in missed) else "reload"
        paths = tuple(dict.fromkeys(p for e in missed for p in e.paths))[:MAX_PATHS]
        return Event(self.version, kind, paths)

    def hello(self) -> str:
        return json.dumps({"type": "hello", "boot": self.boot, "version": self.version})

    def message(self, event: Event) -> str:
        """The event as JSON text, for websockets."""
        if event not in self._texts:
            data = {"type": event.kind, "boot": self.boot, "version": event.version, "paths": list(event.paths)}
            self._texts[event] = json.dumps(data)
        return self._texts[event]

    def sse(self, event: Event) -> bytes:
        """The event as a server-sent event whose id is its version, ready for the wire."""
        if event not in self._frames:
            self._frames[event] = f"id: {event.version}\r\ndata: {self.message(event)}\r\n\r\n".encode()
        return self._frames[event]

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        self.subscribers += 1
        try:
            yield Subscription(self)
        finally:
            self.subscribers -= 1

    async def wait_beyond(self, version: int) -> None:
        while self.version <= version and not self._closed:
            await self._changed.wait()

    def _wake(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()


class Subscription:
    """One client's view of the broadcaster: starts at the current version."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self._broadcaster = broadcaster
        self.version = broadcaster.version

    async def next(self, timeout: float = math.inf) -> Event | None:
        """The merged event the client has not had yet; None after `timeout` or when closed."""
        if timeout == math.inf:
            await self._broadcaster.wait_beyond(self.version)  # no timer to set and cancel on every wake
        else:
            with anyio.move_on_after(timeout):
                await self._broadcaster.wait_beyond(self.version)
        event = self._broadcaster.since(self.version)
        if event is not None:
            self.version = event.version
        return event
