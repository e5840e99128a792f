"""Figures 4, 5 and 6: restarts with clients connected, middleware cost under load, fan-out to many clients."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import Clients, Row, Server, clients, median, ms, percentile, ratio, save_python, serve, times

WAITING = "Waiting for connections to close"
FIRST_CHUNK = b"<h1>first chunk</h1>"  # what apps/page sends at once; the rest follows 300 ms later


@dataclass
class Options:
    repeats: int
    workdir: Path
    restart_clients: int  # figure 4: this many websocket clients and as many SSE clients
    ignored_folders: int  # figure 4b: folders in the project's node_modules and .venv
    clients: int  # figure 6: half websocket, half SSE
    idle_seconds: float
    wrk_pairs: int  # figure 5: fresh pairs of server processes
    wrk_runs: int  # figure 5: wrk runs per pair and route
    wrk_seconds: int
    wrk_connections: int
    saves: int = 100  # figure 8: template saves per watcher


def restart(server: Server, i: int) -> float:
    """Seconds from a main.py save to the restarted server answering with the new code."""
    start, up = save_python(server, i)
    return up - start


def figure4(opts: Options) -> list[Row]:
    n = opts.restart_clients
    restarts: dict[bool, list[float]] = {False: [], True: []}
    with serve("fhr", opts.workdir) as server:
        i = 0
        for r in range(opts.repeats):
            for connected in (r % 2 == 0, r % 2 == 1):
                if not connected:
                    restarts[False].append(restart(server, i))
                else:
                    with clients(server, ws=n, sse=n) as fleet:
                        boot = fleet.expect("ready")
                        restarts[True].append(restart(server, i))
                        while fleet.expect("ready") == boot:  # every client reconnects to the new server
                            pass
                i += 1
        waits = server.log().count(WAITING)
    ours, base = median(restarts[True]), median(restarts[False])
    note = f" ({waits}× '{WAITING}')" if waits else ""
    return [
        Row(
            f"4 restart with {n} ws + {n} SSE clients (median)",
            ms(ours) + note,
            f"no clients {ms(base)}",
            times(ours, base),
            "≤ 1.2x, never waits",
            ratio(ours, base) <= 1.2 and not waits,
        ),
        figure4b(opts),
    ]


def add_ignored_trees(root: Path, count: int) -> None:
    """A node_modules and a .venv of `count` folders in all, as a real project has: nothing in them is watched."""
    for i in range(count):
        (root / ("node_modules" if i % 2 else ".venv/lib/site-packages") / f"pkg{i // 20}" / f"m{i % 20}").mkdir(
            parents=True, exist_ok=True
        )


def figure4b(opts: Options) -> Row:
    """Restarts of the page with and without the plugin, in a project that holds big ignored trees."""
    restarts: dict[str, list[float]] = {"fhr": [], "plain": []}
    with serve("fhr", opts.workdir) as fhr, serve("plain", opts.workdir) as plain:
        for server in (fhr, plain):
            add_ignored_trees(server.root, opts.ignored_folders)
            restart(server, 0)  # the first restart after the folders appeared: not counted
        for i in range(1, opts.repeats + 1):
            for server in (fhr, plain) if i % 2 else (plain, fhr):
                restarts[server.name].append(restart(server, i))
    ours, base = median(restarts["fhr"]), median(restarts["plain"])
    return Row(
        f"4b restart in a project with a {opts.ignored_folders}-folder node_modules and .venv (median)",
        ms(ours),
        f"no plugin {ms(base)}",
        times(ours, base),
        "—",
        None,
    )


ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends for a page


CAN_PIN = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
CASES = (  # route, label, target, Accept
    ("/api", "5a JSON route, browser's Accept", 0.97, ACCEPT),
    ("/api", "5a' JSON route, API client's Accept", 0.97, "application/json"),
    ("/big", "5b 100 KB HTML page, tag injected", 0.90, ACCEPT),
)
# the same routes through apps/floor, the least any injecting middleware does: what the targets leave room for
FLOOR_CASES = (
    ("/api", "5a* the least any injecting middleware does (apps/floor), JSON, browser's Accept", None, ACCEPT),
    ("/big", "5b* the same, 100 KB HTML page, tag appended", None, ACCEPT),
)


def pin(server: Server) -> None:
    """Every thread of the worker on the last CPU: both servers share it, wrk has the first to itself."""
    if CAN_PIN:
        cpu = max(os.sched_getaffinity(0))
        for thread in server.worker().threads():
            os.sched_setaffinity(thread.id, {cpu})


def _wrk_cpu() -> None:
    if CAN_PIN:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def wrk_together(servers: Sequence[Server], route: str, opts: Options, accept: str) -> list[float]:
    """Load every server at once, one wrk each; the CPU seconds each worker spent per request.

    Side by side on one CPU, the servers see the same machine at the same moments: whatever else
    runs, or the clock speed, weighs on both alike.
    """
    workers = [server.worker() for server in servers]
    before = [sum(worker.cpu_times()[:2]) for worker in workers]
    # a browser's Accept for a page: the middleware reads it only for HTML responses, but a browser
    # it is that gets both pages and JSON from a dev server
    args = ["wrk", "-t1", f"-c{opts.wrk_connections}", f"-d{opts.wrk_seconds}s", "-H", f"Accept: {accept}"]
    loads = [
        subprocess.Popen([*args, server.url + route], stdout=subprocess.PIPE, text=True, preexec_fn=_wrk_cpu)
        for server in servers
    ]
    outputs = [load.communicate()[0] for load in loads]
    spent = [sum(worker.cpu_times()[:2]) - cpu for worker, cpu in zip(workers, before, strict=True)]
    per_request = []
    for out, cpu in zip(outputs, spent, strict=True):
        found = re.search(r"(\d+) requests in ", out)
        if found is None or "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"wrk failed or saw errors:\n{out}")
        per_request.append(cpu / int(found.group(1)))
    return per_request


def ttfb(server: Server) -> float:
    """Seconds from sending a request for /stream to receiving its first chunk (raw socket: no client overhead)."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        start = time.perf_counter()
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while FIRST_CHUNK not in received:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"/stream ended without its first chunk: {received!r}")
            received += data
        return time.perf_counter() - start


