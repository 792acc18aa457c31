"""Serving for a test: an ASGI app on a free loopback port in a thread, or an ``impostor`` command
(a server as an administrator starts it) in its own process, each for the duration of a block."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

IMPOSTOR = Path(sys.executable).with_name("impostor")  # the installed command of this environment


def free_port() -> int:
    """A loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(app: Any, *, start_within: float = 60.0, **options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 for the duration of the block (``options``: more of
    ``uvicorn.Config``'s, e.g. ``http``); yields its base address."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def command(
    arguments: list[str], ready: str, *, start_within: float = 60.0, merge_output: bool = True
) -> Iterator[subprocess.Popen[str]]:
    """Run ``impostor ARGUMENTS`` for the block, from the moment ``GET ready`` answers 200 (TLS
    certificates not checked); stopped with SIGTERM at the end. Raises RuntimeError, with what the
    command printed, when it ends or does not answer in time."""
    server = subprocess.Popen(
        [str(IMPOSTOR), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + start_within
    try:
        while True:
            try:
                if httpx.get(ready, timeout=1, verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(
                    f"impostor {' '.join(arguments[:2])} did not start: {server.communicate()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
