"""Figure 8: detection under forced polling (Docker Desktop, WSL): latency and saves lost, side by side.

    python benchmarks/_poll_figure.py [--saves 100] [--idle-seconds 15] [--big-tree 50000]

Three servers of the benchmark page with FastHotReload run at once: inotify, forced polling (ours) and
watchfiles' own forced polling. Each gets `saves` in-place writes of templates/index.html, 0.2-1 s apart
(random), half of them the size of the one before; latency = a websocket client's receipt of the event -
the write. A save with no event within LOST_AFTER is lost. Then the worker's CPU while idle.

8d: our poller alone on a big tree (50,000 files in 2,500 folders, none modified lately): its CPU while idle,
and how soon it reports a save of a file saved before (hot), a first in-place write in a folder untouched for
an hour, and an atomic save (written aside, renamed over) there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
from _common import Row, Server, median, ms, percentile, serve, table, times
from _server_figures import Options
from websockets.asyncio.client import ClientConnection, connect

from fast_hot_reload._files.filters import ChangeFilter, watched_folders
from fast_hot_reload._files.poll import Poller
from fast_hot_reload._files.watch import DEBOUNCE_MS, STEP_MS

LOST_AFTER = 1.5  # seconds: watchfiles polls every 300 ms, so a save not reported by then never is
SAVE_GAP = (0.2, 1.0)  # seconds between two saves, drawn at random
EXTRA_FILES = 100  # static/extra/*.html, so that ~200 files are watched, as in a small real project
QUIET_SECONDS = 3.0  # after the last save: our poller compares a changed file by content for a while (up to 2 s)
CASES = {  # name: (app, environment)
    "inotify": ("fhr", {"WATCHFILES_FORCE_POLLING": "false"}),
    "ours": ("fhr", {"WATCHFILES_FORCE_POLLING": "true"}),
    "watchfiles": ("fhr_watchfiles_poll", {"WATCHFILES_FORCE_POLLING": "true"}),
}


async def next_event(ws: ClientConnection, path: str) -> dict[str, Any]:
    """The next event that names `path` (the extra files' events may still come)."""
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] in ("reload", "css") and path in message["paths"]:
            return message


async def late_events(ws: ClientConnection, path: str) -> int:
    """Events for `path` already received but not read: a lost save's, come after all (cancelling recv loses none)."""
    count = 0
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 0.001))
        except TimeoutError:
            return count
        count += message["type"] in ("reload", "css") and path in message["paths"]


