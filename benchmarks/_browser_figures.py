"""Figures 1, 2, 3 and 7: real tabs in headless Chromium, fast-hot-reload and arel side by side."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from _browser import Tabs, tabs
from _common import BURST_FILES, Row, Server, median, ms, save_python, serve, times, wait_for

T = TypeVar("T")
APPS = ("fhr", "arel")
STALE_AFTER = 10.0  # seconds: a tab that has not shown a change by then never will (arel retries every 1 s)
CSS_RELOADS = {"fhr": 0, "arel": 1}  # page reloads a stylesheet edit causes (arel reloads for everything)


@dataclass(frozen=True)
class Page:
    """One benchmark page: where it is, the template and stylesheet its saves edit, and its title's marker."""

    label: str
    path: str
    template: str
    marker: str
    stylesheet: str


PLAIN = Page("plain page", "/", "templates/index.html", "template-v", "static/style.css")
SCRIPTED = Page(
    "scripted page (htmx, Alpine, form)", "/scripted", "templates/scripted.html", "scripted-v", "assets/app.css"
)


@dataclass
class Options:
    tabs: int
    repeats: int
    workdir: Path
    browser: Any


@contextmanager
def side_by_side(opts: Options, path: str = "/") -> Iterator[dict[str, tuple[Server, Tabs]]]:
    """Both apps under `uvicorn --reload`, each with its tabs open on `path`, for the whole figure."""
    with ExitStack() as stack:
        pairs = {}
        for app in APPS:
            server = stack.enter_context(serve(app, opts.workdir))
            pairs[app] = (server, stack.enter_context(tabs(opts.browser, server.url + path, opts.tabs)))
        yield pairs


def alternate(opts: Options, step: Callable[[str, Server, Tabs, int], T], path: str = "/") -> dict[str, list[T]]:
    """Run `step` `repeats` times per app, alternating which app goes first, so drift hits both alike."""
    results: dict[str, list[T]] = {app: [] for app in APPS}
    with side_by_side(opts, path) as pairs:
        for i in range(opts.repeats):
            for app in APPS if i % 2 == 0 else APPS[::-1]:
                server, page_tabs = pairs[app]
                results[app].append(step(app, server, page_tabs, i))
    return results


def color(i: int) -> str:
    return "rgb(0, 0, 255)" if i == 0 else f"rgb({i}, 0, 0)"


def template_step(page: Page, app: str, server: Server, page_tabs: Tabs, i: int) -> tuple[float, int]:
    """(write -> the last tab shows the new title, most documents any tab loaded for it)."""
    page_tabs.wait_ready()
    before = page_tabs.navigations()
    new = f"{page.marker}{i + 2}"
    start = server.replace(page.template, f"{page.marker}{i + 1}", new)
    latency = float(max(page_tabs.wait_seen("title=" + new)) - start)
    return latency, max(a - b for a, b in zip(page_tabs.navigations(), before, strict=True))


def stylesheet_step(page: Page, app: str, server: Server, page_tabs: Tabs, i: int) -> tuple[float, int]:
    """(write -> the last tab shows the new colour, or inf when a tab never does; page reloads it caused)."""
    page_tabs.wait_ready()
    before = page_tabs.loads()
    start = server.replace(page.stylesheet, color(i), color(i + 1))
    try:
        latency = max(page_tabs.wait_seen("color=" + color(i + 1), timeout=STALE_AFTER)) - start
    except TimeoutError:
        # a reload that took the old sheet from Chromium's heuristic cache (StaticFiles sends no Cache-Control)
        latency = math.inf
    return latency, max(a - b for a, b in zip(page_tabs.loads(), before, strict=True))


def python_step(app: str, server: Server, page_tabs: Tabs, i: int) -> tuple[float, float]:
    """(server restart: write -> new server answers, client lag: new server answers -> every tab shows it)."""
    page_tabs.wait_ready()
    start, up = save_python(server, i)
    try:
        shown = max(page_tabs.wait_seen(f"message=python-v{i + 2}", timeout=STALE_AFTER))
    except TimeoutError:
        page_tabs.reload()  # a tab kept the old page: counted as a miss, then fixed by hand for the next run
        return up - start, math.inf
    return up - start, shown - up


def figure1(opts: Options) -> list[Row]:
    rows = []
    for page in (PLAIN, SCRIPTED):
        got = alternate(opts, partial(template_step, page), page.path)
        ours, peer = (median([lat for lat, _ in got[app]]) for app in APPS)
        navigations = sum(n for _, n in got["fhr"])
        note = f" ({navigations} navigations)" if navigations else ", no navigation"
        rows.append(
            Row(
                f"1 template save → all tabs show it, {page.label} (median)",
                ms(ours) + note,
                f"arel {ms(peer)} (reloads)",
                times(ours, peer),
                "≤ 50 ms, no navigation",
                ours <= 0.050 and navigations == 0,
            )
        )
    return rows


def figure2(opts: Options) -> list[Row]:
    rows = []
    for page in (PLAIN, SCRIPTED):
        got = alternate(opts, partial(stylesheet_step, page), page.path)
        ours, peer = (median([lat for lat, _ in got[app]]) for app in APPS)
        reloads = sum(n for _, n in got["fhr"])
        stale = {app: sum(lat == math.inf for lat, _ in got[app]) for app in APPS}
        note = f" ({reloads} reloads)" if reloads else ", no reload"
        peer_note = f" ({stale['arel']}/{len(got['arel'])} saves never shown)" if stale["arel"] else ""
        rows.append(
            Row(
                f"2 stylesheet save → all tabs restyled, {page.label} (median)",
                ms(ours) + note + (f", {stale['fhr']} never shown" if stale["fhr"] else ""),
                f"arel {ms(peer)} (reloads){peer_note}",
                times(ours, peer),
                "≤ 50 ms, no reload",
                ours <= 0.050 and reloads == 0 and not stale["fhr"],
            )
        )
    return rows


