"""The morph room's cost in Chromium: parsing 100 KB pages and merging a template change into a live one.

python benchmarks/_morph_figure.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

# the tests' own Chromium and flags: `pip install -e .` puts the checkout on sys.path
from tests._support.browser import CHROMIUM, CHROMIUM_ARGS

ROOM = Path(__file__).parent.parent / "templates" / "client" / "morph.js"
TARGET_MS = 15.0  # parse of NEXT + merge, for a 100 KB page


def page_html(variant: int = 0, changed_every: int = 0) -> str:
    """A realistic ~100 KB page; `changed_every=k` changes one in k of its parts (text, attributes, insertions)."""

    def changed(k: int) -> bool:
        return changed_every > 0 and k % changed_every == variant % changed_every

    nav = "".join(f'<li><a href="/section/{k}" class="nav-link">Section {k}</a></li>' for k in range(20))
    sections = []
    for s in range(18):
        paragraphs = "".join(
            f'<p class="lead{" changed" if changed(s * 10 + p) else ""}">Paragraph {p} of section {s}: '
            f"{'edited words' if changed(s * 10 + p + 3) else 'some ordinary words'} about the product, its "
            "features and its price, long enough to look like real copy on a real page.</p>"
            for p in range(6)
        )
        cards = "".join(
            f'<div class="card" data-k="{c}"><h3>Card {c}</h3><span class="badge" x-text="count">0</span>'
            f'<button type="button" hx-post="/like/{s}/{c}">Like</button></div>'
            for c in range(4)
        )
        sections.append(
            f'<section id="s{s}" class="section"><div class="container"><h2>Section {s}</h2>'
            f'<div class="row"><div class="col">{paragraphs}</div><div class="col cards">{cards}</div></div>'
            f'<div id="slot{s}" hx-get="/slot/{s}" hx-trigger="load">loading</div></div></section>'
        )
    rows = []
    for k in range(500):
        if changed(k + 5) and k % 2:
            continue  # a removed row
        text = f"Item {k} (new)" if changed(k) else f"Item {k}"
        rows.append(
            f'<li id="item-{k}" class="row{" active" if changed(k + 1) else ""}">'
            f'<input type="checkbox" name="done-{k}"><span class="title">{text}</span><em>{k * 3} points</em></li>'
        )
        if changed(k + 7) and k % 3 == 0:
            rows.append(f'<li id="new-{k}" class="row"><span class="title">Inserted {k}</span></li>')
    fields = "".join(
        f'<label for="f{k}">Field {k}</label><input id="f{k}" name="f{k}" value="{"v" if changed(k) else ""}{k}">'
        for k in range(30)
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>'
        '<link rel="stylesheet" href="/static/site.css"></head><body>'
        f'<header id="top"><nav><ul class="nav">{nav}</ul></nav><div id="flash"></div></header>'
        f'<main id="main">{"".join(sections)}<ul id="list" class="list">{"".join(rows)}</ul>'
        f'<form id="form" method="post">{fields}<select name="pick"><option>a</option><option>b</option></select>'
        f'<textarea name="notes">notes</textarea><button>Send</button></form></main>'
        '<footer id="foot"><p>Footer text</p></footer></body></html>'
    )


# What the page's scripts and its user did to LIVE before the template changed
SCRIPTS = """
  document.querySelectorAll(".badge").forEach((el, k) => { el.textContent = String(k); });
  document.querySelectorAll("[hx-get]").forEach((el) => { el.innerHTML = "<table><tr><td>swapped</td></tr></table>"; });
  document.querySelectorAll(".card:nth-child(2)").forEach((el) => el.classList.add("is-open"));
  for (const k of [3, 50, 150]) document.querySelector("#item-" + k + " input").checked = true;
  document.querySelector("#f3").value = "typed";
  const toast = document.body.appendChild(document.createElement("div"));
  toast.className = "toast";
  toast.textContent = "Saved";
"""

MEASURE = """
async ([baseHtml, nextHtml, scripts]) => {
  new Function(scripts)();
  const t0 = performance.now();
  const base = new DOMParser().parseFromString(baseHtml, "text/html");
  const t1 = performance.now();
  const next = new DOMParser().parseFromString(nextHtml, "text/html");
  const t2 = performance.now();
  const result = Morph.merge(document.body, base.body, next.body, {});
  const t3 = performance.now();
  // the merge landed: LIVE's list reads as NEXT's
  const titles = (root) => Array.from(root.querySelectorAll("#list .title"), (el) => el.textContent).join("|");
  const landed = titles(document) === titles(next);
  const { changed, unplaced } = result;
  return { parseBase: t1 - t0, parseNext: t2 - t1, merge: t3 - t2, changed, unplaced, landed };
}
"""


def measure(browser: Any, repeats: int = 20) -> dict[str, Any]:
    """Median ms in Chromium of (a) parsing two 100 KB pages, (b) a one-text change, (c) 10% of the page changed."""
    base = page_html()
    one = base.replace('<span class="title">Item 150</span>', '<span class="title">Item 150!</span>')
    assert one != base
    tenth = page_html(changed_every=10)
    room = ROOM.read_text() + "\nwindow.Morph = Morph;"
    page = browser.new_page()
    runs: dict[str, list[dict[str, float]]] = {"one": [], "tenth": []}
    try:
        for _ in range(repeats):
            for name, next_html in (("one", one), ("tenth", tenth)):
                page.set_content(base)
                page.add_script_tag(content=room)
                runs[name].append(page.evaluate(MEASURE, [base, next_html, SCRIPTS]))
    finally:
        page.close()

    def med(name: str, *keys: str) -> float:
        return round(statistics.median(sum(run[key] for key in keys) for run in runs[name]), 2)

    return {
        "page_kb": round(len(base.encode()) / 1024, 1),
        "next_10pct_kb": round(len(tenth.encode()) / 1024, 1),
        "a_parse_two_pages_ms": med("one", "parseBase", "parseNext"),
        "b_one_text_merge_ms": med("one", "merge"),
        "b_one_text_parse_next_plus_merge_ms": med("one", "parseNext", "merge"),
        "c_tenth_merge_ms": med("tenth", "merge"),
        "c_tenth_parse_next_plus_merge_ms": med("tenth", "parseNext", "merge"),
        "b_changed": runs["one"][0]["changed"],
        "c_changed": runs["tenth"][0]["changed"],
        "unplaced": max(run["unplaced"] for name in runs for run in runs[name]),
        "landed": all(run["landed"] for name in runs for run in runs[name]),
        "target_ms": TARGET_MS,
        "repeats": repeats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            figures = measure(browser, args.repeats)
        finally:
            browser.close()
    for key, value in figures.items():
        print(f"{key:40} {value}")
    worst = max(figures["b_one_text_parse_next_plus_merge_ms"], figures["c_tenth_parse_next_plus_merge_ms"])
    return 0 if worst <= TARGET_MS and figures["unplaced"] == 0 and figures["landed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
