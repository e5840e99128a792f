"""The error details the overlay, the error page and the console show: one shape, made here."""

from __future__ import annotations

from typing import Any

Details = dict[str, Any]  # JSON-able: kind, title, message, location, source, frames, chain, text


def details(
    kind: str,
    title: str,
    message: str,
    *,
    location: dict[str, Any] | None = None,
    source: list[dict[str, Any]] | None = None,
    frames: list[dict[str, Any]] | None = None,
    chain: list[dict[str, Any]] | None = None,
    text: str | None = None,
) -> Details:
    """Error details: `kind` is "template", "syntax", "exception", "http" (a 5xx the app made), "withheld" (not
    for this client) or "gone" (the client's own: the server is not back); `text` is all of it as plain text."""
    return {
        "kind": kind,
        "title": title,
        "message": message,
        "location": location,
        "source": source,
        "frames": frames or [],
        "chain": chain or [],
        "text": text if text is not None else f"{title}: {message}" if message else title,
    }


def withheld_details(title: str, note: str) -> Details:
    """What a client that is not trusted with error details is shown instead: that they exist, and how to see them."""
    return details("withheld", title, note)


def app_error_details(status: int, body: bytes) -> Details:
    """A 5xx the app made on purpose, with no exception: what its body said."""
    return details("http", f"{status} from the app", body.decode("utf-8", "replace").strip()[:2000])
