"""Serving the station: the address, TLS, and the loud opt-out for plain HTTP beyond loopback.

A browser gives a page the webcam only on ``localhost`` or over HTTPS, and a PIN sent in plain
HTTP across a LAN can be read by anyone on it; so a station listens on 127.0.0.1 unless told
otherwise, and any other address needs a certificate and key, or ``--insecure-http``, which the
command line announces on every start.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Callable
from pathlib import Path

from impostor.errors import ConfigError, StationError
from impostor.station.service import StationConfig

__all__ = ["LOOPBACK_NAMES", "is_loopback", "local_time_zone", "serve", "tls_problem"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")  # the Host names a loopback station answers to


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1, ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def tls_problem(host: str, certfile: Path | None, keyfile: Path | None, insecure_http: bool) -> str | None:
    """Why the station may not listen on ``host`` as asked (None when it may)."""
    if (certfile is None) != (keyfile is None):
        return "--certfile and --keyfile go together: give both, or neither"
    if certfile is not None and keyfile is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as error:
            why = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
            return f"cannot use {certfile} and {keyfile} for TLS ({why}): give a PEM certificate and its key"
        return None
    if not is_loopback(host) and not insecure_http:
        return (
            f"listening on {host} reaches beyond this machine: give --certfile and --keyfile "
            "(browsers give the webcam only to HTTPS pages), or --insecure-http to accept plain HTTP"
        )
    return None


def local_time_zone() -> str | None:
    """This machine's IANA time zone (``America/Lima``), for the page's times; None when unknown."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in filter(None, candidates):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return None


def serve(
    config: StationConfig,
    *,
    host: str,
    port: int,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    insecure_http: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the station until interrupted. Raises ``ConfigError`` for an address or TLS files it
    may not use, ``StationError`` for a port in use, and the errors of ``create_app``."""
    from impostor import asgi
    from impostor.station.app import create_app

    problem = tls_problem(host, certfile, keyfile, insecure_http)
    if problem:
        raise ConfigError(problem)
    app = create_app(config)
    asgi.serve(
        app,
        host=host,
        port=port,
        fail=StationError,
        ready=ready,
        certfile=None if certfile is None else str(certfile),
        keyfile=None if keyfile is None else str(keyfile),
    )
