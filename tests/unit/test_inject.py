"""The tag inserter alone: the tag before the last `</body`, whatever the HTML and however it is cut into chunks
(through the middleware: tests/asgi/test_middleware.py)."""

from __future__ import annotations

from hypothesis import given, settings

from fast_hot_reload._web.inject import TagInserter

from .._support.html import chunked, inject

TAG = b'<script src="/__hot_reload/client.js" defer></script>'


@settings(max_examples=500, deadline=None)
@given(case=chunked())
def test_inserter_property(case: tuple[bytes, list[bytes]]) -> None:
    data, chunks = case
    inserter = TagInserter(TAG)
    out = b"".join(inserter.feed(chunk) for chunk in chunks) + inserter.finish()
    assert out == inject(data, TAG)
