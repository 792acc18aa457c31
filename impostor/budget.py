"""The decoding budget: one account per process of the memory that images being decoded take.

``decode_memory_mb`` bounds what decoding may take, and the decodes of a process share it: the
two sides of a comparison, the station's requests and a batch's workers are decoded on threads
at once, and a budget checked per image let each of them take all of it (a float TIFF and a
60 MP 16-bit PNG took 1,578 MB together against 1,024). A decode reserves its bytes before it
starts and gives them back when it ends; one that does not fit beside those running waits for
them, and one that could never fit is refused by the caller before it asks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DecodeBudget", "DECODING"]


class DecodeBudget:
    """Bytes reserved by the decodes running now, against a total given at each reservation.

    The total is read from settings by the caller each time (tests and operators change it
    through the environment); a reservation larger than the total is the caller's to refuse.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held = 0
        self.peak_ = 0  # the most ever reserved at once, in bytes (for tests and benchmarks)

    @property
    def held(self) -> int:
        """Bytes reserved now."""
        with self._changed:
            return self._held

    @contextmanager
    def reserve(self, size: int, total: int) -> Iterator[None]:
        """Hold ``size`` bytes of ``total`` for the block, waiting until that many are free.

        Raises ValueError when ``size`` exceeds ``total`` (it would wait for ever).
        """
        if size > total:
            raise ValueError(f"{size} bytes can never fit in a budget of {total}")
        with self._changed:
            # an empty account always admits one decode, whatever the total is now
            self._changed.wait_for(lambda: self._held == 0 or self._held + size <= total)
            self._held += size
            self.peak_ = max(self.peak_, self._held)
        try:
            yield
        finally:
            with self._changed:
                self._held -= size
                self._changed.notify_all()


DECODING = DecodeBudget()  # the process's one account
