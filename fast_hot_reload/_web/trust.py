"""Which clients get error details and the app's log lines: this machine, and whom the developer names."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from starlette.types import Scope

logger = logging.getLogger("fast_hot_reload")

MAX_CLIENTS = 1024  # client addresses whose trust is remembered


class ClientTrust:
    """Who gets error details (tracebacks, source lines) and the app's log lines: this machine, and whom the user names.

    A dev server bound to 0.0.0.0 serves the whole network: what the developer's app logs or raises is for the
    developer's browser. Judged by the client address as the server resolved it (uvicorn applies trusted
    proxies' X-Forwarded-For first). Anyone else is told, once, what was withheld and how to share it.
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        items = [item.strip("[]") for item in extra]
        self.anyone = "*" in items
        self.networks = tuple(ipaddress.ip_network(item, strict=False) for item in items if item != "*")
        self._known: dict[str, bool] = {}
        self._warned: set[str] = set()

    def trusted(self, scope: Scope) -> bool:
        if self.anyone:
            return True
        address = client_address(scope)
        if address is None:
            return False  # no address at all (some servers on a unix socket): nothing says it is this machine
        known = self._known.get(address)
        if known is None:
            if len(self._known) >= MAX_CLIENTS:
                self._known.clear()
            known = self._known[address] = self._judge(address)
        return known

    def _judge(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        except ValueError:
            return False  # not an address: a name some test client gives, a unix socket's path
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback or any(ip in network for network in self.networks if network.version == ip.version)

    def withheld(self, scope: Scope) -> str:
        """What a client that is not trusted is told instead of the details; the server says it once per client."""
        address = client_address(scope) or "unknown"
        if address not in self._warned and len(self._warned) < MAX_CLIENTS:
            self._warned.add(address)
            logger.warning(
                "error details and the app's log lines are not sent to %s, which is not this machine (loopback). "
                "If that is your own browser (Docker, WSL2, a VM, a phone), share them with it: "
                "FastHotReload(app, trusted_clients=[%r]) or FAST_HOT_RELOAD_TRUSTED_CLIENTS=%s",
                address,
                address,
                address,
            )
        return (
            f"Error details and the server's log lines are shown only to browsers on the server's own machine; "
            f"the server sees this browser as {address}. If it is yours (Docker, WSL2, a VM, a phone), start the "
            f"app with FastHotReload(app, trusted_clients=[{address!r}]) or set "
            f"FAST_HOT_RELOAD_TRUSTED_CLIENTS={address}; the server's terminal has the details."
        )


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None