def figure3(opts: Options) -> list[Row]:
    got = alternate(opts, python_step)
    restart, lag = ({app: median([r[k] for r in got[app]]) for app in APPS} for k in (0, 1))
    stale = {app: sum(r[1] == math.inf for r in got[app]) for app in APPS}
    note = {app: f" ({stale[app]}/{len(got[app])} runs left a tab stale)" if stale[app] else "" for app in APPS}
    return [
        Row(
            "3a Python save: server restart (median, uvicorn's)",
            ms(restart["fhr"]),
            f"arel {ms(restart['arel'])}",
            times(restart["fhr"], restart["arel"]),
            "—",
            None,
        ),
        Row(
            "3b Python save: client lag after restart (median)",
            ms(lag["fhr"]) + note["fhr"],
            f"arel {ms(lag['arel'])}{note['arel']}",
            times(lag["fhr"], lag["arel"]),
            "≤ 50 ms",
            lag["fhr"] <= 0.050 and not stale["fhr"],
        ),
    ]


def settle(app: str, server: Server, page_tabs: Tabs, i: int) -> list[int]:
    """Wait until every change before now has reached the tabs; the load counts then.

    A stylesheet edit made now is ordered after every earlier change by the server, so once all
    tabs show it, nothing older is still on its way. Its own reloads (arel's) are subtracted.
    """
    page_tabs.wait_ready()
    server.replace("static/style.css", color(i), color(i + 1))
    page_tabs.wait_seen("color=" + color(i + 1))
    page_tabs.wait_ready()
    return [n - CSS_RELOADS[app] for n in page_tabs.loads()]


def burst_step(app: str, server: Server, page_tabs: Tabs, i: int) -> tuple[list[int], list[int], float]:
    """(reloads per tab after a 100-file burst, after an editor save, seconds the burst took to write)."""
    page_tabs.wait_ready()
    before = page_tabs.loads()
    files = sorted((server.root / "templates" / "burst").iterdir())[:BURST_FILES]
    start = time.perf_counter()
    for n, path in enumerate(files):
        path.write_text(f"<p>part {n} v{i + 1}</p>\n")
    took = time.perf_counter() - start
    wait_for(
        lambda: all(a > b for a, b in zip(page_tabs.loads(), before, strict=True)),
        15,
        0.05,
        "the burst to reload the tabs",
    )
    after_burst = settle(app, server, page_tabs, 2 * i)
    burst = [a - b for a, b in zip(after_burst, before, strict=True)]

    before = page_tabs.loads()
    index = server.root / "templates" / "index.html"
    new = f"saved-v{i + 1}"
    text = index.read_text()
    fd, temp = tempfile.mkstemp(dir=index.parent, prefix=".index.html.", suffix=".tmp")  # as editors do
    with os.fdopen(fd, "w") as file:
        file.write(text.replace(f"saved-v{i}" if i else "template-v1", new))
    os.replace(temp, index)
    page_tabs.wait_seen("title=" + new)
    saved = [a - b for a, b in zip(settle(app, server, page_tabs, 2 * i + 1), before, strict=True)]
    return burst, saved, took


def figure7(opts: Options) -> list[Row]:
    got = alternate(opts, burst_step)
    rows = []
    took = median([r[2] for app in APPS for r in got[app]]) * 1000
    for k, label in (
        (0, f"7a {BURST_FILES}-file burst (written in {took:.0f} ms): reloads per tab"),
        (1, "7b editor save (temp + rename): reloads per tab"),
    ):
        ours, peer = ([n for r in got[app] for n in (r[0] if k == 0 else r[1])] for app in APPS)
        rows.append(
            Row(
                label,
                _spread(ours),
                f"arel {_spread(peer)}",
                "—",
                "exactly 1",
                set(ours) == {1},
            )
        )
    return rows


def _spread(counts: list[int]) -> str:
    return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"


def figure9(opts: Options) -> list[Row]:
    """The morph's cost in Chromium on a 100 KB page: parse of the new render + the three-way merge."""
    import _morph_figure

    got = _morph_figure.measure(opts.browser, max(opts.repeats * 2, 10))
    one, tenth = got["b_one_text_parse_next_plus_merge_ms"], got["c_tenth_parse_next_plus_merge_ms"]
    ok = got["unplaced"] == 0 and got["landed"]
    return [
        Row(
            f"9a morph, {got['page_kb']:.0f} KB page, one text changed: parse + merge (median)",
            f"{one:.1f} ms (merge {got['b_one_text_merge_ms']:.1f})",
            "—",
            "—",
            f"≤ {_morph_figure.TARGET_MS:.0f} ms",
            one <= _morph_figure.TARGET_MS and ok,
        ),
        Row(
            f"9b morph, same page, 10% changed ({got['c_changed']} operations): parse + merge (median)",
            f"{tenth:.1f} ms (merge {got['c_tenth_merge_ms']:.1f})",
            "—",
            "—",
            "—",
            None if ok else False,
        ),
    ]
