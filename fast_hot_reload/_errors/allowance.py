"""A token bucket for log lines: a burst at once, then a steady rate, and a count of what it held back."""

from __future__ import annotations

import time


class Allowance:
    """`burst` lines at once, then `rate` a second; `dropped` counts the refused ones until someone says so."""

    __slots__ = ("burst", "dropped", "filled", "rate", "tokens")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = float(burst), rate
        self.tokens = self.burst
        self.filled = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.filled) * self.rate)
        self.filled = now
        if self.tokens < 1:
            self.dropped += 1
            return False
        self.tokens -= 1
        return True
