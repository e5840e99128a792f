from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from starlette.types import Scope

logger = logging.getLogger("fast_hot_reload")

MAX_WARNED = 64  # refused hosts remembered, so each is logged once


class HostCheck:
    """Which Host a request to our endpoints (or for an error page) may name: closes DNS rebinding.

    A page on an attacker's domain that resolves to 127.0.0.1 sends its own name as Host (and as Origin):
    only IP literals, `localhost`, `*.localhost`, the websocket host override and the hosts the user
    lists (`.example.com` for a domain and its subdomains, `*` for any) are let through.
    """

    def __init__(self, allowed: Iterable[str], override: str | None) -> None:
        names = [name.lower().strip("[]") for name in allowed]
        if override:
            names.append(override.lower().strip("[]"))
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("."))
        self.domains = tuple(n for n in names if n.startswith("."))
        self._warned: set[str] = set()

    def allowed(self, scope: Scope, log: bool = False) -> bool:
        host = next((value for key, value in scope.get("headers", ()) if key == b"host"), None)
        if host is None or self.any:
            return True  # no Host at all: not a browser (browsers always send one), so not a rebound page
        name = _hostname(host.decode("latin-1"))
        if self._known(name):
            return True
        if log and name not in self._warned and len(self._warned) < MAX_WARNED:
            self._warned.add(name)
            logger.warning(
                "refused a hot reload request for host %r: only local names are served (DNS rebinding). "
                "If you browse the app under that name, add it: FastHotReload(app, allowed_hosts=[%r])",
                name,
                name,
            )
        return False

    def _known(self, name: str) -> bool:
        if name == "localhost" or name.endswith(".localhost") or name in self.exact:
            return True
        if any(name.endswith(domain) or name == domain[1:] for domain in self.domains):
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


def _hostname(host: str) -> str:
    """The name in a Host header, lower-case, without its port (and an IPv6 literal without brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
