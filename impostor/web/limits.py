"""Rates per caller: a sliding window each, in memory that stays bounded whoever calls.

A caller is whoever a limit counts: an address (``impostor.web.asgi.caller_of``), an API key's
name, an operator. The callers of the last window are remembered, the others forgotten once a
window (pruned), and never more than ``max_callers`` at once: past that the caller counted least
recently is forgotten first. Forgetting gives a caller no more than it would have had from an
address of its own, so a flood of addresses cannot grow the memory, only spend its own budget.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from impostor.web.refusal import Refusal

__all__ = ["MAX_CALLERS", "RateLimiter"]

# callers remembered at once: ~16k, each a few dozen timestamps at most (~10 MB at worst), more
# than the addresses a counter or a training room sees in any window
MAX_CALLERS = 2**14


@dataclass
class RateLimiter:
    """At most ``per_minute`` requests of each caller in any ``window`` seconds (a minute, but for
    tests), remembering at most ``max_callers`` callers. ``what`` names what is counted in the
    refusal's message ("sign-in attempts"), ``code`` is the refusal's catalogue code."""

    per_minute: int
    what: str = "requests"
    window: float = 60.0
    code: str = "rate_limited"
    max_callers: int = MAX_CALLERS
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)  # least recent first
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swept: float = field(default_factory=time.monotonic)

    def allow(self, caller: str) -> float | None:
        """None when ``caller`` may go on (and this one is counted); else the seconds until it may."""
        return self._pass(caller, count=True)

    def wait(self, caller: str) -> float | None:
        """As ``allow``, without counting: for limits that count only failures (wrong codes)."""
        return self._pass(caller, count=False)

    def check(self, caller: str, *, count: bool = True) -> None:
        """Raise a 429 ``Refusal`` (with ``retry_after_seconds``) when ``caller`` is past the rate;
        else count this request (unless ``count`` is False: only failures are counted)."""
        wait = self._pass(caller, count=count)
        if wait is not None:
            raise Refusal(
                429,
                "RateLimited",
                f"more than {self.per_minute} {self.what} a minute; wait {wait:.0f} s",
                self.code,
                retry_after_seconds=max(1, round(wait)),
            )

    def callers(self) -> int:
        """How many callers it remembers now."""
        with self._lock:
            return len(self._seen)

    def _pass(self, caller: str, *, count: bool) -> float | None:
        now = time.monotonic()
        with self._lock:
            if now - self._swept >= self.window:
                self._sweep(now)
            seen = self._seen.get(caller)
            if seen is not None:
                while seen and now - seen[0] >= self.window:
                    seen.popleft()
                if len(seen) >= self.per_minute:
                    return self.window - (now - seen[0])
            if count:
                if seen is None:
                    seen = self._seen[caller] = deque()
                    while len(self._seen) > self.max_callers:
                        self._seen.popitem(last=False)
                else:
                    self._seen.move_to_end(caller)
                seen.append(now)
            elif seen is not None and not seen:
                del self._seen[caller]
            return None

    def _sweep(self, now: float) -> None:
        """Forget the callers whose last request has left the window: once a window, so that a
        request costs the same however many callers came before."""
        self._seen = OrderedDict(
            (caller, seen) for caller, seen in self._seen.items() if seen and now - seen[-1] < self.window
        )
        self._swept = now
