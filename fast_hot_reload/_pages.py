from __future__ import annotations

import secrets
from collections import OrderedDict
from itertools import count

MAX_PAGES = 64  # baselines kept: the tabs a developer has open, and some
MAX_PAGE_BYTES = 1024 * 1024  # a bigger page is not kept: its tab falls back to a plain morph


class PageStore:
    """The HTML of the last pages served, by page id: the baseline a tab's three-way morph starts from.

    The body's chunks are kept as they went out (no copy); a page is joined only when its tab asks.
    """

    def __init__(self) -> None:
        # ids from a random start: the workers of one server never hand out the same one (a tab may ask another
        # worker for its page, which then has none, rather than another tab's); 16 digits each, so that a page's
        # length does not depend on the worker; below 2**53, JavaScript's exact range
        self.first = 2**50 + secrets.randbelow(2**31) * 2**19 + 1
        self._ids = count(self.first)
        self._pages: OrderedDict[int, list[bytes]] = OrderedDict()

    def new_id(self) -> int:
        return next(self._ids)

    def keep(self, page_id: int, chunks: list[bytes]) -> None:
        if sum(map(len, chunks)) > MAX_PAGE_BYTES:
            return
        self._pages[page_id] = chunks
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)

    def get(self, page_id: int) -> bytes | None:
        chunks = self._pages.get(page_id)
        return None if chunks is None else b"".join(chunks)
