from __future__ import annotations

from collections.abc import Callable

MARKER = b"</body"
HOLD_LIMIT = 64 * 1024  # bytes held after a </body> before giving up on it and appending the tag


def last_marker(data: bytes) -> int:
    """Where the last `</body` (in any case) starts, or -1; lower-cases only the bytes it must."""
    at = data.rfind(MARKER)
    at = max(at, data.rfind(b"</BODY", at + 1))  # only after the lower-case one: no second scan of the page
    mixed = data[at + 1 :].lower().rfind(MARKER)  # after the last plain one: a short tail, as a rule
    return at + 1 + mixed if mixed >= 0 else at


def partial_marker(data: bytes) -> int:
    """How many bytes at the end of `data` could be the start of a marker split across chunks."""
    tail = data[-(len(MARKER) - 1) :].lower()
    while tail and not MARKER.startswith(tail):
        tail = tail[1:]
    return len(tail)


def with_tag(data: bytes, tag: bytes, at: int | None = None) -> bytes:
    """`data` with `tag` before its last `</body` (any case), or at its end; `at`: where that is, if known."""
    if at is None:
        at = last_marker(data)
    if at < 0:
        return data + tag
    view = memoryview(data)  # slices of a view are not copies: the page is copied once
    return b"".join((view[:at], tag, view[at:]))


class TagInserter:
    """Streams a body through, putting `tag` before its last `</body` (any case) or at its end.

    Only the bytes from the latest `</body` on are held back (or the few that could start one),
    so a streamed page is never buffered whole. Given `keep`, it is handed the page as sent
    (its chunks, not a copy) once the last one is out, unless the page grew past `keep_limit`:
    then nothing more is kept from the moment it did.
    """

    Keep = Callable[[list[bytes]], None]

    def __init__(self, tag: bytes, keep: Keep | None = None, keep_limit: int = 1 << 20) -> None:
        self.tag = tag
        self._held = b""
        self._keep = keep
        self._sent: list[bytes] = []
        self._room = keep_limit  # bytes that may still be kept

    def feed(self, chunk: bytes, last: bool = False) -> bytes:
        """The bytes that can be sent now; with `last`, everything, tag included."""
        if last and not self._held and self._keep is None:
            return with_tag(chunk, self.tag)  # a whole page in one message, the usual case: no state to keep
        out = self._feed(chunk, last)
        if self._keep is not None:
            self._room -= len(out)
            if self._room < 0:  # too big to be a baseline: let go of what was kept so far, and of the rest
                self._keep = None
                self._sent = []
                return out
            self._sent.append(out)
            if last:
                self._keep(self._sent)
        return out

    def _feed(self, chunk: bytes, last: bool) -> bytes:
        data = self._held + chunk if self._held else chunk
        at = last_marker(data)
        if last:
            self._held = b""
            return with_tag(data, self.tag, at)
        if at < 0 or len(data) - at > HOLD_LIMIT:
            at = len(data) - partial_marker(data)
        self._held = data[at:]
        return data[:at]

    def finish(self) -> bytes:
        return self.feed(b"", last=True)
