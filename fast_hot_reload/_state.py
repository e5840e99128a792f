from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._broadcast import Broadcaster
from ._client import render_client
from ._config import Config
from ._pages import PageStore
from ._paths import under_roots

STATE_KEY = "fast_hot_reload"  # where the lifespan leaves the Runtime in the app state
CACHE_LIMIT = 1024  # entries in each small per-runtime cache below


@dataclass(frozen=True)
class Runtime:
    """What one running app's hot reload needs at request time."""

    config: Config
    broadcaster: Broadcaster
    pages: PageStore = field(default_factory=PageStore, compare=False, repr=False)
    # built once, not per page: the tag's fixed start per root path, and each template file's shown path
    _starts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _shown: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def script_url(self, root_path: str) -> str:
        _, digest = render_client(self.config)
        return f"{root_path}{self.config.url_prefix}/client.js?h={digest}"

    def tag(self, root_path: str, nonce: str | None, page: int | None = None, templates: Iterable[str] = ()) -> bytes:
        """The <script> tag for a page rendered now: the boot id and version it saw, its id and its templates."""
        start = self._starts.get(root_path)
        if start is None:
            if len(self._starts) >= CACHE_LIMIT:
                self._starts.clear()
            url = html.escape(self.script_url(root_path))
            start = self._starts[root_path] = f'<script src="{url}" data-boot="{self.broadcaster.boot}"'
        parts = [start, f' data-version="{self.broadcaster.version}"']
        if page is not None:
            parts.append(f' data-page="{page}"')
        if templates:
            parts.append(f' data-templates="{html.escape(json.dumps(sorted(templates)))}"')
        if nonce:
            parts.append(f' nonce="{html.escape(nonce)}"')
        parts.append(" defer></script>")
        return "".join(parts).encode()

    def template_paths(self, files: Iterable[str]) -> list[str]:
        """The template files a page used, as event paths name them; files outside the watched folders never change."""
        shown = []
        for file in files:
            if file not in self._shown:
                if len(self._shown) >= CACHE_LIMIT:
                    self._shown.clear()
                self._shown[file] = under_roots(file, self.config.roots)
            if (path := self._shown[file]) is not None:
                shown.append(path)
        return shown
