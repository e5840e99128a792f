from __future__ import annotations

import os
import re
from collections import OrderedDict
from typing import NamedTuple

MAX_PAGES = 64  # baselines kept: the tabs a developer has open, and some
MAX_PAGE_BYTES = 1024 * 1024  # a bigger page is not kept: its tab falls back to a plain morph
ID_BYTES = 16  # 128 random bits: nobody guesses another browser's page
ID_BATCH = 64  # ids drawn from the OS at once: one system call per 64 pages, not one per page
CHARSET_RE = re.compile(rb"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)


class Page(NamedTuple):
    chunks: list[bytes]
    client: str | None  # the address of the client that got it: the only one it is served to
    charset: str | None  # as its Content-Type named it: the baseline is decoded as the page was


class PageStore:
    """The HTML of the last pages served, by page id: the baseline a tab's three-way morph starts from.

    A page's id is 128 random bits, known only to the browser that got the page; its baseline is served once,
    and only to a request from that browser's address. The body's chunks are kept as they went out (no copy);
    a page is joined only when its tab asks.
    """

    def __init__(self) -> None:
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._random = b""
        self._used = 0

    def new_id(self) -> str:
        """A new page's id: 32 hex digits from the OS's random source, the same length on every worker."""
        if self._used >= len(self._random):
            self._random, self._used = os.urandom(ID_BYTES * ID_BATCH), 0
        start, self._used = self._used, self._used + ID_BYTES
        return self._random[start : self._used].hex()

    def keep(self, page_id: str, chunks: list[bytes], client: str | None, content_type: bytes = b"") -> None:
        if sum(map(len, chunks)) > MAX_PAGE_BYTES:
            return
        charset = CHARSET_RE.search(content_type)
        self._pages[page_id] = Page(chunks, client, charset.group(1).decode("ascii") if charset else None)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)

    def take(self, page_id: str, client: str | None) -> tuple[bytes, str | None] | None:
        """The page and its charset, for the client that got it; once: a second ask gets None."""
        page = self._pages.get(page_id)
        if page is None or page.client != client:
            return None
        del self._pages[page_id]
        return b"".join(page.chunks), page.charset
