"""``impostor station`` as an administrator starts it: loopback by default, TLS or a loud opt-out
beyond it, a real certificate served, and one-line errors for what it cannot use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from impostor.asgi import is_loopback, tls_problem
from impostor.cli import main
from impostor.station.accounts import Accounts
from impostor.station.serve import WHY_TLS, local_time_zone
from tests.servers import IMPOSTOR, command, free_port


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