def load_pairs(
    app: str, cases: Sequence[tuple[str, str, float | None, str]], opts: Options
) -> dict[str, list[tuple[float, float]]]:
    """Per case, CPU seconds per request (`app`, no plugin) from each of `--wrk-pairs` fresh pairs of servers.

    Two processes of the very same app differ by up to ±3 % in speed (address-space layout, hash
    seed): one pair cannot tell a 3 % cost from luck, the median over several pairs can.
    """
    per_pair: dict[str, list[tuple[float, float]]] = {label: [] for _, label, _, _ in cases}
    for _ in range(opts.wrk_pairs):
        with (
            serve("plain", opts.workdir, reload=False, access_log=False) as plain,
            serve(app, opts.workdir, reload=False, access_log=False) as ours,
        ):
            if "/__hot_reload/client.js" not in httpx.get(ours.url + "/big", headers={"Accept": ACCEPT}).text:
                raise RuntimeError(f"{app} does not inject its tag: the comparison would be void")
            pin(ours)
            pin(plain)
            for route, label, _, accept in cases:
                wrk_together((ours, plain), route, opts, accept)  # warm-up, not counted
                runs = [wrk_together((ours, plain), route, opts, accept) for _ in range(opts.wrk_runs)]
                per_pair[label].append((median([r[0] for r in runs]), median([r[1] for r in runs])))
    return per_pair


def figure5(opts: Options) -> list[Row]:
    """CPU per request with and without the plugin (and the floor app), then a streamed page's first byte."""
    rows = []
    for app, cases in (("fhr", CASES), ("floor", FLOOR_CASES)):
        for (_, label, target, _), pairs in zip(cases, load_pairs(app, cases, opts).values(), strict=True):
            ratios = [base / ours for ours, base in pairs]
            ours, base = median([p[0] for p in pairs]), median([p[1] for p in pairs])
            rows.append(
                Row(
                    f"{label}: server CPU per request (ratio: without ÷ with, median of {len(ratios)} pairs)",
                    f"{ours * 1e6:.1f} µs",
                    f"no plugin {base * 1e6:.1f} µs",
                    f"{median(ratios):.3f}x ({min(ratios):.3f}–{max(ratios):.3f})",
                    f"≥ {target:.2f}x" if target else "— (a bound)",
                    median(ratios) >= target if target else None,
                )
            )
    first: dict[str, list[float]] = {"fhr": [], "plain": []}
    with (
        serve("plain", opts.workdir, reload=False, access_log=False) as plain,
        serve("fhr", opts.workdir, reload=False, access_log=False) as fhr,
    ):
        for r in range(max(40, 4 * opts.repeats)):
            for server in (fhr, plain) if r % 2 == 0 else (plain, fhr):
                first[server.name].append(ttfb(server))
    ours, base = median(first["fhr"]), median(first["plain"])
    met = ours <= base * 1.10 + 0.001 and ours < 0.1  # the rest of the page comes 300 ms later
    rows.append(
        Row(
            "5c streamed HTML: time to first byte (median)",
            f"{ours * 1000:.2f} ms",
            f"no plugin {base * 1000:.2f} ms",
            times(ours, base),
            "≤ 1.1x + 1 ms, not buffered",
            met,
        )
    )
    return rows


