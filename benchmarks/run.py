"""Reproduce the fast-hot-reload figures, side by side with arel (or with no plugin), in one command.

    python benchmarks/run.py [--only 1,2,...] [--tabs 3] [--clients 1000] [--repeats 10] [--saves 100]

Prints a table: figure, fast-hot-reload, arel or baseline, ratio, target, met. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import _browser_figures as bf
import _poll_figure as pf
import _runner_figure as rf
import _server_figures as sf
import _servers_figure
from _browser import launch
from _common import Row, table

import fast_hot_reload

BROWSER_FIGURES: dict[int, Callable[[bf.Options], list[Row]]] = {
    1: bf.figure1,
    2: bf.figure2,
    3: bf.figure3,
    7: bf.figure7,
    9: bf.figure9,
    11: lambda o: rf.figure11(o.browser, o.workdir, o.repeats),  # our runner, uvicorn-hmr, uvicorn --reload
}
SERVER_FIGURES: dict[int, Callable[[sf.Options], list[Row]]] = {
    4: sf.figure4,
    5: sf.figure5,
    6: sf.figure6,
    8: pf.figure8,
    10: _servers_figure.figure10,  # figure 4 and Ctrl+C on every dev server
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11", help="figures to run, e.g. 1,3 (default: all)")
    parser.add_argument("--tabs", type=int, default=3, help="browser tabs per app (figures 1, 2, 3, 7)")
    parser.add_argument("--clients", type=int, default=1000, help="clients for figure 6, half websocket, half SSE")
    parser.add_argument("--restart-clients", type=int, default=10, help="figure 4: websocket and as many SSE clients")
    parser.add_argument(
        "--ignored-folders", type=int, default=6000, help="figure 4b: folders in the project's node_modules and .venv"
    )
    parser.add_argument("--repeats", type=int, default=10, help="measurements per app and figure")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="figures 6 and 8c: idle CPU window")
    parser.add_argument("--saves", type=int, default=100, help="figure 8: template saves per watcher")
    parser.add_argument("--wrk-pairs", type=int, default=8, help="figure 5: fresh pairs of servers (with, without)")
    parser.add_argument("--wrk-runs", type=int, default=3, help="figure 5: wrk runs per pair and route")
    parser.add_argument("--wrk-seconds", type=int, default=2, help="figure 5: length of one wrk run, whole seconds")
    parser.add_argument("--wrk-connections", type=int, default=16, help="figure 5: wrk connections")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    selected = sorted({int(n) for n in args.only.split(",") if n.strip()})
    unknown = set(selected) - set(BROWSER_FIGURES) - set(SERVER_FIGURES)
    if unknown:
        raise SystemExit(f"unknown figures {sorted(unknown)}: choose from 1-11")
    if 11 in selected and sys.version_info < (3, 12):
        print("figure 11 left out: it needs Python 3.12+ (hmr); run it from a 3.12 venv", file=sys.stderr)
        selected.remove(11)
    # an editable install may have no .pyc (PYTHONDONTWRITEBYTECODE): compiled now, not at each server start,
    # as the peers in site-packages are
    compileall.compile_dir(Path(fast_hot_reload.__file__).parent, quiet=1)
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fhr-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        browser = stack.enter_context(launch()) if set(selected) & set(BROWSER_FIGURES) else None
        for number in selected:
            print(f"figure {number}...", file=sys.stderr, flush=True)
            try:
                if number in BROWSER_FIGURES:
                    rows += BROWSER_FIGURES[number](bf.Options(args.tabs, args.repeats, workdir, browser))
                else:
                    options = sf.Options(
                        args.repeats,
                        workdir,
                        args.restart_clients,
                        args.ignored_folders,
                        args.clients,
                        args.idle_seconds,
                        args.wrk_pairs,
                        args.wrk_runs,
                        args.wrk_seconds,
                        args.wrk_connections,
                        args.saves,
                    )
                    rows += SERVER_FIGURES[number](options)
            except Exception as exc:  # one broken figure must not hide the others
                traceback.print_exc()
                rows.append(Row(str(number), f"error: {type(exc).__name__}: {exc}".splitlines()[0], "", "", "", False))
    minutes = (time.monotonic() - started) / 60
    print(
        f"\n{platform.node()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"--tabs {args.tabs} --clients {args.clients} --repeats {args.repeats}, {minutes:.1f} min\n"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
