from __future__ import annotations

from collections import OrderedDict
from itertools import count

MAX_PAGES = 64  # baselines kept: the tabs a developer has open, and some
MAX_PAGE_BYTES = 1024 * 1024  # a bigger page is not kept: its tab falls back to a plain morph


class PageStore:
    """The HTML of the last pages served, by page id: the baseline a tab's three-way morph starts from.

    The body's chunks are kept as they went out (no copy); a page is joined only when its tab asks.
    """

    def __init__(self) -> None:
        self._ids = count(1)
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