@dataclass
class FanOut:
    latencies: list[float]  # seconds from the write to each client's receipt, all events pooled (inf: never)
    by_transport: dict[str, list[float]]  # the same, split into "ws" and "sse"
    memory: float  # worker RSS bytes per connected client
    memory_by_transport: dict[str, float]  # the same, for the websocket and the SSE clients apart
    idle_cpu: float  # worker CPU while idle, % of one core


def fan_out(app: str, opts: Options) -> FanOut:
    n = opts.clients
    counts = {"ws": n, "sse": 0} if app == "arel" else {"ws": n - n // 2, "sse": n // 2}  # arel has no SSE
    hello = app != "arel"
    latencies: list[float] = []
    by_transport: dict[str, list[float]] = {"ws": [], "sse": []}
    memory: dict[str, float] = {}
    with serve(app, opts.workdir) as server, ExitStack() as stack:
        for _ in range(5):
            httpx.get(server.url + "/")
        with clients(server, ws=min(counts["ws"], 4), sse=min(counts["sse"], 4), hello=hello) as warm_up:
            warm_up.expect("ready")  # the first connections load code and grow pools: not a per-client cost
        worker = server.worker()
        rss_before = rss = worker.memory_info().rss
        fleets: dict[str, Clients] = {}
        for kind, count in counts.items():  # one fleet after the other: the memory of each, apart
            if count:
                ws, sse = (count, 0) if kind == "ws" else (0, count)
                fleets[kind] = stack.enter_context(clients(server, ws=ws, sse=sse, hello=hello))
                fleets[kind].expect("ready", timeout=180)
                memory[kind] = (worker.memory_info().rss - rss) / count
                rss = worker.memory_info().rss
        total_memory = (rss - rss_before) / n
        cpu_before, wall_before = sum(worker.cpu_times()[:2]), time.monotonic()
        time.sleep(opts.idle_seconds)  # the measurement window itself, not a wait for something
        cpu = (sum(worker.cpu_times()[:2]) - cpu_before) / (time.monotonic() - wall_before)
        for i in range(opts.repeats if app != "bare" else 0):  # the bare endpoints send no events
            for fleet in fleets.values():
                fleet.send("arm")
                fleet.expect("armed")
            start = server.replace("templates/index.html", f"template-v{i + 1}", f"template-v{i + 2}")
            for kind, fleet in fleets.items():
                try:
                    received = fleet.expect("done", timeout=30)
                except TimeoutError:
                    fleet.send("report")
                    received = fleet.expect("done")
                got = [(t if t is not None else math.inf) - start for t in json.loads(received)]
                latencies += got
                by_transport[kind] += got
    return FanOut(latencies, by_transport, total_memory, memory, cpu * 100)


def split_kb(fan: FanOut) -> str:
    return " / ".join(f"{fan.memory_by_transport.get(kind, math.nan) / 1024:.1f}" for kind in ("ws", "sse"))


def figure6(opts: Options) -> list[Row]:
    n = opts.clients
    ours, arel, bare = (fan_out(app, opts) for app in ("fhr", "arel", "bare"))
    missed = sum(math.isinf(lat) for lat in ours.latencies)
    p50, p99 = (percentile(ours.latencies, q) for q in (50, 99))
    split = {q: " / ".join(ms(percentile(ours.by_transport[t], q)) for t in ("ws", "sse")) for q in (50, 99)}
    a50, a99 = (percentile(arel.latencies, q) for q in (50, 99))
    kb = 1024
    return [
        Row(
            f"6a fan-out to {n - n // 2} ws + {n // 2} SSE clients: p50",
            f"{ms(p50)} (ws / SSE: {split[50]})",
            f"arel (all ws) {ms(a50)}",
            times(p50, a50),
            "—",
            None,
        ),
        Row(
            f"6b fan-out: p99{f' ({missed} never got it)' if missed else ''}",
            f"{ms(p99)} (ws / SSE: {split[99]})",
            f"arel {ms(a99)}",
            times(p99, a99),
            "≤ 250 ms",
            p99 <= 0.250 and not missed,
        ),
        Row(
            "6c worker memory per connected client (ws / SSE)",
            f"{ours.memory / kb:.1f} KB ({split_kb(ours)})",
            f"bare endpoints {bare.memory / kb:.1f} KB ({split_kb(bare)}); arel (all ws) {arel.memory / kb:.1f} KB",
            times(ours.memory, bare.memory),
            "≤ 30 KB",
            ours.memory <= 30 * kb,
        ),
        Row(
            f"6d worker CPU while idle with {n} clients",
            f"{ours.idle_cpu:.2f} %",
            f"bare endpoints {bare.idle_cpu:.2f} %; arel {arel.idle_cpu:.2f} %",
            times(ours.idle_cpu, bare.idle_cpu),
            "≤ 2 % of a core",
            ours.idle_cpu <= 2.0,
        ),
    ]
