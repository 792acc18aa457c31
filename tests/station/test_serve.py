"""``impostor station`` as an administrator starts it: loopback by default, TLS or a loud opt-out
beyond it, a real certificate served, and one-line errors for what it cannot use; and what it
does with bodies and callers that would hold it up (too large, too slow, too many at once)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.station.accounts import Accounts
from impostor.station.app import body_limit_of, create_app
from impostor.station.serve import WHY_TLS, local_time_zone
from impostor.station.service import StationConfig
from impostor.web.listen import is_loopback, tls_problem
from tests.servers import IMPOSTOR, command, free_port, running


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("station.local", False),
        ("::", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_needs_tls_or_the_opt_out(tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["station", "--host", "0.0.0.0", "--db", str(tmp_path / "s.sqlite")])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert "--certfile" in refused.output and "--insecure-http" in refused.output
    half = runner.invoke(main, ["station", "--certfile", str(tmp_path / "c.pem")])
    assert half.exit_code == 2 and "go together" in half.output
    assert tls_problem("0.0.0.0", None, None, insecure_http=True, why=WHY_TLS) is None
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    problem = tls_problem("0.0.0.0", junk, junk, insecure_http=False, why=WHY_TLS)
    assert problem is not None and "PEM certificate" in problem


@pytest.mark.parametrize(
    ("host", "name"),
    [("127.0.0.1:8080", "127.0.0.1"), ("[::1]:8080", "::1"), ("LOCALHOST", "localhost"), ("::1", "::1")],
)
def test_host_names_lose_their_port(host: str, name: str) -> None:
    from impostor.station.app import _host_name

    assert _host_name(host) == name


def test_the_time_zone_is_an_iana_name_or_none() -> None:
    from zoneinfo import ZoneInfo

    name = local_time_zone()
    assert name is None or ZoneInfo(name)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a site's own CA would issue one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor station test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "station.pem", folder / "station.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_over_tls_the_cookie_is_secure(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    Accounts(tmp_path / "s.sqlite").add_operator("OFC-1", "482916")
    port = free_port()
    arguments = ["station", "--port", str(port), "--db", str(tmp_path / "s.sqlite")]
    arguments += ["--audit-db", str(tmp_path / "a.sqlite"), "--certfile", str(cert), "--keyfile", str(key)]
    with command(arguments, f"https://127.0.0.1:{port}/api/v1/health"):
        with httpx.Client(
            base_url=f"https://127.0.0.1:{port}", verify=ssl.create_default_context(cafile=cert)
        ) as client:
            reply = client.post("/counter/signin", json={"operator": "OFC-1", "pin": "482916"})
            assert reply.status_code == 200 and "Secure" in reply.headers["set-cookie"]
            # a page that points its own name at 127.0.0.1 (DNS rebinding) is not answered
            rebound = client.get("/api/v1/health", headers={"Host": f"evil.example:{port}"})
            assert rebound.status_code == 400 and rebound.json()["error"]["code"] == "bad_host"
            assert client.get("/api/v1/health", headers={"Host": f"localhost:{port}"}).status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)  # no plain HTTP on a TLS port


def test_plain_http_beyond_loopback_warns_at_start_and_a_busy_port_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    arguments = ["--db", str(tmp_path / "s.sqlite"), "--audit-db", str(tmp_path / "a.sqlite")]
    plain = ["station", *arguments, "--host", "0.0.0.0", "--port", str(port), "--insecure-http"]
    with command(plain, f"http://127.0.0.1:{port}/api/v1/health", merge_output=False) as server:
        busy = subprocess.run(
            [str(IMPOSTOR), "station", *arguments, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (
            busy.returncode == 17 and busy.stderr.count("\n") == 1 and "choose another --port" in busy.stderr
        )
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert "WARNING: serving plain HTTP on 0.0.0.0" in errors


# bodies and callers: the shared ASGI layer (impostor.web.asgi) as the station wires it, over raw
# sockets, because an HTTP client sends a whole body before it reads the reply


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, StationConfig]]:
    """A station with 1 MB uploads, 1.5 s for a body and 3 requests in flight per address."""
    folder = tmp_path_factory.mktemp("limited")
    config = StationConfig(
        accounts=folder / "station.sqlite",
        audit_db=folder / "audit.sqlite",
        max_upload_bytes=2**20,
        body_seconds=1.5,
        requests_per_address=3,
        warm=False,
    )
    key = Accounts(config.accounts).add_key("gate-3")
    with running(create_app(config)) as url:
        # the key's first check costs scrypt: done here, so the timings below are the limits'
        assert httpx.post(f"{url}/api/v1/quality", headers={"X-API-Key": key}).status_code == 422
        yield int(url.rsplit(":", 1)[1]), key, config


def _send_headers(port: int, path: str, key: str, framing: str, body: bytes = b"") -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n".encode()
        + f"Content-Type: multipart/form-data; boundary=b\r\n{framing}\r\n\r\n".encode()
        + body
    )
    return raw


def _reply(raw: socket.socket) -> tuple[float, int, dict[str, str], dict[str, Any], bool]:
    """Seconds until the reply came whole, its status, headers and JSON, and whether the station
    closed the connection after it."""
    started, received = time.monotonic(), b""
    while b"\r\n\r\n" not in received:
        received += raw.recv(65536)
    head, body = received.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        body += raw.recv(65536)
    elapsed = time.monotonic() - started
    raw.settimeout(5)
    closed = raw.recv(1) == b""
    return elapsed, int(lines[0].split()[1]), headers, json.loads(body), closed


def test_each_route_allows_the_body_its_images_need() -> None:
    config = StationConfig(warm=False)
    image, form = config.max_upload_bytes, config.max_form_bytes
    assert body_limit_of(config, "/api/v1/verify") == 2 * image + 2 * 2**20 + form  # and a chip's files
    for single in ("/api/v1/quality", "/counter/document", "/counter/live", "/counter/live/"):
        assert body_limit_of(config, single) == image + form, single
    assert body_limit_of(config, "/counter/frame") == config.max_frame_bytes + form
    for small in ("/counter/signin", "/counter/outcome", "/counter/document/scanner"):
        assert body_limit_of(config, small) == form == 2**14, small


def test_a_body_announced_over_its_routes_limit_is_refused_at_once(
    limited: tuple[int, str, StationConfig],
) -> None:
    port, key, config = limited
    one_image = config.max_upload_bytes + config.max_form_bytes
    for path, declared in (
        ("/api/v1/quality", 30 * 2**20),
        ("/api/v1/verify", 30 * 2**20),
        ("/api/v1/quality", one_image + 1),  # a single-image route: one image's limit, not two
        ("/api/v1/verify", 2 * config.max_upload_bytes + 2 * 2**20 + config.max_form_bytes + 1),
    ):
        with _send_headers(port, path, key, f"Content-Length: {declared}") as raw:
            elapsed, status, headers, reply, closed = _reply(raw)
        assert status == 413 and reply["error"]["code"] == "too_large", (path, declared)
        assert reply["error"]["type"] == "TooLarge" and path in reply["error"]["message"]
        assert elapsed < 1.0 and headers["connection"] == "close" and closed, (path, declared, elapsed)
    # an HTTP client that sends its whole body before it reads reads the refusal, not a reset
    whole = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/quality",
        files={"image": ("scan.png", bytes(3 * config.max_upload_bytes))},
        headers={"X-API-Key": key},
        timeout=30,
    )
    assert whole.status_code == 413 and whole.json()["error"]["code"] == "too_large"


def test_a_chunked_body_is_counted_as_it_arrives(limited: tuple[int, str, StationConfig]) -> None:
    port, key, config = limited
    chunk = bytes(config.max_upload_bytes + config.max_form_bytes + 1)
    # one chunk past a single image's limit, and the body not ended: refused without its end
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with _send_headers(port, "/api/v1/quality", key, "Transfer-Encoding: chunked", framed) as raw:
        elapsed, status, _, reply, closed = _reply(raw)
    assert status == 413 and reply["error"]["code"] == "too_large" and closed
    assert elapsed < 1.0, elapsed


def test_a_stalled_body_is_408_within_the_time_limit(limited: tuple[int, str, StationConfig]) -> None:
    port, key, config = limited
    with _send_headers(port, "/api/v1/quality", key, "Content-Length: 5000", b"--b\r\n") as raw:
        elapsed, status, headers, reply, closed = _reply(raw)
    assert status == 408 and reply["error"] == {
        "type": "TooSlow",
        "message": "the request's body did not arrive within 1.5 s",
        "code": "too_slow",
    }
    assert config.body_seconds - 0.1 < elapsed < config.body_seconds + 1.0, elapsed
    assert headers["connection"] == "close" and closed


def test_requests_in_flight_are_capped_per_address(limited: tuple[int, str, StationConfig]) -> None:
    port, key, config = limited
    stalled = [
        _send_headers(port, "/api/v1/quality", key, "Content-Length: 5000")
        for _ in range(config.requests_per_address)
    ]
    try:
        time.sleep(0.5)  # all of them past the gate, waiting for their bodies
        started = time.monotonic()
        refused = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10)
        assert time.monotonic() - started < 1.0
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "rate_limited"
        assert "more than 3 requests at once" in refused.json()["error"]["message"]
        assert refused.headers["x-frame-options"] == "DENY"  # still inside the security headers
        for raw in stalled:
            _, status, _, _, closed = _reply(raw)
            assert status == 408 and closed
    finally:
        for raw in stalled:
            raw.close()
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200


def test_a_refused_upload_that_trickles_on_is_cut_off_in_time(
    limited: tuple[int, str, StationConfig],
) -> None:
    port, _, config = limited
    # refused by the gate before its body is read, the client goes on sending a byte at a time
    with _send_headers(port, "/api/v1/quality", "gate-3.wrong", "Content-Length: 5000") as raw:
        started = time.monotonic()
        assert raw.recv(12) == b"HTTP/1.1 401"
        raw.settimeout(0.2)
        with pytest.raises(OSError):  # closed by the station: an end, a reset or a broken pipe
            while time.monotonic() - started < config.body_seconds + 5:
                raw.sendall(b"-")
                try:
                    if raw.recv(65536) == b"":
                        raise ConnectionResetError
                except TimeoutError:
                    pass  # nothing from the station yet: send the next byte
        assert time.monotonic() - started < config.body_seconds + 1.0
