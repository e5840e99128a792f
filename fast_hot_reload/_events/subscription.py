from __future__ import annotations

from typing import TYPE_CHECKING

from .._protocol import Event

if TYPE_CHECKING:
    from .broadcaster import Broadcaster, Notice


class Subscription:
    """One client's view of the broadcaster: starts at the current version.

    A plain class with slots, its own context manager: a few hundred bytes less per client
    than a generator-based one.
    """

    __slots__ = ("_broadcaster", "epoch", "notices", "trusted", "version")

    def __init__(self, broadcaster: Broadcaster, trusted: bool = True) -> None:
        self._broadcaster = broadcaster
        self.trusted = trusted
        self.version = broadcaster.version
        # a notice that still stands (the error the serving app's rerun raised) is this client's first news too
        self.notices = broadcaster.standing - 1 if broadcaster.standing else broadcaster.notices
        self.epoch = broadcaster.epoch

    @property
    def ended(self) -> bool:
        """The stream must end: the broadcaster closed, or ended the streams of this epoch."""
        return self._broadcaster.closed or self.epoch != self._broadcaster.epoch

    async def __aenter__(self) -> Subscription:
        self._broadcaster.subscribers += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._broadcaster.subscribers -= 1

    async def next(self) -> Event | Notice | None:
        """A notice, else the merged event the client has not had yet; None when closed or on a keepalive tick.

        A tick from before the call does not count: the client has just been sent something.
        """
        broadcaster = self._broadcaster
        while True:
            if broadcaster.notices == self.notices:
                await broadcaster.wait_beyond(self.version, broadcaster.ticks, self.notices, self.epoch)
            notice = broadcaster.notice_after(self.notices)
            if notice is None:
                break
            self.notices = notice.seq
            shown = notice.shown_to(self.trusted)
            if shown is not None:
                return shown
        self.notices = broadcaster.notices  # any it missed were dropped from the bounded list
        event = broadcaster.since(self.version)
        if event is not None:
            self.version = event.version
        return event
