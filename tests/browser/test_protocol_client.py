"""The client's protocol room in real Chromium: the catch-up rule on the table the Python rule runs too
(tests/_support/merge_cases.json), so both sides agree; what the room lets through off the wire; the hello the
SharedWorker keeps for tabs that join later."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .._support.browser import CLIENT
from .._support.protocol import MERGE_CASES

pytestmark = pytest.mark.browser

ROOM = (CLIENT / "protocol.js").read_text()


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_content("<!doctype html><title>protocol</title>")
    page.add_script_tag(content=ROOM + "\nwindow.Protocol = Protocol;")
    yield page
    page.close()


@pytest.mark.parametrize("case", MERGE_CASES, ids=[case["name"] for case in MERGE_CASES])
def test_catch_up_agrees_with_the_table(page: Any, case: dict[str, Any]) -> None:
    merged = page.evaluate(
        "([m, v, n]) => Protocol.catchUp(m, v, n)", [case["missed"], case["version"], case["newest"]]
    )
    assert merged == case["expect"]


def test_only_the_kinds_the_server_sends_pass(page: Any) -> None:
    kinds = ["hello", "css", "reload", "error", "server-log", "restart", "ping"]
    passed = page.evaluate(
        "(texts) => texts.map((t) => Protocol.parse(t)?.type ?? null)",
        [*(f'{{"type": "{kind}"}}' for kind in kinds), '{"type": "down"}', '{"type": "log"}', "[1]", "null", "{", "3"],
    )
    assert passed == [*kinds, None, None, None, None, None, None]


KEEP = """(messages) => {
  let hello = null;
  for (const msg of messages) hello = Protocol.keepHello(hello, msg);
  return hello;
}"""


def test_the_kept_hello_catches_a_late_tab_up_as_if_it_had_been_there(page: Any) -> None:
    hello = {"type": "hello", "boot": "b", "version": 1, "recent": [{"version": 1, "type": "css", "paths": ["a.css"]}]}
    later = [
        {"type": "reload", "boot": "b", "version": 2, "paths": ["t.html"]},
        {"type": "error", "boot": "b", "details": {}},  # a notice: not versioned, not kept
        {"type": "css", "boot": "other", "version": 9, "paths": ["x.css"]},  # another server's: not kept
        {"type": "css", "boot": "b", "version": 3, "paths": ["b.css"]},
    ]
    kept = page.evaluate(KEEP, [hello, *later])
    assert kept["version"] == 3 and [e["version"] for e in kept["recent"]] == [1, 2, 3]
    merged = page.evaluate("([h, v]) => Protocol.catchUp(h.recent, v, h.version)", [kept, 1])
    assert merged == {"version": 3, "type": "reload", "paths": ["t.html", "b.css"], "truncated": False}
    assert page.evaluate(KEEP, [*later]) is None  # nothing kept before a hello
