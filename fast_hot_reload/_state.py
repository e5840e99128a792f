from __future__ import annotations

import html
from dataclasses import dataclass, field

from ._broadcast import Broadcaster
from ._client import render_client
from ._config import Config

STATE_KEY = "fast_hot_reload"  # where the lifespan leaves the Runtime in the app state
TAG_CACHE = 64


@dataclass(frozen=True)
class Runtime:
    """What one running app's hot reload needs at request time."""

    config: Config
    broadcaster: Broadcaster
    # the same few tags again and again (a new one per change): built once each, not per page
    _tags: dict[tuple[str, str | None, int], bytes] = field(default_factory=dict, compare=False, repr=False)

    def script_url(self, root_path: str) -> str:
        _, digest = render_client(self.config)
        return f"{root_path}{self.config.url_prefix}/client.js?h={digest}"

    def tag(self, root_path: str, nonce: str | None) -> bytes:
        """The <script> tag for a page rendered now: it carries the boot id and version it saw."""
        key = (root_path, nonce, self.broadcaster.version)
        tag = self._tags.get(key)
        if tag is None:
            if len(self._tags) >= TAG_CACHE:
                self._tags.clear()  # a new nonce per page would otherwise grow it without end
            tag = self._tags[key] = _tag(self.script_url(root_path), self.broadcaster.boot, key[2], nonce)
        return tag


def _tag(url: str, boot: str, version: int, nonce: str | None) -> bytes:
    nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
    attributes = f'src="{html.escape(url)}" data-boot="{boot}" data-version="{version}"{nonce_attr}'
    return f"<script {attributes} defer></script>".encode()
