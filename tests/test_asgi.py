"""The shared ASGI layer's rate limiter: a sliding window per caller, and memory that follows
the callers of the last window rather than every caller ever seen (the body and address limits,
as the station wires them, are in tests/station/test_serve.py)."""

from __future__ import annotations

import time

from impostor.asgi import RateLimiter


def test_the_window_holds_a_caller_to_its_rate() -> None:
    limiter = RateLimiter(3, window=0.3)
    assert all(limiter.allow("10.0.0.1") is None for _ in range(3))
    wait = limiter.allow("10.0.0.1")
    assert wait is not None and 0 < wait <= 0.3
    assert limiter.wait("10.0.0.1") is not None and limiter.allow("10.0.0.2") is None
    time.sleep(0.35)
    assert limiter.allow("10.0.0.1") is None


def test_callers_whose_window_has_passed_are_forgotten() -> None:
    limiter = RateLimiter(5, window=0.3)
    for n in range(10_000):
        assert limiter.allow(f"10.{n // 256}.{n % 256}.1") is None
    assert limiter.callers() == 10_000
    time.sleep(0.35)
    assert limiter.allow("10.200.0.1") is None
    assert limiter.callers() == 1


def test_a_caller_only_asked_about_is_not_remembered() -> None:
    limiter = RateLimiter(5)  # counts only failures: most callers never fail
    for n in range(1_000):
        assert limiter.wait(f"10.0.{n // 256}.{n % 256}") is None
    assert limiter.callers() == 0
