"""The wire protocol: the catch-up rule, from the table the client runs too (tests/_support/merge_cases.json),
and the exact text and bytes of each encoder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fast_hot_reload._protocol import (
    MAX_PATHS,
    Event,
    catch_up,
    event_text,
    hello_text,
    restart_text,
    sse,
    with_withheld,
)

from .._support.protocol import MERGE_CASES as CASES

BOOT = "0123456789abcdef"


def event_of(fields: dict[str, Any]) -> Event:
    return Event(fields["version"], fields["type"], tuple(fields["paths"]), fields.get("truncated", False))


# ---- catch_up, case by case ----


def test_the_table_is_well_formed() -> None:
    assert len(CASES) >= 10 and len({case["name"] for case in CASES}) == len(CASES)
    for case in CASES:
        assert set(case) == {"name", "missed", "version", "newest", "expect"}, case["name"]
        for event in case["missed"]:
            assert set(event) - {"truncated"} == {"version", "type", "paths"}, case["name"]
            assert event["type"] in ("css", "reload") and len(event["paths"]) <= MAX_PATHS, case["name"]
        assert case["expect"] is None or set(case["expect"]) == {"version", "type", "paths", "truncated"}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_catch_up(case: dict[str, Any]) -> None:
    merged = catch_up([event_of(e) for e in case["missed"]], case["version"], case["newest"])
    shown = None if merged is None else {**merged.fields(), "truncated": merged.truncated}
    assert shown == case["expect"]


# ---- the encoders: exact text and bytes ----


def test_event_text() -> None:
    assert event_text(BOOT, Event(3, "css", ("static/a.css",))) == (
        '{"type": "css", "boot": "0123456789abcdef", "version": 3, "paths": ["static/a.css"]}'
    )
    assert event_text(BOOT, Event(4, "reload", ("templates/é.html", "b.css"), truncated=True)) == (
        '{"type": "reload", "boot": "0123456789abcdef", "version": 4, "paths": ["templates/\\u00e9.html", "b.css"], '
        '"truncated": true}'
    )
    assert event_text(BOOT, Event(5, "reload", ())) == (
        '{"type": "reload", "boot": "0123456789abcdef", "version": 5, "paths": []}'
    )


def test_hello_text() -> None:
    assert hello_text(BOOT, 0, []) == '{"type": "hello", "boot": "0123456789abcdef", "version": 0, "recent": []}'
    recent = [Event(1, "css", ("a.css",)), Event(2, "reload", ("index.html",), truncated=True)]
    assert hello_text(BOOT, 2, recent) == (
        '{"type": "hello", "boot": "0123456789abcdef", "version": 2, "recent": ['
        '{"version": 1, "type": "css", "paths": ["a.css"]}, '
        '{"version": 2, "type": "reload", "paths": ["index.html"], "truncated": true}]}'
    )


def test_with_withheld() -> None:
    hello = hello_text(BOOT, 1, [Event(1, "css", ("a.css",))])
    assert with_withheld(hello, 'details stay on "the server"') == (
        '{"type": "hello", "boot": "0123456789abcdef", "version": 1, "recent": '
        '[{"version": 1, "type": "css", "paths": ["a.css"]}], "withheld": "details stay on \\"the server\\""}'
    )
    assert json.loads(with_withheld(hello, "x")) == {**json.loads(hello), "withheld": "x"}


def test_restart_text() -> None:
    assert restart_text(BOOT) == '{"type": "restart", "boot": "0123456789abcdef"}'


def test_sse_with_a_version_has_it_as_its_id() -> None:
    assert sse('{"type": "css"}', 7) == b'id: 7\r\ndata: {"type": "css"}\r\n\r\n'
    assert sse("{}", 0) == b"id: 0\r\ndata: {}\r\n\r\n"  # version 0 (a hello before any change) is an id too


def test_sse_without_a_version_has_no_id() -> None:
    assert sse(restart_text(BOOT)) == b'data: {"type": "restart", "boot": "0123456789abcdef"}\r\n\r\n'
    assert sse('{"text": "café"}') == b'data: {"text": "caf\xc3\xa9"}\r\n\r\n'  # UTF-8, should a text not be ASCII
