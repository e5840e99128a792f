"""How the streams hear that the server stops: uvicorn's exit flag, and the stop signals chained to any server's."""

from __future__ import annotations

from typing import Any

import anyio
import pytest


def test_server_exiting_follows_uvicorns_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream-ending poll reads uvicorn's should_exit through the SIGTERM handler it installs."""
    import signal

    from fast_hot_reload._server.detect import server_exiting

    class FakeServer:
        should_exit = False

        def handle_exit(self, sig: int, frame: object) -> None:
            self.should_exit = True

    server = FakeServer()
    monkeypatch.setattr(signal, "getsignal", lambda sig: server.handle_exit)
    assert server_exiting() is False
    server.should_exit = True
    assert server_exiting() is True
    monkeypatch.setattr(signal, "getsignal", lambda sig: signal.SIG_DFL)
    assert server_exiting() is False


def test_uvicorns_exit_handler_is_chained_and_given_back() -> None:
    """The lifespan hears SIGTERM at once, through uvicorn's own handler, which still runs first."""
    import signal

    from fast_hot_reload._server.signals import on_exit_signal

    class FakeServer:
        should_exit = False

        def handle_exit(self, sig: int, frame: object) -> None:
            self.should_exit = True

    server = FakeServer()
    before = signal.getsignal(signal.SIGTERM)
    heard: list[bool] = []

    async def main() -> None:
        sigint = signal.getsignal(signal.SIGINT)  # Python's own: chained as any other server's, not as uvicorn's
        with on_exit_signal(lambda: heard.append(server.should_exit), lambda seconds: None):
            chained = signal.getsignal(signal.SIGTERM)
            assert getattr(chained, "__self__", None) is server  # still found the way uvicorn's is
            assert getattr(signal.getsignal(signal.SIGINT), "__self__", None) is None
        assert signal.getsignal(signal.SIGINT) is sigint
        with on_exit_signal(lambda: heard.append(server.should_exit), lambda seconds: None):
            chained = signal.getsignal(signal.SIGTERM)
            chained(signal.SIGTERM, None)  # type: ignore[operator,misc]
            with anyio.fail_after(5):
                while not heard:
                    await anyio.sleep(0.001)
        assert signal.getsignal(signal.SIGTERM) == server.handle_exit

    signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        anyio.run(main)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert heard == [True]  # called after uvicorn's handler had set should_exit


@pytest.mark.parametrize("theirs", ["ignored", "handler", "keyboard"])
def test_any_servers_stop_signal_ends_the_streams_for_a_while(theirs: str) -> None:
    """hypercorn's workers ignore SIGINT, granian's set asyncio handlers: either way we hear it, after theirs."""
    import signal

    from fast_hot_reload._server.signals import SIGNAL_GRACE, on_exit_signal

    before = signal.getsignal(signal.SIGTERM)
    calls: list[str] = []
    ended: list[float] = []
    handler: Any = {
        "ignored": signal.SIG_IGN,
        "handler": lambda sig, frame: calls.append("theirs"),
        "keyboard": signal.default_int_handler,
    }[theirs]

    async def main() -> None:
        with on_exit_signal(lambda: calls.append("closed"), ended.append):
            ours = signal.getsignal(signal.SIGTERM)
            assert ours is not handler and callable(ours)
            if theirs == "keyboard":
                with pytest.raises(KeyboardInterrupt):
                    ours(signal.SIGTERM, None)
            else:
                ours(signal.SIGTERM, None)
            with anyio.fail_after(5):
                while not ended:
                    await anyio.sleep(0.001)
        assert signal.getsignal(signal.SIGTERM) == handler

    signal.signal(signal.SIGTERM, handler)
    try:
        anyio.run(main)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert ended == [SIGNAL_GRACE]
    assert calls == (["theirs"] if theirs == "handler" else [])  # theirs ran; nothing closed for good


def test_a_default_stop_signal_is_left_alone() -> None:
    import signal

    from fast_hot_reload._server.signals import on_exit_signal

    before = signal.getsignal(signal.SIGTERM)

    async def main() -> None:
        with on_exit_signal(lambda: None, lambda seconds: None):
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the process just ends, streams and all

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        anyio.run(main)
    finally:
        signal.signal(signal.SIGTERM, before)
