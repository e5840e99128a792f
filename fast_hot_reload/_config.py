from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_SWITCH = "FAST_HOT_RELOAD"
ENV_TRUSTED = "FAST_HOT_RELOAD_TRUSTED_CLIENTS"  # added to trusted_clients: Docker and WSL set it without a code change
DEFAULT_URL_PREFIX = "/__hot_reload"
DEFAULT_RECONNECT_INTERVAL = 2.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)$")
_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")

OnReload = Callable[[list[str]], Awaitable[Any] | Any]


@dataclass(frozen=True)
class Config:
    """The validated, immutable options of one FastHotReload (or of the default router)."""

    on_reload: OnReload | None = None
    use_alternate_config: bool = False
    ws_host_override: str | None = None
    ws_port_override: int | None = None
    ws_message_prefix: str = "[Hot Reload]"
    ws_connected_message: str = "Connected!"
    ws_reconnect_message: str = "Reconnecting in ${reconnectInterval} seconds..."
    reconnect_interval: float = DEFAULT_RECONNECT_INTERVAL
    watch_paths: tuple[Path, ...] = ()
    ignore_patterns: tuple[str, ...] = ()
    url_prefix: str = DEFAULT_URL_PREFIX
    allowed_hosts: tuple[str, ...] = ()
    full_reload: bool = False
    browser_logs: bool = True
    forward_console: bool = True
    trusted_clients: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.on_reload is not None and not callable(self.on_reload):
            raise TypeError(f"on_reload must be a function or None, got {self.on_reload!r}")
        _check_type("use_alternate_config", self.use_alternate_config, bool)
        for name in ("ws_message_prefix", "ws_connected_message", "ws_reconnect_message"):
            _check_type(name, getattr(self, name), str)
        _check_host(self.ws_host_override)
        _check_port(self.ws_port_override)
        _check_interval(self.reconnect_interval)
        _check_prefix(self.url_prefix)
        for pattern in self.ignore_patterns:
            _check_type("ignore_patterns item", pattern, str)
        for host in self.allowed_hosts:
            _check_allowed_host(host)
        _check_type("full_reload", self.full_reload, bool)
        _check_type("browser_logs", self.browser_logs, bool)
        _check_type("forward_console", self.forward_console, bool)
        for client in self.trusted_clients:
            check_trusted_client(client)
        for path in self.watch_paths:
            if not path.exists():
                raise ValueError(f"watch_paths: {str(path)!r} does not exist; create it or pass folders that exist")
        overridden = self.ws_host_override is not None or self.ws_port_override is not None
        if self.use_alternate_config and overridden:
            raise ValueError(
                "use_alternate_config=True (server-sent events over the page's own origin) cannot be combined with "
                "ws_host_override or ws_port_override, which only set the websocket address: drop the overrides, "
                "or drop use_alternate_config to keep websockets"
            )

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders or files to watch, resolved; the working directory when none were given."""
        return self.watch_paths or (Path.cwd(),)


def _check_type(name: str, value: object, kind: type) -> None:
    # bool is an int subclass: reject it wherever a number is expected, and vice versa
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{name} must be {kind.__name__}, got {type(value).__name__} {value!r}")


def _check_host(host: str | None) -> None:
    if host is None:
        return
    _check_type("ws_host_override", host, str)
    if not _HOST_RE.match(host):
        raise ValueError(
            f"ws_host_override must be a bare host name or IP such as 'devbox.local' or '10.0.0.5', "
            f"without scheme, port or path; got {host!r} (use ws_port_override for the port)"
        )


def _check_port(port: int | None) -> None:
    if port is None:
        return
    _check_type("ws_port_override", port, int)
    if not 1 <= port <= 65535:
        raise ValueError(f"ws_port_override must be between 1 and 65535, got {port}")


def _check_interval(interval: float) -> None:
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise TypeError(f"_ws_reconnect_interval must be a number of seconds, got {type(interval).__name__}")
    if not math.isfinite(interval) or interval <= 0:
        raise ValueError(f"_ws_reconnect_interval must be a finite number of seconds above 0, got {interval!r}")


def _check_allowed_host(host: object) -> None:
    if not isinstance(host, str):
        raise TypeError(f"allowed_hosts items must be str, got {type(host).__name__} {host!r}")
    if host != "*" and not _HOST_RE.match(host.removeprefix(".")):
        raise ValueError(
            f"allowed_hosts items are host names such as 'devbox.local', '.example.test' (a domain and its "
            f"subdomains) or '*' (any), without scheme, port or path; got {host!r}"
        )


def check_trusted_client(client: object, source: str = "trusted_clients") -> None:
    if not isinstance(client, str):
        raise TypeError(f"{source} items must be str, got {type(client).__name__} {client!r}")
    if client == "*":
        return
    try:
        ipaddress.ip_network(client.strip("[]"), strict=False)
    except ValueError:
        raise ValueError(
            f"{source} items are client IP addresses or networks such as '172.17.0.1', '192.168.1.0/24' or "
            f"'fd00::/8', or '*' (any client); got {client!r}"
        ) from None


def _check_prefix(prefix: str) -> None:
    _check_type("url_prefix", prefix, str)
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"url_prefix must look like '/__hot_reload' (a path, no trailing slash), got {prefix!r}")


def as_paths(watch_paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None) -> tuple[Path, ...]:
    """Turn the watch_paths option into absolute paths, with a clear error for anything else."""
    if watch_paths is None:
        return ()
    if isinstance(watch_paths, str | os.PathLike):
        watch_paths = [watch_paths]
    if not isinstance(watch_paths, Sequence):
        raise TypeError(f"watch_paths must be a path or a list of paths, got {type(watch_paths).__name__}")
    for path in watch_paths:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"watch_paths items must be str or Path, got {type(path).__name__} {path!r}")
    return tuple(Path(p).resolve() for p in watch_paths)


def as_patterns(ignore_patterns: str | Sequence[str], name: str = "ignore_patterns") -> tuple[str, ...]:
    """Turn an option that takes one string or a list of them into a tuple."""
    if isinstance(ignore_patterns, str):
        return (ignore_patterns,)
    if not isinstance(ignore_patterns, Sequence):
        raise TypeError(f"{name} must be a list of strings, got {type(ignore_patterns).__name__}")
    return tuple(ignore_patterns)


def env_trusted_clients() -> tuple[str, ...]:
    """FAST_HOT_RELOAD_TRUSTED_CLIENTS: more clients that get error details and server logs (comma-separated)."""
    items = tuple(item for item in re.split(r"[\s,]+", os.environ.get(ENV_TRUSTED, "")) if item)
    for item in items:
        check_trusted_client(item, ENV_TRUSTED)
    return items


def env_enabled() -> bool:
    """Read FAST_HOT_RELOAD: unset means on; 0/false/no/off turns everything off."""
    raw = os.environ.get(ENV_SWITCH)
    if raw is None or raw.strip().lower() in _TRUE or raw.strip() == "":
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ValueError(f"{ENV_SWITCH}={raw!r} is not understood: use 1 to turn hot reload on, 0 to turn it off")
