"""Signed-in sessions behind random tokens, in memory: an officer at the counter, a trainer.

A token is 32 random bytes (URL-safe); the store keeps only its SHA-256, so a memory dump or a
log line of the store gives no one a session, and nothing of a session outlives the process. A
session ends when it is closed, when another replaces it, or after ``idle_seconds`` without
activity (a ``get`` with ``active=False`` does not count as activity, so a session read only that
way ends ``idle_seconds`` after it was opened). Sessions left idle are swept at most once a
minute, so their values (a traveller's images) do not wait in memory for a request that never
comes; an expired token is remembered for a while so a page can say "expired", not "signed out".
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Lookup", "Sessions"]

_T = TypeVar("_T")
_REMEMBERED_ENDINGS = 1024  # expired tokens remembered, so a page can say "expired", not "signed out"
_SWEEP_SECONDS = 60.0


class Lookup(enum.Enum):
    """Why a token has no session."""

    SIGNED_OUT = "signed_out"  # never issued, or signed out
    EXPIRED = "session_expired"  # left idle too long


@dataclass
class _Open(Generic[_T]):
    value: _T
    last_active: float


class Sessions(Generic[_T]):
    """Sessions holding a ``_T`` each, ended after ``idle_seconds`` without activity; ``ended`` is
    called with a session's value as it ends (to drop what it holds at once, not at collection)."""

    def __init__(
        self,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        ended: Callable[[_T], None] | None = None,
    ) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._on_end = ended
        self._open: dict[str, _Open[_T]] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._swept = clock()

    def open(self, value: _T, *, replacing: Callable[[_T], bool] | None = None) -> str:
        """A new session holding ``value``; returns its token. Every open session whose value
        ``replacing`` accepts ends first (one officer, one session)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            if replacing is not None:
                for key in [key for key, other in self._open.items() if replacing(other.value)]:
                    self._end(key, Lookup.SIGNED_OUT)
            self._open[_key(token)] = _Open(value, self._clock())
        return token

    def get(self, token: str, *, active: bool = True) -> _T | Lookup:
        """The value of ``token``'s session, or why there is none; ``active`` counts this as the
        session's activity (a camera frame the page sends by itself does not)."""
        key = _key(token)
        now = self._clock()
        with self._lock:
            self._sweep(now)
            found = self._open.get(key)
            if found is None:
                return Lookup.EXPIRED if key in self._ended else Lookup.SIGNED_OUT
            if now - found.last_active > self.idle_seconds:
                self._end(key, Lookup.EXPIRED)
                return Lookup.EXPIRED
            if active:
                found.last_active = now
            return found.value

    def close(self, token: str) -> None:
        """End ``token``'s session (sign out): the token is refused from now on."""
        with self._lock:
            self._end(_key(token), Lookup.SIGNED_OUT)

    def __len__(self) -> int:
        """How many sessions are open (idle ones not yet swept included)."""
        with self._lock:
            return len(self._open)

    def _sweep(self, now: float) -> None:
        """End every session left idle too long, at most once a minute."""
        if now - self._swept < _SWEEP_SECONDS:
            return
        self._swept = now
        for key in [key for key, found in self._open.items() if now - found.last_active > self.idle_seconds]:
            self._end(key, Lookup.EXPIRED)

    def _end(self, key: str, why: Lookup) -> None:
        found = self._open.pop(key, None)
        if found is not None and self._on_end is not None:
            self._on_end(found.value)
        if why is Lookup.EXPIRED:
            self._ended[key] = None
            while len(self._ended) > _REMEMBERED_ENDINGS:
                self._ended.popitem(last=False)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
