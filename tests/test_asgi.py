"""The web kit's shared layer: the rate limiter (a sliding window per caller, memory that follows
the callers of the last window and never passes a cap), the session store, and the body limit
(the body and address limits, as the station wires them, are in tests/station/test_serve.py)."""

from __future__ import annotations

import time

from impostor.web.limits import RateLimiter


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


def test_a_client_that_goes_away_mid_body_is_not_served() -> None:
    import asyncio

    from impostor.web.asgi import BodyLimit

    served: list[bytes] = []

    async def app(scope: object, receive: object, send: object) -> None:  # what the station would run
        message = await receive()  # type: ignore[operator]
        served.append(message["body"])

    arriving = iter(
        [
            {"type": "http.request", "body": b"--form\r\nhalf of the document", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> object:
        return next(arriving)

    async def send(message: object) -> None:
        raise AssertionError(f"nobody is there to answer: {message}")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/verify",
        "headers": [(b"transfer-encoding", b"chunked")],
    }
    asyncio.run(BodyLimit(app, 1 << 20, lambda status, code, text: b"{}")(scope, receive, send))
    assert served == []  # half a body would have been compared, and audited


def test_an_ipv6_host_is_one_caller_whatever_address_of_its_64_it_sends_from() -> None:
    from impostor.web.asgi import caller_of

    assert (
        caller_of("2001:db8:1:2::1") == caller_of("2001:db8:1:2:ffff:abcd:1234:5678") == "2001:db8:1:2::/64"
    )
    assert caller_of("2001:db8:1:3::1") != caller_of("2001:db8:1:2::1")  # the next /64 is someone else
    assert caller_of("::ffff:192.0.2.7") == caller_of("192.0.2.7") == "192.0.2.7"
    assert caller_of("testclient") == "testclient"  # not an address: as given
    limiter = RateLimiter(3)
    assert all(limiter.allow(caller_of(f"2001:db8:1:2::{host:x}")) is None for host in range(1, 4))
    assert limiter.allow(caller_of("2001:db8:1:2::99")) is not None  # a fourth address, the same host
    assert limiter.callers() == 1


def test_the_callers_remembered_are_capped_the_least_recent_forgotten_first() -> None:
    limiter = RateLimiter(2, max_callers=100)
    assert limiter.allow("10.9.9.9") is None and limiter.allow("10.9.9.9") is None
    for n in range(99):
        assert limiter.allow(f"10.1.0.{n}") is None
    assert limiter.allow("10.9.9.9") is not None  # still remembered: the first caller is at its rate
    for n in range(500):
        assert limiter.allow(f"10.2.{n // 256}.{n % 256}") is None
    assert limiter.callers() == 100  # bounded, whoever calls
    assert limiter.allow("10.9.9.9") is None  # forgotten: no more than a fresh address would get


def test_a_caller_past_its_rate_is_refused_with_when_to_come_back() -> None:
    import pytest

    from impostor.web.refusal import Refusal

    limiter = RateLimiter(1, "sign-in attempts", code="too_many_attempts")
    limiter.check("10.0.0.1")
    with pytest.raises(Refusal, match="more than 1 sign-in attempts a minute") as refused:
        limiter.check("10.0.0.1", count=False)
    assert (refused.value.status, refused.value.code) == (429, "too_many_attempts")
    assert 1 <= int(str(refused.value.extra["retry_after_seconds"])) <= 60


def test_a_session_ends_when_idle_replaced_or_closed_and_drops_what_it_holds() -> None:
    from impostor.web.sessions import Lookup, Sessions

    now = [0.0]
    ended: list[str] = []
    sessions: Sessions[str] = Sessions(10.0, lambda: now[0], ended=ended.append)
    first = sessions.open("OFC-1")
    assert sessions.get(first) == "OFC-1" and first not in repr(sessions.__dict__)  # only its hash kept
    now[0] = 8.0
    assert sessions.get(first, active=False) == "OFC-1"  # read, not activity: the clock runs on
    now[0] = 10.5
    assert sessions.get(first) is Lookup.EXPIRED and ended == ["OFC-1"]
    second = sessions.open("OFC-2")
    third = sessions.open("OFC-2 again", replacing=lambda value: value.startswith("OFC-2"))
    assert sessions.get(second) is Lookup.SIGNED_OUT and ended == ["OFC-1", "OFC-2"]
    sessions.close(third)
    assert sessions.get(third) is Lookup.SIGNED_OUT and sessions.get("never issued") is Lookup.SIGNED_OUT
    assert len(sessions) == 0
