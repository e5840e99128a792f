"""What one request is, as the outer layer, the inner layer and the Jinja hook see it: one record per request."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

# what a request asks for, as far as hot reload is concerned: not a page (an Accept without HTML), anything
# (`*/*`: curl, fetch(); its HTML gets the tag, its 5xx stays the app's), a page, a browser's navigation to one
# (a page whose baseline is kept), an htmx fragment
NOT_PAGE, ANYTHING, PAGE, DOCUMENT, FRAGMENT = range(5)


class RequestRecord:
    """One request's record, made by the outer layer (or the inner one, wired by hand) and found through CURRENT.

    The inner layer notes that the page got its tag, the Jinja hook which templates it rendered, our endpoints
    that the request is ours (the server's log lines about it are not the app's). It is one mutable object:
    a context copied into another task (BaseHTTPMiddleware, a sync route's thread) still reaches it.
    """

    __slots__ = ("_kind", "headers", "injected", "ours", "rendered")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]], ours: bool = False) -> None:
        self.headers = headers
        self.ours = ours
        self.injected = False  # the inner layer put the tag into this response
        self.rendered: set[str] | None = None  # template files the response used, noted by the Jinja hook
        self._kind = -1

    @property
    def kind(self) -> int:
        """NOT_PAGE, PAGE, DOCUMENT or FRAGMENT; read from the headers the first time it is asked."""
        if self._kind < 0:
            self._kind = request_kind(self.headers)
        return self._kind

    @property
    def browser_page(self) -> bool:
        """A browser asking for a page (its Accept names text/html): a 5xx gets our error page, not an API client's
        (`*/*`, JSON) nor an htmx fragment's."""
        return self.kind == PAGE or self.kind == DOCUMENT


CURRENT: ContextVar[RequestRecord | None] = ContextVar("fast_hot_reload_request", default=None)


def request_kind(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """What the request asks for (see NOT_PAGE...): from Accept, HX-Request, and a navigation's Sec-Fetch-Dest
    (or Upgrade-Insecure-Requests, where browsers send no Sec-Fetch: plain http on a LAN address)."""
    kind = NOT_PAGE
    document = fetch_dest = False
    for key, value in headers:  # ASGI request header names are lower-case: plain compares
        if key == b"accept":
            # find(), not `in`: bytes' `in` first tries its operand as an int, raising and clearing a TypeError
            kind = PAGE if value.find(b"text/html") >= 0 else ANYTHING if value.find(b"*/*") >= 0 else NOT_PAGE
        elif key == b"hx-request":
            return FRAGMENT
        elif key == b"sec-fetch-dest":
            document = value in (b"document", b"iframe")
            fetch_dest = True
        elif key == b"upgrade-insecure-requests" and not fetch_dest:
            document = True
    return DOCUMENT if document and kind == PAGE else kind
