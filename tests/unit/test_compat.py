"""What differs between releases of the libraries underneath: sse-starlette's own ping, websockets' close errors."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

import pytest

from fast_hot_reload._server import compat as _compat


@pytest.mark.parametrize(
    ("release", "interval"),
    [("2.1.0", 86400.0), ("3.4.8", 86400.0), ("3.4.9", 0.0), ("3.10.1", 0.0), ("4.0.0rc1", 0.0)],
)
def test_sse_starlettes_own_ping_is_off_without_spinning(
    monkeypatch: pytest.MonkeyPatch, release: str, interval: float
) -> None:
    monkeypatch.setattr(_compat, "version", lambda name: release)
    assert _compat.sse_ping_off() == interval


def test_sse_ping_off_when_the_version_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(_compat, "version", unknown)
    assert _compat.sse_ping_off() == 86400.0


@pytest.mark.parametrize("exiting", [True, False])
def test_a_websocket_failing_as_the_server_stops_is_no_error(monkeypatch: pytest.MonkeyPatch, exiting: bool) -> None:
    monkeypatch.setattr(_compat, "server_exiting", lambda: exiting)

    def close_overtaken_by_shutdown() -> None:
        with _compat.quiet_while_stopping():
            raise AttributeError("'WebSocketProtocol' object has no attribute 'transfer_data_task'")  # websockets 13

    if exiting:
        close_overtaken_by_shutdown()  # no error: the connection is going anyway
    else:
        with pytest.raises(AttributeError):
            close_overtaken_by_shutdown()
