from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from .. import _protocol as protocol
from .._protocol import RECENT, Event, Kind
from .subscription import Subscription

HISTORY = 64  # events kept to merge for clients that fell behind; older gaps become a reload
NOTICES = 32  # notices kept for clients a little behind; a flood is thinned before it gets here


@dataclass(frozen=True)
class Notice:
    """A message for the clients connected at the time (a server log line, an error): not versioned, not replayed.

    A private one (error details, the app's log lines) goes as `text` only to trusted clients; the others get
    `public` instead (what was withheld, and how to see it), or nothing when it is None.
    """

    seq: int
    text: str
    private: bool = False
    public: str | None = None

    def shown_to(self, trusted: bool) -> Notice | None:
        if trusted or not self.private:
            return self
        return None if self.public is None else Notice(self.seq, self.public)


class Broadcaster:
    """Versioned change events fanned out to any number of subscribers.

    Subscribers never queue: each one remembers the version it has sent and, when woken,
    gets one event merged from everything it missed. `publish()` never blocks. `tick()` wakes
    them all for a keepalive: one timer for every client instead of one per client.
    """

    def __init__(self, boot: str | None = None) -> None:
        self.boot = boot or secrets.token_hex(8)
        # given, it records what the other workers of this server must apply too (see _group)
        self.journal: Callable[[dict[str, Any]], None] | None = None
        self.version = 0
        self.ticks = 0
        self.subscribers = 0
        self._history: deque[Event] = deque(maxlen=HISTORY)
        # made by a waiting subscriber (in a task), so that waking works from anywhere on the loop's thread: a
        # signal handler's callback, a log line from the loop itself (anyio before 4.x can only make one in a task)
        self._changed: anyio.Event | None = None
        self._closed = False
        # one merge and one encoding per version for all clients, not one per client: fan-out stays cheap
        self._merged: dict[int, Event | None] = {}
        self._texts: dict[Event, str] = {}
        self._frames: dict[Event, bytes] = {}
        self._hello: tuple[int, str] | None = None
        self.notices = 0  # the sequence number of the last notice
        self._notices: deque[Notice] = deque(maxlen=NOTICES)
        self.standing = 0  # the seq of a notice that holds until the next version (an error the old app serves on)
        self.epoch = 0  # bumped to end every stream open now (the server is about to stop)
        self._refuse_until = 0.0  # monotonic time until which new streams are turned away

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, kind: Kind, paths: tuple[str, ...], truncated: bool = False) -> Event:
        """A new version: `paths` changed (cut to MAX_PATHS; `truncated` when the list was cut before)."""
        self.version += 1
        self.standing = 0  # what stood was about the code before this change
        event = Event.of(self.version, kind, paths, truncated)
        self._history.append(event)
        self._merged.clear()
        self._texts.clear()
        self._frames.clear()
        self._wake()
        if self.journal is not None:
            entry = {"t": "event", "version": event.version, "kind": kind, "paths": list(event.paths)}
            self.journal({**entry, "truncated": True} if event.truncated else entry)
        return event

    def adopt(self, version: int, kind: Kind, paths: tuple[str, ...], truncated: bool = False) -> None:
        """Publish an event another worker of this server published, under the version it gave it."""
        if version > self.version:
            self.version = version - 1  # missed ones leave a gap: clients that fell into it reload in full
            self.publish(kind, paths, truncated)

    def notify(
        self,
        data: dict[str, Any],
        shared: bool = False,
        private: bool = False,
        public: dict[str, Any] | None = None,
        standing: bool = False,
    ) -> None:
        """Send `data` to every client connected now, beside the versioned events. Never blocks.

        `shared`: to the clients of every worker of this server (a Python save's error), not only this one's.
        `private`: `data` carries details (a traceback, a log line) for trusted clients only; the others get
        `public` instead, or nothing. `standing`: clients that connect later get it too, until the next version.
        """
        if shared and self.journal is not None:
            self.journal({"t": "notice", "data": data, "private": private, "public": public, "at": time.time()})
        self.notices += 1
        shown = protocol.notice_text(self.boot, public) if public is not None else None
        self._notices.append(Notice(self.notices, protocol.notice_text(self.boot, data), private, shown))
        self.standing = self.notices if standing else 0
        self._wake()

    def notice_after(self, seq: int) -> Notice | None:
        """The oldest notice after `seq` still kept, or None."""
        return next((n for n in self._notices if n.seq > seq), None)

    def tick(self) -> None:
        """Wake every subscriber for a keepalive, without a new version."""
        self.ticks += 1
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def end_streams(self, refuse_for: float, shared: bool = False) -> None:
        """End every stream now and turn new ones away for `refuse_for` seconds: the server is expected to stop.

        Unlike `close()` this wears off: a server that goes on serving (no reloader after all) takes clients again.
        `shared`: in every worker of this server (a Python save seen by the one that watches), not only this one.
        """
        if shared and self.journal is not None:
            self.journal({"t": "end", "seconds": refuse_for, "at": time.time()})
        self.epoch += 1
        self._refuse_until = max(self._refuse_until, time.monotonic() + refuse_for)
        self._wake()

    @property
    def refusing(self) -> bool:
        """Whether a new stream is turned away now: closed, or a stop is expected any moment."""
        return self._closed or (self._refuse_until > 0 and time.monotonic() < self._refuse_until)

    def since(self, version: int) -> Event | None:
        """One event that brings a client at `version` up to date, or None when it already is."""
        if version not in self._merged:
            self._merged[version] = protocol.catch_up(self._history, version, self.version)
        return self._merged[version]

    def hello(self, withheld: str | None = None) -> str:
        """The greeting: boot id, version and the last few events, so a page a little behind catches up in place.

        `withheld`: for a client that gets no details nor log lines, what it is told about that (once).
        """
        if self._hello is None or self._hello[0] != self.version:
            self._hello = (self.version, protocol.hello_text(self.boot, self.version, list(self._history)[-RECENT:]))
        return self._hello[1] if withheld is None else protocol.with_withheld(self._hello[1], withheld)

    def message(self, event: Event) -> str:
        """The event as JSON text, for websockets."""
        if event not in self._texts:
            self._texts[event] = protocol.event_text(self.boot, event)
        return self._texts[event]

    def sse(self, event: Event) -> bytes:
        """The event as a server-sent event whose id is its version, ready for the wire."""
        if event not in self._frames:
            self._frames[event] = protocol.sse(self.message(event), event.version)
        return self._frames[event]

    def subscribe(self, trusted: bool = True) -> Subscription:
        """A client's subscription, for `async with`: counted in `subscribers` until it ends.

        `trusted`: the client gets private notices (error details, log lines) as they are.
        """
        return Subscription(self, trusted)

    async def wait_beyond(
        self, version: int, ticks: int | None = None, notices: int | None = None, epoch: int | None = None
    ) -> None:
        """Until a version after `version` exists, the broadcaster closes, or (given them) a tick, a notice or an end
        of streams comes."""
        while (
            self.version <= version
            and not self._closed
            and (ticks is None or self.ticks == ticks)
            and (notices is None or self.notices == notices)
            and (epoch is None or self.epoch == epoch)
        ):
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    def _wake(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
