"""The pages this server tagged, by page id: who got each, what it rendered, and how much its tab may log."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection

from .._errors.allowance import Allowance

MAX_TABS = 1024  # page ids remembered: a developer's tabs and their refreshes, and many more
# console lines a tab may send at once, then RATE a second: twice what our client sends (report.js: 20, then 2),
# whose allowance refills while a long loop still logs; a client of someone else's gets no more than this
BURST = 40
RATE = 4.0


class Tab(Allowance):
    """One tagged page: the client it went to, the template files it rendered, its tab's console allowance.

    `allow()` is the allowance: a loop that logs 10,000 times gets BURST lines through, then RATE a second;
    `dropped` counts what the tab or we held back and no line has said yet.
    """

    __slots__ = ("client", "rendered", "said_at")

    def __init__(self, client: str | None, rendered: Collection[str] | None) -> None:
        super().__init__(BURST, RATE)
        self.client = client
        self.rendered = rendered  # the request record's set, as the Jinja hook left it (no copy on the hot path)
        self.said_at = 0.0  # when a line last said how many


class Tabs:
    """The page ids this server handed out (128 random bits each, see PageStore.new_id), newest last.

    What a tab sends back (its console lines, an alt+click, a link to the editor) is taken only with an id of
    ours, from the client the page went to: a page of another site, or another browser, knows none.
    """

    def __init__(self) -> None:
        # a page that never reports (most) stays a (client, rendered) pair: its Tab is made when it first does
        self._tabs: OrderedDict[str, Tab | tuple[str | None, Collection[str] | None]] = OrderedDict()

    def issue(self, page_id: str, client: str | None, rendered: Collection[str] | None) -> None:
        tabs = self._tabs
        tabs[page_id] = (client, rendered)
        if len(tabs) > MAX_TABS:
            tabs.popitem(last=False)

    def find(self, page_id: object, client: str | None) -> Tab | None:
        """The tab of a page id we issued to this client; None for anything else (a guess, another client's)."""
        if not isinstance(page_id, str) or len(page_id) != 32:
            return None
        tab = self._tabs.get(page_id)
        if isinstance(tab, tuple):
            if tab[0] != client:
                return None
            tab = self._tabs[page_id] = Tab(*tab)
        return tab if tab is not None and tab.client == client else None
