"""Serving the station: the address, TLS, and the loud opt-out for plain HTTP beyond loopback.

A browser gives a page the webcam only on ``localhost`` or over HTTPS, and a PIN sent in plain
HTTP across a LAN can be read by anyone on it; so a station listens on 127.0.0.1 unless told
otherwise, and any other address needs a certificate and key, or ``--insecure-http``, which the
command line announces on every start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from impostor.errors import StationError
from impostor.station.service import StationConfig
from impostor.web.listen import LOOPBACK_NAMES, is_loopback

WHY_TLS = "browsers give the webcam only to HTTPS pages"

__all__ = ["LOOPBACK_NAMES", "WHY_TLS", "is_loopback", "local_time_zone", "serve"]


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
    from impostor.station.app import catalogue_body, create_app
    from impostor.web import listen

    listen.serve(
        create_app(config),
        host=host,
        port=port,
        fail=StationError,
        ready=ready,
        certfile=certfile,
        keyfile=keyfile,
        insecure_http=insecure_http,
        why_tls=WHY_TLS,
        reply=catalogue_body,
    )