async def saves_to(server: Server, saves: int, seed: int) -> dict[str, Any]:
    """Save the template `saves` times; latencies of the saves that got an event, and the count of lost ones."""
    target = server.root / "templates" / "index.html"
    template = target.read_text()
    rng = random.Random(seed)
    latencies: list[float] = []
    lost = {"same size": 0, "other size": 0}
    late = 0
    async with connect(f"ws://127.0.0.1:{server.port}/__hot_reload/ws") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        extra = server.root / "static" / "extra"
        extra.mkdir()
        for i in range(EXTRA_FILES):
            (extra / f"file-{i:03d}.html").write_text(f"<p>file {i}</p>\n" * 20)
        await asyncio.wait_for(next_event(ws, "static/extra"), 10)  # the new folder: not counted
        last = time.time()
        for i in range(1, saves + 1):
            await asyncio.sleep(max(0.0, last + rng.uniform(*SAVE_GAP) - time.time()))
            text = template.replace("template-v1", f"save-{i:04d}" + ("!" if (i // 2) % 2 else ""))
            size = "same size" if len(text) == target.stat().st_size else "other size"
            late += await late_events(ws, "templates/index.html")
            last = time.time()
            target.write_text(text)
            try:
                await asyncio.wait_for(next_event(ws, "templates/index.html"), LOST_AFTER)
            except TimeoutError:
                lost[size] += 1
                continue
            latencies.append(time.time() - last)
    lost_counts = {f"lost, {kind}": count for kind, count in lost.items()}
    return {"latencies": latencies, "lost": sum(lost.values()), **lost_counts, "late": late}


def big_tree(files: int, idle_seconds: float, workdir: Path) -> dict[str, Any]:
    """Our poller on a tree of `files` files: idle CPU (% of a core) and detection latencies (s) by kind of save."""
    root = workdir / f"tree-{files}"
    old = time.time() - 7200  # nobody worked here within the hour: no folder starts hot
    for d in range(files // 20):
        folder = root / f"pkg{d // 50:03d}" / f"mod{d:04d}"
        folder.mkdir(parents=True)
        for f in range(20):
            path = folder / f"f{f:02d}.html"
            path.write_text("x" * 200)
            os.utime(path, (old, old))
    folders = watched_folders([root], ChangeFilter())
    all_files = sorted(root.rglob("*.html"))
    rng = random.Random(8)
    kinds: dict[str, list[float]] = {"hot": [], "cold, in place": [], "cold, atomic": []}

    async def run() -> float:
        poller = Poller(ChangeFilter(), STEP_MS / 1000, DEBOUNCE_MS / 1000)
        stop = anyio.Event()
        seen: dict[str, float] = {}

        async def consume() -> None:
            async for batch in poller.changes(folders, stop):
                for _, path in batch:
                    seen.setdefault(path, time.monotonic())

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await anyio.sleep(2)  # the first whole scan is behind us
            before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            await anyio.sleep(idle_seconds)  # the measurement window itself
            after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - started
            cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall * 100
            all_files[0].write_text("the file being worked on: saved once before")
            with anyio.fail_after(30):
                while str(all_files[0]) not in seen:
                    await anyio.sleep(0.002)
            for i in range(9):
                kind = ("cold, in place", "hot", "cold, atomic")[i % 3]
                target = all_files[0] if kind == "hot" else all_files[rng.randrange(1, len(all_files))]
                started = time.monotonic()
                if kind == "cold, atomic":
                    aside = target.with_name(target.name + ".tmp")
                    aside.write_text(f"atomic {i}")
                    os.replace(aside, target)
                else:
                    target.write_text(f"in place {i}")
                with anyio.fail_after(30):
                    while seen.get(str(target), 0.0) < started:
                        await anyio.sleep(0.002)
                kinds[kind].append(seen.pop(str(target)) - started)
                await anyio.sleep(rng.uniform(*SAVE_GAP))
            stop.set()
            tg.cancel_scope.cancel()
        return cpu

    cpu = asyncio.run(run())
    return {"files": len(all_files), "folders": len(folders), "idle cpu": cpu, **kinds}


def idle_cpu(servers: dict[str, Server], seconds: float) -> dict[str, float]:
    """Each worker's CPU (user + system) over the same window, % of one core."""
    workers = {name: server.worker() for name, server in servers.items()}
    before = {name: sum(worker.cpu_times()[:2]) for name, worker in workers.items()}
    started = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    wall = time.monotonic() - started
    return {name: (sum(worker.cpu_times()[:2]) - before[name]) / wall * 100 for name, worker in workers.items()}


def measure(
    saves: int = 100, idle_seconds: float = 15.0, workdir: Path | None = None, big: int = 50000
) -> dict[str, Any]:
    """Per case: median and p90 latency (s), saves lost out of `saves`, idle CPU (% of a core)."""
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fhr-poll-")))
        # no --reload: uvicorn's reloader would poll the whole tree too, in its own process
        servers = {
            name: stack.enter_context(serve(app, workdir, reload=False, access_log=False, env=env))
            for name, (app, env) in CASES.items()
        }

        async def all_saves() -> list[dict[str, Any]]:
            return await asyncio.gather(*(saves_to(s, saves, seed) for seed, s in enumerate(servers.values())))

        # a thread of its own: run.py keeps Playwright's loop running in this one while the browser is open
        with ThreadPoolExecutor(1) as pool:
            results = dict(zip(servers, pool.submit(asyncio.run, all_saves()).result(), strict=True))
        time.sleep(QUIET_SECONDS)  # the window shows a project at rest
        cpu = idle_cpu(servers, idle_seconds)
        files = sum(len(names) for _, _, names in os.walk(next(iter(servers.values())).root))
        with ThreadPoolExecutor(1) as pool:
            tree = pool.submit(big_tree, big, idle_seconds, workdir).result() if big else None
    return {
        name: {
            "median": median(result["latencies"]),
            "p90": percentile(result["latencies"], 90),
            "lost": result["lost"],
            "lost, same size": result["lost, same size"],
            "lost, other size": result["lost, other size"],
            "late": result["late"],
            "idle cpu": cpu[name],
        }
        for name, result in results.items()
    } | {"saves": saves, "files": files, "big tree": tree}


def rows(result: dict[str, Any]) -> list[Row]:
    ours, plain, inotify = result["ours"], result["watchfiles"], result["inotify"]
    saves = result["saves"]

    def latency(case: dict[str, Any]) -> str:
        return f"{ms(case['median'])} / {ms(case['p90'])}"

    return [
        Row(
            "8a template save → websocket client, forced polling (median / p90)",
            latency(ours),
            f"watchfiles polling {latency(plain)}; inotify {latency(inotify)}",
            times(ours["median"], plain["median"]),
            "median < 60 ms",
            ours["median"] < 0.060,
        ),
        Row(
            f"8b saves lost out of {saves}, 0.2–1 s apart, forced polling",
            str(ours["lost"]),
            f"watchfiles polling {plain['lost']} ({plain['lost, same size']} of the same size); "
            f"inotify {inotify['lost']}",
            "—",
            "0",
            ours["lost"] == 0,
        ),
        Row(
            f"8c worker CPU while idle, forced polling, {result['files']} files in the project",
            f"{ours['idle cpu']:.2f} %",
            f"watchfiles polling {plain['idle cpu']:.2f} %; inotify {inotify['idle cpu']:.2f} %",
            times(ours["idle cpu"], plain["idle cpu"]),
            "—",
            None,
        ),
    ] + big_rows(result["big tree"])


def big_rows(tree: dict[str, Any] | None) -> list[Row]:
    if tree is None:
        return []
    shown = "; ".join(f"{kind} {ms(median(tree[kind]))} (max {ms(max(tree[kind]))})" for kind in KINDS)
    return [
        Row(
            f"8d our poller alone, {tree['files']} files in {tree['folders']} folders: idle CPU; save → reported",
            f"{tree['idle cpu']:.1f} % of a core",
            shown,
            "—",
            "hot save < 60 ms; cold ≤ 5 s",
            median(tree["hot"]) < 0.060 and max(tree["cold, in place"]) <= 5.5,
        )
    ]


KINDS = ("hot", "cold, in place", "cold, atomic")


def figure8(opts: Options) -> list[Row]:
    return rows(measure(opts.saves, opts.idle_seconds, opts.workdir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=100, help="saves per case")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="idle CPU window")
    parser.add_argument("--big-tree", type=int, default=50000, help="files in 8d's tree (0: leave 8d out)")
    args = parser.parse_args(argv)
    result = measure(args.saves, args.idle_seconds, big=args.big_tree)
    for name in CASES:
        case = result[name]
        print(
            f"{name:>10}: median {ms(case['median'])}, p90 {ms(case['p90'])}, lost {case['lost']}/{args.saves} "
            f"(same size {case['lost, same size']}, other size {case['lost, other size']}; "
            f"{case['late']} of them reported after {LOST_AFTER:g} s), "
            f"idle CPU {case['idle cpu']:.2f} % of a core"
        )
    print(f"{result['files']} files in each project")
    print(table(rows(result)))
    return 0 if all(row.met is not False for row in rows(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
