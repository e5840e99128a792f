from __future__ import annotations

MARKER = b"</body"
HOLD_LIMIT = 64 * 1024  # bytes held after a </body> before giving up on it and appending the tag


class TagInserter:
    """Streams a body through, putting `tag` before its last `</body` (any case) or at its end.

    Only the bytes from the latest `</body` on are held back (or the few that could start one),
    so a streamed page is never buffered whole.
    """

    def __init__(self, tag: bytes) -> None:
        self.tag = tag
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._held + chunk
        at = data.lower().rfind(MARKER)
        if at < 0 or len(data) - at > HOLD_LIMIT:
            at = max(len(data) - (len(MARKER) - 1), 0)  # keep what might be the start of a marker
            tail = data[at:].lower()
            while tail and not MARKER.startswith(tail):
                tail, at = tail[1:], at + 1
        self._held = data[at:]
        return data[:at]

    def finish(self) -> bytes:
        held, self._held = self._held, b""
        if held.lower().startswith(MARKER):
            return self.tag + held
        return held + self.tag
