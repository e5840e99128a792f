"""Figure 11: a Python edit on an app whose other module imports in 2 s, in real tabs, side by side in one run:
our runner (`fast-hot-reload main:app`), uvicorn-hmr and `uvicorn --reload`. Python 3.12+ (hmr).

python benchmarks/_runner_figure.py [--repeats 8] [--tabs 1]

Save main.py -> the open tab shows the new render (median), and whether it came in place: no navigation, the text
typed into the page kept.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from _browser import Tabs, launch, tabs
from _common import Row, free_port, median, ms, table, times, wait_for

BIN = Path(sys.executable).parent
TARGET_S = 0.100
HEAVY = "import time\n\ntime.sleep(2)  # pandas, a model, an ORM: an import that takes seconds\nSTATE = {'hits': 0}\n"
MAIN = """from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

import heavy
from fast_hot_reload import FastHotReload

TITLE = "py-v0"
app = FastAPI()
FastHotReload(app)
templates = Jinja2Templates(directory="templates")


@app.get("/")
def index(request: Request):
    heavy.STATE["hits"] += 1
    return templates.TemplateResponse(request, "index.html", {"title": TITLE})
"""
PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>bench</title></head><body>'
    '<h1 id="title">{{ title }}</h1><input id="typed" value=""></body></html>\n'
)
SERVERS = {
    "fast-hot-reload": lambda port: [str(BIN / "fast-hot-reload"), "main:app", "--port", str(port)],
    "uvicorn-hmr": lambda port: [str(BIN / "uvicorn-hmr"), "main:app", "--host", "127.0.0.1", "--port", str(port)],
    "uvicorn --reload": lambda port: [str(BIN / "uvicorn"), "main:app", "--reload", "--port", str(port)],
}


def write_app(root: Path) -> None:
    (root / "templates").mkdir(parents=True)
    (root / "heavy.py").write_text(HEAVY)
    (root / "main.py").write_text(MAIN)
    (root / "templates" / "index.html").write_text(PAGE)


@contextmanager
def served(name: str, root: Path) -> Iterator[str]:
    write_app(root)
    port = free_port()
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        SERVERS[name](port), cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: _answers(url), 30, 0.05, f"{name} to serve")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def save_step(root: Path, page_tabs: Tabs, i: int) -> tuple[float, bool]:
    """(write -> the last tab shows it, in place: no navigation and the typed text still there)."""
    page_tabs.wait_ready()
    before = page_tabs.navigations()
    typed = f"typed {i}"
    for page in page_tabs.pages:
        page.fill("#typed", typed)
    main = root / "main.py"
    source = main.read_text()
    new = f"py-v{i + 1}"
    time.sleep(0.3)  # the watchers settle after the last save (their debounce), as between a user's saves
    written = time.time()
    main.write_text(source.replace(source.split('TITLE = "')[1].split('"')[0], new, 1))
    seen = max(page_tabs.wait_seen(f"title={new}", 30))
    values = page_tabs.state("document.getElementById('typed')?.value")
    in_place = page_tabs.navigations() == before and all(v == typed for v in values)
    return seen - written, in_place


def figure11(browser: Any, workdir: Path, repeats: int = 8, tab_count: int = 1) -> list[Row]:
    results: dict[str, list[tuple[float, bool]]] = {name: [] for name in SERVERS}
    with ExitStack() as stack:
        opened = {}
        for name in SERVERS:
            root = workdir / name.replace(" ", "_").replace("-", "_")
            url = stack.enter_context(served(name, root))
            opened[name] = (root, stack.enter_context(tabs(browser, url, tab_count)))
        names = list(SERVERS)
        for i in range(repeats):
            for name in names if i % 2 == 0 else names[::-1]:  # alternate the order: drift hits all alike
                root, page_tabs = opened[name]
                results[name].append(save_step(root, page_tabs, i))
    ours = median([t for t, _ in results["fast-hot-reload"]])
    rows = []
    for peer in ("uvicorn-hmr", "uvicorn --reload"):
        theirs = median([t for t, _ in results[peer]])
        label = f"11 python edit, 2 s import: save -> tab (vs {peer})"
        rows.append(Row(label, ms(ours), ms(theirs), times(ours, theirs), f"< {ms(TARGET_S)}", ours < TARGET_S))
    for name, runs in results.items():
        kept = sum(in_place for _, in_place in runs)
        rows.append(Row(f"11 in place ({name}): no navigation, typed text kept", f"{kept}/{len(runs)}", "", "", "all",
                        kept == len(runs) if name == "fast-hot-reload" else None))  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--tabs", type=int, default=1)
    args = parser.parse_args()
    if sys.version_info < (3, 12):
        raise SystemExit("figure 11 needs Python 3.12+ (hmr): run it from a 3.12 venv with .[test,hmr]")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fhr-bench-runner-") as tmp, launch() as browser:
        rows = figure11(browser, Path(tmp), args.repeats, args.tabs)
    print(table(rows))
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
