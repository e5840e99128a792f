from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from fast_hot_reload import FastHotReload, hot_reload_router
from fast_hot_reload._config import Config

from .._support.clients import LocalClient

# a developer's shell may have the switch set: every test here starts from "unset"
pytestmark = pytest.mark.usefixtures("env_unset")


def make(**options: Any) -> FastHotReload:
    return FastHotReload(FastAPI(), **options)


# ---- types ----


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ws_port_override", True),
        ("ws_port_override", "8000"),
        ("ws_port_override", 8000.0),
        ("_ws_reconnect_interval", True),
        ("_ws_reconnect_interval", "2"),
        ("_ws_reconnect_interval", None),
        ("ws_message_prefix", 1),
        ("ws_connected_message", 1),
        ("ws_reconnect_message", 1),
        ("ws_message_prefix", None),
        ("ws_host_override", 1),
        ("ws_host_override", b"localhost"),
        ("use_alternate_config", 1),
        ("use_alternate_config", "yes"),
        ("on_reload", "not a function"),
        ("on_reload", 42),
        ("enabled", 1),
        ("enabled", "false"),
        ("url_prefix", 1),
        ("watch_paths", 42),
        ("watch_paths", [1]),
        ("ignore_patterns", 42),
        ("ignore_patterns", None),
        ("ignore_patterns", ["*.html", 1]),
    ],
)
def test_wrong_type_is_a_type_error_naming_the_option(option: str, value: object) -> None:
    with pytest.raises(TypeError, match=option):
        make(**{option: value})


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError, match="positional"):
        FastHotReload(FastAPI(), None)  # type: ignore[misc]


# ---- values ----


@pytest.mark.parametrize("port", [0, 65536, -1, 10**6])
def test_port_out_of_range(port: int) -> None:
    with pytest.raises(ValueError, match="ws_port_override.*1 and 65535"):
        make(ws_port_override=port)


@pytest.mark.parametrize("port", [1, 80, 8000, 65535])
def test_port_in_range(port: int) -> None:
    assert make(ws_port_override=port).config.ws_port_override == port


@pytest.mark.parametrize("host", ["http://x", "ws://x", "x/y", "x:80", "", "a b", "x?y", "user@x"])
def test_host_must_be_bare(host: str) -> None:
    with pytest.raises(ValueError, match="ws_host_override"):
        make(ws_host_override=host)


@pytest.mark.parametrize("host", ["custom_host", "localhost", "devbox.local", "10.0.0.5", "[::1]"])
def test_bare_hosts_are_accepted(host: str) -> None:
    assert make(ws_host_override=host).config.ws_host_override == host


@pytest.mark.parametrize("interval", [0, 0.0, -1, -0.5, math.inf, -math.inf, math.nan])
def test_interval_must_be_positive_and_finite(interval: float) -> None:
    with pytest.raises(ValueError, match="_ws_reconnect_interval"):
        make(_ws_reconnect_interval=interval)


@pytest.mark.parametrize("interval", [1, 5, 0.25, 2.0])
def test_int_and_float_intervals_are_accepted(interval: float) -> None:
    assert make(_ws_reconnect_interval=interval).config.reconnect_interval == interval


@pytest.mark.parametrize("overrides", [{"ws_host_override": "x"}, {"ws_port_override": 8000}])
def test_alternate_config_with_overrides_says_why(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="use_alternate_config") as info:
        make(use_alternate_config=True, **overrides)
    message = str(info.value)
    assert "cannot be combined" in message
    assert "ws_host_override" in message and "ws_port_override" in message
    assert "drop" in message  # says what to do instead


@pytest.mark.parametrize("prefix", ["x", "/x/", "/a b", "/", "", "//x", "/x?y", "/x#y"])
def test_bad_url_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="url_prefix"):
        make(url_prefix=prefix)


@pytest.mark.parametrize("prefix", ["/__hot_reload", "/dev/reload", "/x", "/a-b.c~d_e"])
def test_good_url_prefix(prefix: str) -> None:
    assert make(url_prefix=prefix).config.url_prefix == prefix


def test_watch_paths_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match="watch_paths.*nope"):
        make(watch_paths=missing)
    with pytest.raises(ValueError, match="watch_paths"):
        make(watch_paths=[tmp_path, str(missing)])


