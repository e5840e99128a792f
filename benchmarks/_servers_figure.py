"""Figure 8: figure 4 on every dev server (restart with clients vs none), plus Ctrl+C with clients vs none."""

from __future__ import annotations

import importlib.util
from contextlib import ExitStack

from _common import SERVERS, Row, clients, median, ms, ratio, save_python, serve, times
from _server_figures import WAITING, Options

EXIT_SLACK = 1.0  # seconds Ctrl+C may take beyond the same server with no clients


def figure10(opts: Options) -> list[Row]:
    rows = []
    for command in SERVERS:
        module = {"uvicorn.run": "uvicorn"}.get(command, command)
        if importlib.util.find_spec(module) is None:
            rows.append(Row(f"10 {command}", "not installed", "", "", "", None))
            continue
        try:
            rows += server_rows(command, opts)
        except (TimeoutError, RuntimeError) as exc:  # a server that hangs (before the fix: hypercorn, 3.12+)
            rows.append(Row(f"10 {command}", f"error: {exc}".splitlines()[0][:120], "", "", "", False))
    return rows


def server_rows(command: str, opts: Options) -> list[Row]:
    n = opts.restart_clients
    restarts: dict[bool, list[float]] = {False: [], True: []}
    exits: dict[bool, list[float]] = {False: [], True: []}
    waits = 0
    with serve("fhr", opts.workdir, command=command) as server:
        for r in range(opts.repeats):
            for connected in (r % 2 == 0, r % 2 == 1):  # alternating: drift weighs on both alike
                i = len(restarts[False]) + len(restarts[True])
                if not connected:
                    start, up = save_python(server, i)
                    restarts[False].append(up - start)
                    continue
                with clients(server, ws=n, sse=n) as fleet:
                    boot = fleet.expect("ready")
                    start, up = save_python(server, i)
                    restarts[True].append(up - start)
                    while fleet.expect("ready") == boot:  # every client is back, on the new server
                        pass
        waits += server.log().count(WAITING)
    for r in range(max(2, opts.repeats // 2)):
        for connected in (r % 2 == 0, r % 2 == 1):
            with serve("fhr", opts.workdir, command=command) as server, ExitStack() as stack:
                if connected:
                    stack.enter_context(clients(server, ws=n, sse=n)).expect("ready")
                exits[connected].append(server.interrupt())
                waits += server.log().count(WAITING)
    restart, restart_base = median(restarts[True]), median(restarts[False])
    exit_, exit_base = median(exits[True]), median(exits[False])
    note = f" ({waits}× '{WAITING}')" if waits else ""
    return [
        Row(
            f"10 {command}: restart with {n} ws + {n} SSE clients (median)",
            ms(restart) + note,
            f"no clients {ms(restart_base)}",
            times(restart, restart_base),
            "≤ 1.2x",
            ratio(restart, restart_base) <= 1.2 and not waits,
        ),
        Row(
            f"10 {command}: Ctrl+C to exit with {n} ws + {n} SSE clients (median)",
            ms(exit_) + note,
            f"no clients {ms(exit_base)}",
            f"{(exit_ - exit_base) * 1000:+.0f} ms",
            f"≤ +{ms(EXIT_SLACK)}",
            exit_ - exit_base <= EXIT_SLACK,
        ),
    ]
