"""Many hot reload clients in one asyncio process: websockets (the `websockets` library) and raw SSE.

Run by the harness as a separate process. It prints one line per state change on stdout:
  `ready <boot>`   every client is connected and has the hello of server `boot` ("-" for arel: no hello)
  `armed`          answer to `arm` on stdin: from now on, the first event each client receives is timed
  `done <json>`    wall-clock receive times (time.time()) of that event per client, once all have one,
                   or at once (missing ones null) on `report`
Clients reconnect like the browser client after a drop (0, 25, 50, 100, ... ms, at most 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

RETRIES = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0)
BATCH = 100  # clients connected at a time, so that setup does not flood the listen backlog


class Fleet:
    def __init__(self, count: int, hello: bool) -> None:
        self.boots: list[str | None] = [None] * count
        self.received: list[float | None] = [None] * count
        self.hello = hello
        self.armed = False
        self.announced: str | None = None

    def say(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def up(self, i: int, boot: str) -> None:
        self.boots[i] = boot
        if all(b == boot for b in self.boots) and boot != self.announced:
            self.announced = boot
            self.say(f"ready {boot}")

    def down(self, i: int) -> None:
        self.boots[i] = None
        self.announced = None

    def message(self, i: int, data: str) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            msg = {"type": data}  # arel sends a bare "reload"
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "hello":
            self.up(i, str(msg.get("boot")))
        elif kind != "ping" and self.armed and self.received[i] is None:
            self.received[i] = time.time()
            if all(r is not None for r in self.received):
                self.report()

    def arm(self) -> None:
        self.received = [None] * len(self.received)
        self.armed = True
        self.say("armed")

    def report(self) -> None:
        self.armed = False
        self.say("done " + json.dumps(self.received))

    def connected(self) -> int:
        return sum(b is not None for b in self.boots)


async def ws_client(i: int, url: str, fleet: Fleet) -> None:
    failures = 0
    while True:
        try:
            async with connect(url, ping_interval=None, open_timeout=None, max_size=2**16) as ws:
                failures = 0
                if not fleet.hello:
                    fleet.up(i, "-")
                async for data in ws:
                    fleet.message(i, data if isinstance(data, str) else data.decode())
        except (OSError, WebSocketException):
            failures += 1
        fleet.down(i)
        await asyncio.sleep(RETRIES[min(failures, len(RETRIES) - 1)])


async def sse_client(i: int, url: str, fleet: Fleet) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    failures = 0
    while True:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            if not (await reader.readline()).startswith(b"HTTP/1.1 200"):
                raise OSError("SSE endpoint refused")
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # response headers
            failures = 0
            # chunked framing lines are hex sizes: only `data:` lines matter, one JSON message each
            while line := await reader.readline():
                if line.startswith(b"data:"):
                    fleet.message(i, line[5:].strip().decode())
        except OSError:
            failures += 1
        finally:
            if writer is not None:
                writer.close()
        fleet.down(i)
        await asyncio.sleep(RETRIES[min(failures, len(RETRIES) - 1)])


async def commands(fleet: Fleet) -> None:
    while line := await asyncio.to_thread(sys.stdin.readline):
        if line.strip() == "arm":
            fleet.arm()
        elif line.strip() == "report":
            fleet.report()


async def main(args: argparse.Namespace) -> None:
    fleet = Fleet(args.ws + args.sse, hello=not args.no_hello)
    kinds = [(ws_client, args.ws_url)] * args.ws + [(sse_client, args.sse_url)] * args.sse
    tasks = []
    for start in range(0, len(kinds), BATCH):
        for i in range(start, min(start + BATCH, len(kinds))):
            client, url = kinds[i]
            tasks.append(asyncio.create_task(client(i, url, fleet)))
        while fleet.connected() < len(tasks):  # let each batch settle before the next
            await asyncio.sleep(0.01)
    await commands(fleet)  # until the harness closes stdin
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ws-url", default="")
    parser.add_argument("--sse-url", default="")
    parser.add_argument("--ws", type=int, default=0)
    parser.add_argument("--sse", type=int, default=0)
    parser.add_argument("--no-hello", action="store_true", help="the server sends no hello (arel)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(parser.parse_args()))
