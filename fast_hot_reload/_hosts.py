from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import Scope

logger = logging.getLogger("fast_hot_reload")

MAX_WARNED = 64  # refused hosts remembered, so each is logged once
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


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


def origin_allowed(origin: str | None, host: str | None, override: str | None) -> bool:
    """Browsers always send Origin on websockets: accept only pages served by this app (CSWSH)."""
    if origin is None:
        return True  # not a browser, so not a cross-site page riding on the user's cookies
    origin_host = urlsplit(origin).hostname
    server_host = urlsplit(f"//{host}").hostname if host else None
    if origin_host is None:
        return False
    if origin_host in (server_host, override.strip("[]").lower() if override else None):
        return True
    return is_local(origin_host) and is_local(server_host)


def is_local(host: str | None) -> bool:
    """This machine by name: browsers resolve `*.localhost` to loopback themselves (RFC 6761)."""
    return host is not None and (host in LOCAL_HOSTS or host.endswith(".localhost"))


def refusal(origin: str | None, host: str | None) -> str:
    """The warning for a refused websocket; for a proxy that rewrote Host, with the fix (SSE works meanwhile)."""
    text = f"refused a hot reload websocket from origin {origin!r}"
    origin_host = urlsplit(origin).hostname if origin else None
    server_host = urlsplit(f"//{host}").hostname if host else None
    if origin_host and (is_local(server_host) or _is_ip(server_host)):
        text += (
            f" for Host {host!r}: if a proxy forwards this page, it rewrote Host, so the page's origin cannot be "
            "checked. Pass Host on (nginx: `proxy_set_header Host $host;`, with `Upgrade`/`Connection` for "
            f"websockets) and allow the name: FastHotReload(app, allowed_hosts=[{origin_host!r}]); or name it "
            f"alone: FastHotReload(app, ws_host_override={origin_host!r}). Until then tabs use server-sent events. "
            "(Said once for each origin and host.)"
        )
    return text


def _is_ip(host: str | None) -> bool:
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True
