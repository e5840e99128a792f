"""Which page origins may open the websocket, for the Host the request names."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("http://dev.localhost:8000", "127.0.0.1:8000", True),  # *.localhost is this machine, as localhost is
        ("http://dev.localhost:8080", "dev.localhost:8080", True),
        ("http://localhost:3000", "localhost:8000", False),  # another dev server's page on this machine
        ("http://localhost:3000", "127.0.0.1:8000", False),
        ("https://localhost:8443", "localhost", False),
        ("http://dev.localhost:8080", "127.0.0.1:8000", False),  # a proxy that rewrote Host: SSE until it passes it
        ("http://app.localhost", "localhost:8000", False),
        ("http://localhost.evil.example", "127.0.0.1:8000", False),
        ("http://dev.example:8080", "127.0.0.1:8000", False),  # a proxy that rewrote Host, or another site
        ("http://localhost:99999", "localhost:8000", False),  # junk
    ],
)
def test_websocket_origins_of_local_names(tmp_path: Path, origin: str, host: str, accepted: bool) -> None:
    from fast_hot_reload._web.hosts import origin_allowed

    assert origin_allowed(origin, host, None) is accepted
