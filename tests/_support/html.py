"""Where the tag goes in any HTML, cut into any chunks: the expected output, and Hypothesis's pages."""

from __future__ import annotations

from hypothesis import strategies as st


def inject(body: bytes, tag: bytes) -> bytes:
    """The expected output: the tag before the last `</body` (any case), or at the end."""
    at = body.lower().rfind(b"</body")
    return body + tag if at < 0 else body[:at] + tag + body[at:]


FRAGMENTS = st.sampled_from(
    [
        b"</body>",
        b"</BODY>",
        b"</Body",
        b"</body",
        b"</bod",
        b"</bo",
        b"</b",
        b"</",
        b"<",
        b"/",
        b"body",
        b">",
        b"<p>",
        b"x",
        b" ",
        b"\xc3\xa9",
        b"\xff",
        b"<body>",
        b"</html>",
    ]
)
HTMLISH = st.one_of(
    st.lists(st.one_of(FRAGMENTS, st.binary(max_size=8)), max_size=30).map(b"".join),
    st.binary(max_size=60),
)


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    data = draw(HTMLISH)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return data, [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
