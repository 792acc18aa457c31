"""QA tests; ``stuck_fifo`` is shared by the tests that must never block on a pipe."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def stuck_fifo(path: Path, grace: float = 10.0) -> Iterator[Path]:
    """A FIFO at ``path`` that nobody writes to. Should a reader block on it all the same, it is
    let go after ``grace`` seconds with nothing to read, so that the regression fails its test
    instead of hanging the run."""
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        if done.wait(grace):
            return
        while not done.is_set():
            try:  # succeeds only while a reader waits: then an empty write end lets it go
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            done.wait(0.05)

    helper = threading.Thread(target=release, daemon=True)
    helper.start()
    try:
        yield path
    finally:
        done.set()
        helper.join()
