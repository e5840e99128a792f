from __future__ import annotations

import html
import json
import os
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from .._config import Config, env_trusted_clients
from .._events.broadcaster import Broadcaster
from .._files.paths import under_roots
from .client import render_client
from .pages import PageStore
from .tabs import Tabs
from .trust import ClientTrust

STATE_KEY = "fast_hot_reload"  # where the lifespan leaves the Runtime in the app state
K = TypeVar("K", bound=Hashable)
CACHE_LIMIT = 1024  # entries in each small per-runtime cache below


@dataclass(frozen=True)
class Runtime:
    """What one running app's hot reload needs at request time."""

    config: Config
    broadcaster: Broadcaster
    pages: PageStore = field(default_factory=PageStore, compare=False, repr=False)
    tabs: Tabs = field(default_factory=Tabs, compare=False, repr=False)  # page ids issued: what may talk back
    trust: ClientTrust = field(init=False, compare=False, repr=False)  # who gets error details and log lines
    # built once, not per page: the tag's two fixed parts, and each template file's shown path
    _heads: dict[tuple[str, int], bytes] = field(default_factory=dict, compare=False, repr=False)
    _tails: dict[tuple[tuple[str, ...], str | None], bytes] = field(default_factory=dict, compare=False, repr=False)
    _shown: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trust", ClientTrust(self.config.trusted_clients + env_trusted_clients()))

    def script_url(self, root_path: str) -> str:
        _, digest = render_client(self.config)
        return f"{root_path}{self.config.url_prefix}/client.js?h={digest}"

    def tag(self, root_path: str, nonce: str | None, page: str | None = None, templates: tuple[str, ...] = ()) -> bytes:
        """The <script> tag for a page rendered now: the boot id and version it saw, its id and its templates."""
        head = self._heads.get((root_path, self.broadcaster.version)) or self._head(root_path)
        tail = self._tails.get((templates, nonce)) or self._tail(templates, nonce)
        return head + tail if page is None else b"".join((head, b' data-page="', page.encode(), b'"', tail))

    def _head(self, root_path: str) -> bytes:
        version = self.broadcaster.version
        url = html.escape(self.script_url(root_path))
        head = f'<script src="{url}" data-boot="{self.broadcaster.boot}" data-version="{version}"'
        return _cached(self._heads, (root_path, version), head.encode())

    def _tail(self, templates: tuple[str, ...], nonce: str | None) -> bytes:
        names = f' data-templates="{html.escape(json.dumps(templates))}"' if templates else ""
        tail = names + (f' nonce="{html.escape(nonce)}"' if nonce else "") + " defer></script>"
        return _cached(self._tails, (templates, nonce), tail.encode())

    def template_paths(self, files: Collection[str]) -> tuple[str, ...]:
        """The template files a page used, as event paths name them; files outside the watched folders never change."""
        if not files:
            return ()
        shown = []
        for file in files:
            if file not in self._shown:
                if len(self._shown) >= CACHE_LIMIT:
                    self._shown.clear()
                self._shown[file] = self._shown_path(file)
            if (path := self._shown[file]) is not None:
                shown.append(path)
        return tuple(sorted(shown))

    def _shown_path(self, file: str) -> str | None:
        # Jinja names a file by its loader's folder: relative to the working directory with the docs'
        # Jinja2Templates(directory="templates"); events name it by the watched folder it is in
        absolute = os.path.abspath(file)
        shown = under_roots(absolute, self.config.roots)
        return shown if shown is not None else under_roots(os.path.realpath(absolute), self.config.roots)


def _cached(cache: dict[K, bytes], key: K, value: bytes) -> bytes:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()  # a new nonce per page would otherwise grow it without end
    cache[key] = value
    return value
