"""Figures 4, 5 and 6: restarts with clients connected, middleware cost under load, fan-out to many clients."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import time
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
    clients: int  # figure 6: half websocket, half SSE
    idle_seconds: float
    wrk_runs: int
    wrk_seconds: int
    wrk_connections: int


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
        )
    ]


ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends for a page


CAN_PIN = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def pin(server: Server) -> None:
    """Every thread of the worker on the last CPU, so that wrk (on the first) never shares one with it."""
    if CAN_PIN:
        cpu = max(os.sched_getaffinity(0))
        for thread in server.worker().threads():
            os.sched_setaffinity(thread.id, {cpu})


def _wrk_cpu() -> None:
    if CAN_PIN:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def wrk(server: Server, route: str, opts: Options, accept: str = ACCEPT) -> tuple[float, float]:
    """(requests per second, server CPU seconds per request) of one wrk run on loopback."""
    process = server.worker()
    cpu_before = sum(process.cpu_times()[:2])
    # a browser's Accept for a page: the middleware reads it only for HTML responses, but a browser
    # it is that gets both pages and JSON from a dev server
    args = ["wrk", "-t1", f"-c{opts.wrk_connections}", f"-d{opts.wrk_seconds:g}s", "-H", f"Accept: {accept}"]
    args.append(server.url + route)
    out = subprocess.run(args, capture_output=True, text=True, check=True, preexec_fn=_wrk_cpu).stdout
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = re.search(r"(\d+) requests in .*\n(?:.*\n)*?Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(found.group(2)), cpu / int(found.group(1))


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


def throughput(fhr: Server, plain: Server, route: str, opts: Options, accept: str) -> tuple[float, float, float, float]:
    """(median req/s with, without; paired median ratio of req/s; ratio of server CPU per request, inverted).

    Runs alternate between the apps; each ratio compares two neighbouring runs, so load from other
    work on the machine cancels out as far as it can. CPU per request is what bounds a saturated
    worker's throughput and is far less sensitive to that load than req/s.
    """
    for server in (fhr, plain):
        wrk(server, route, opts, accept)  # warm-up, not counted
    runs: dict[str, list[tuple[float, float]]] = {"fhr": [], "plain": []}
    for r in range(opts.wrk_runs):
        for server in (fhr, plain) if r % 2 == 0 else (plain, fhr):
            runs[server.name].append(wrk(server, route, opts, accept))
    pairs = list(zip(runs["fhr"], runs["plain"], strict=True))
    rps_ratio = median([ours[0] / base[0] for ours, base in pairs])
    cpu_ratio = median([base[1] / ours[1] for ours, base in pairs])
    return median([run[0] for run in runs["fhr"]]), median([run[0] for run in runs["plain"]]), rps_ratio, cpu_ratio


def figure5(opts: Options) -> list[Row]:
    rows = []
    with (
        serve("plain", opts.workdir, reload=False, access_log=False) as plain,
        serve("fhr", opts.workdir, reload=False, access_log=False) as fhr,
    ):
        if "/__hot_reload/client.js" not in httpx.get(fhr.url + "/big", headers={"Accept": ACCEPT}).text:
            raise RuntimeError("the fast-hot-reload app does not inject its tag: the comparison would be void")
        pin(fhr)
        pin(plain)
        pair = (fhr, plain)
        cases = (
            ("/api", "5a JSON route, browser's Accept", 0.97, ACCEPT),
            ("/api", "5a' JSON route, API client's Accept", 0.97, "application/json"),
            ("/big", "5b 100 KB HTML page", 0.90, ACCEPT),
        )
        for route, label, target, accept in cases:
            ours, base, rps_ratio, cpu_ratio = throughput(fhr, plain, route, opts, accept)
            rows.append(
                Row(
                    f"{label}: throughput (median req/s; ratio by CPU/request, wrk's in brackets)",
                    f"{ours:,.0f}",
                    f"no plugin {base:,.0f}",
                    f"{cpu_ratio:.3f}x ({rps_ratio:.2f}x)",
                    f"≥ {target:.2f}x",
                    cpu_ratio >= target,
                )
            )
        first: dict[str, list[float]] = {"fhr": [], "plain": []}
        for r in range(max(40, 4 * opts.repeats)):
            for server in pair if r % 2 == 0 else pair[::-1]:
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
