"""Which Host and Origin our endpoints serve: no DNS rebinding, no page of another site."""

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


def origin_allowed(origin: str | None, host: str | None, override: str | None, secure: bool = False) -> bool:
    """Browsers always send Origin on websockets: accept only pages served by this server (CSWSH).

    The port counts: a page of another dev server on this machine (`http://localhost:3000`) is another site.
    """
    if origin is None:
        return True  # not a browser, so not a cross-site page riding on the user's cookies
    try:
        page = urlsplit(origin)
        server = urlsplit(f"//{host}") if host else None
        page_port = page.port or (443 if page.scheme == "https" else 80)
        server_port = server.port if server else None
    except ValueError:  # a port that is not a number
        return False
    if page.hostname is None or server is None:
        return page.hostname is not None and page.hostname == _override(override)
    if page.hostname == _override(override):
        return True  # the page is served elsewhere (a proxy); the websocket comes here directly
    if server_port is None:  # a default port: a proxy in front, maybe terminating TLS
        same_port = page_port in (80, 443) if not secure else page_port == 443
    else:
        same_port = page_port == server_port
    return same_port and (page.hostname == server.hostname or (is_local(page.hostname) and is_local(server.hostname)))


def _override(override: str | None) -> str | None:
    return override.strip("[]").lower() if override else None


def is_local(host: str | None) -> bool:
    """This machine by name: browsers resolve `*.localhost` to loopback themselves (RFC 6761)."""
    return host is not None and (host in LOCAL_HOSTS or host.endswith(".localhost"))


def refusal(origin: str | None, host: str | None) -> str:
    """The warning for a refused websocket; for a proxy that rewrote Host, with the fix (SSE works meanwhile)."""
    text = f"refused a hot reload websocket from origin {origin!r}"
    origin_host = urlsplit(origin).hostname if origin else None
    server_host = urlsplit(f"//{host}").hostname if host else None
    if origin_host and origin_host != server_host and (is_local(server_host) or _is_ip(server_host)):
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
