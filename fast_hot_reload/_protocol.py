"""The wire protocol: every message kind the server sends, encoded for both transports.

Messages are one line of JSON with their type inside; a websocket frame carries the text, a server-sent
event carries it as `data:` (versioned ones with their version as `id:`, so that `Last-Event-ID` works).

    hello       {"type": "hello", "boot", "version", "recent": [event fields...], "withheld"?}   on connect
    css|reload  {"type", "boot", "version", "paths": [...], "truncated"?}                       a change
    error       {"type": "error", "boot", "details": {...}}                                    a notice
    server-log  {"type": "server-log", "boot", "level", "text"}                                 a notice
    restart     {"type": "restart", "boot"}                                    the last of a stream that ends
    ping        {"type": "ping"} (websocket), a `: ping` comment (SSE)                         keepalive

The client's side of it is templates/client/protocol.js; tests/_support/merge_cases.json holds the catch-up
cases both run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["css", "reload"]
MAX_PATHS = 50  # paths carried by one event: enough to pick stylesheets, small on the wire
RECENT = 16  # events a hello carries, so that a page rendered a moment ago catches up in place
WS_PING = '{"type":"ping"}'
SSE_PING = b": ping\r\n\r\n"  # a comment: EventSource ignores it, proxies see traffic


@dataclass(frozen=True)
class Event:
    """A versioned change: the files it names (relative to the watched folders), and whether there were more."""

    version: int
    kind: Kind
    paths: tuple[str, ...]
    truncated: bool = False  # more paths changed than `paths` names: the client must not rely on the list

    @classmethod
    def of(cls, version: int, kind: Kind, paths: tuple[str, ...], truncated: bool = False) -> Event:
        """An event for `paths`, cut to MAX_PATHS (and marked so)."""
        return cls(version, kind, paths[:MAX_PATHS], truncated or len(paths) > MAX_PATHS)

    def fields(self) -> dict[str, Any]:
        """What an event says, as a hello's `recent` list and the event message carry it."""
        fields: dict[str, Any] = {"version": self.version, "type": self.kind, "paths": list(self.paths)}
        if self.truncated:
            fields["truncated"] = True
        return fields


def catch_up(missed: Iterable[Event], version: int, newest: int) -> Event | None:
    """One event that brings a client at `version` to `newest`, from the events it missed (oldest first).

    Stylesheets alone stay a `css` event; anything else is a `reload` naming every path. When the events do not
    reach back to `version + 1` (a gap: the history was cut), nobody knows what changed: no paths.
    The client applies the same rule to a hello's `recent` list (protocol.js).
    """
    if version >= newest:
        return None
    events = [event for event in missed if event.version > version]
    complete = bool(events) and events[0].version == version + 1
    kind: Kind = "css" if complete and all(event.kind == "css" for event in events) else "reload"
    paths = tuple(dict.fromkeys(path for event in events for path in event.paths)) if complete else ()
    truncated = complete and (len(paths) > MAX_PATHS or any(event.truncated for event in events))
    return Event(newest, kind, paths[:MAX_PATHS], truncated)


def event_text(boot: str, event: Event) -> str:
    return json.dumps({"type": event.kind, "boot": boot, **event.fields()})


def hello_text(boot: str, version: int, recent: Iterable[Event]) -> str:
    return json.dumps({"type": "hello", "boot": boot, "version": version, "recent": [e.fields() for e in recent]})


def with_withheld(hello: str, withheld: str) -> str:
    """A hello for a client that gets no error details nor log lines, saying so (and how to get them)."""
    return hello[:-1] + ", " + json.dumps({"withheld": withheld})[1:]


def notice_text(boot: str, data: dict[str, Any]) -> str:
    """A notice (an `error` or a `server-log` message): not versioned, for the clients connected now."""
    return json.dumps({**data, "boot": boot})


def restart_text(boot: str) -> str:
    """The last message of a stream ended because the server stops: the client retries at a steady pace."""
    return json.dumps({"type": "restart", "boot": boot})


def sse(text: str, version: int | None = None) -> bytes:
    """One server-sent event; a versioned one has its version as id (Last-Event-ID), a notice none."""
    if version is None:
        return f"data: {text}\r\n\r\n".encode()
    return f"id: {version}\r\ndata: {text}\r\n\r\n".encode()