def test_watch_paths_accepts_str_path_and_lists(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert make(watch_paths=str(tmp_path)).config.watch_paths == (tmp_path.resolve(),)
    assert make(watch_paths=tmp_path).config.watch_paths == (tmp_path.resolve(),)
    both = make(watch_paths=[tmp_path, str(tmp_path / "a")]).config.watch_paths
    assert both == (tmp_path.resolve(), (tmp_path / "a").resolve())
    assert all(p.is_absolute() for p in both)


def test_ignore_patterns_str_or_list() -> None:
    assert make(ignore_patterns="*.gen.html").config.ignore_patterns == ("*.gen.html",)
    assert make(ignore_patterns=["a", "b"]).config.ignore_patterns == ("a", "b")


# ---- the app ----


@pytest.mark.parametrize("app", [None, lambda scope: None, object(), "app", FastAPI])
def test_app_must_be_a_starlette_app(app: Any) -> None:
    with pytest.raises(TypeError, match="app must be a FastAPI or Starlette application"):
        FastHotReload(app)


def test_app_is_checked_even_when_switched_off() -> None:
    with pytest.raises(TypeError, match="app must be"):
        FastHotReload(None, enabled=False)  # type: ignore[arg-type]


def test_second_fast_hot_reload_on_same_app() -> None:
    app = FastAPI()
    FastHotReload(app)
    routes = list(app.routes)
    with pytest.raises(ValueError, match="already has a FastHotReload"):
        FastHotReload(app, url_prefix="/other")
    assert app.routes == routes  # the failed attempt added nothing


def test_app_that_already_started() -> None:
    app = FastAPI()

    @app.get("/")
    def index() -> str:
        return "ok"

    assert LocalClient(app).get("/").status_code == 200
    with pytest.raises(RuntimeError, match="already started"):
        FastHotReload(app)


def test_starlette_app_that_already_started() -> None:
    app = Starlette()
    LocalClient(app).get("/")
    with pytest.raises(RuntimeError, match="already started"):
        FastHotReload(app)


def test_router_already_included_by_hand() -> None:
    app = FastAPI()
    app.include_router(hot_reload_router)
    with pytest.raises(ValueError, match="hot_reload_router") as info:
        FastHotReload(app)
    assert "url_prefix" in str(info.value)  # says the way out


def test_router_included_by_hand_with_another_prefix_is_fine() -> None:
    app = FastAPI()
    app.include_router(hot_reload_router)
    FastHotReload(app, url_prefix="/__other")


# ---- the environment switch ----


@pytest.mark.parametrize("value", ["maybe", "2", "enable", "nein"])
def test_env_switch_garbage(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD", value)
    with pytest.raises(ValueError, match=f"FAST_HOT_RELOAD={value!r}"):
        make()


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " 1 ", ""])
def test_env_switch_on(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD", value)
    assert make().enabled is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", " OFF "])
def test_env_switch_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD", value)
    assert make().enabled is False


def test_bad_options_raise_even_when_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD", "0")
    with pytest.raises(ValueError, match="ws_port_override"):
        make(ws_port_override=0)
    with pytest.raises(TypeError, match="ws_message_prefix"):
        make(enabled=False, ws_message_prefix=1)


# ---- the documented calls work ----


def test_documented_calls_are_accepted() -> None:
    assert FastHotReload(FastAPI()).config == Config()
    assert FastHotReload(app=FastAPI(), use_alternate_config=True).config.use_alternate_config is True
    custom = FastHotReload(FastAPI(), ws_host_override="custom_host", ws_port_override=8000).config
    assert (custom.ws_host_override, custom.ws_port_override) == ("custom_host", 8000)


def test_all_messages_and_callback_are_accepted() -> None:
    def callback(paths: list[str]) -> None:
        pass

    config = FastHotReload(
        FastAPI(),
        on_reload=callback,
        ws_message_prefix="[Hot Reload]",
        ws_connected_message="Connected!",
        ws_reconnect_message="Reconnecting in ${reconnectInterval} seconds...",
        _ws_reconnect_interval=5,
    ).config
    assert config.on_reload is callback
    assert config.reconnect_interval == 5


def test_async_callback_is_accepted() -> None:
    async def callback(paths: list[str]) -> None:
        pass

    assert make(on_reload=callback).config.on_reload is callback


def test_starlette_app_is_accepted() -> None:
    app = Starlette()
    before = len(app.routes)
    FastHotReload(app)
    assert len(app.routes) > before


def test_config_is_immutable() -> None:
    config = make().config
    with pytest.raises(AttributeError):
        config.url_prefix = "/x"  # type: ignore[misc]


@pytest.mark.parametrize("option", ["full_reload", "browser_logs", "forward_console"])
@pytest.mark.parametrize("value", [1, "yes", None])
def test_switches_must_be_bool(option: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"{option} must be bool"):
        make(**{option: value})


@pytest.mark.parametrize("hosts", [["http://dev.test"], ["dev.test:8000"], ["dev.test/x"], [""], ["a b"]])
def test_allowed_hosts_are_bare_names(hosts: list[str]) -> None:
    with pytest.raises(ValueError, match="allowed_hosts items are host names"):
        make(allowed_hosts=hosts)


def test_allowed_hosts_take_names_domains_any_and_one_string() -> None:
    assert make(allowed_hosts=["devbox.local", ".example.test", "*"]).config.allowed_hosts == (
        "devbox.local",
        ".example.test",
        "*",
    )
    assert make(allowed_hosts="devbox.local").config.allowed_hosts == ("devbox.local",)
    with pytest.raises(TypeError, match="allowed_hosts items must be str"):
        make(allowed_hosts=[3])
