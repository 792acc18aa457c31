"""The station's HTTP API over real HTTP (uvicorn on loopback): keys, limits, the catalogue, a
comparison audited under the caller's name."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from impostor.records.audit import AuditLog
from impostor.station.accounts import Accounts
from impostor.station.app import create_app
from impostor.station.service import StationConfig
from tests.servers import running

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, StationConfig]]:
    folder = tmp_path_factory.mktemp("station")
    config = StationConfig(
        accounts=folder / "station.sqlite",
        audit_db=folder / "audit.sqlite",
        station="lima-t1-07",
        max_upload_bytes=2**20,
        requests_per_minute=30,
    )
    key = Accounts(config.accounts).add_key("gate-3")
    with running(create_app(config)) as url:
        yield url, key, config


def files(document: Path | bytes, live: Path | bytes) -> dict[str, tuple[str, bytes]]:
    read = lambda item: item if isinstance(item, bytes) else item.read_bytes()  # noqa: E731
    return {"document": ("document.png", read(document)), "live": ("live.jpg", read(live))}


def test_a_comparison_is_the_compare_json_and_is_audited(station: tuple[str, str, StationConfig]) -> None:
    url, key, config = station
    reply = httpx.post(
        f"{url}/api/v1/verify",
        files=files(SAMPLES / "document.png", SAMPLES / "live_genuine.jpg"),
        headers={"X-API-Key": key},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    verdict = reply.json()
    assert verdict["decision"] == "MATCH" and 0.5 < verdict["probability"] <= 1
    assert {"document", "live", "thresholds", "profile", "reason_codes"} <= verdict.keys()
    with AuditLog(config.audit_db) as log:
        last = list(log.records())[-1]
        assert (last.station, last.operator, last.decision) == ("lima-t1-07", "api:gate-3", "MATCH")
        assert log.verify().ok


def test_no_key_or_a_wrong_key_is_401(station: tuple[str, str, StationConfig]) -> None:
    url, key, _ = station
    body = files(SAMPLES / "document.png", SAMPLES / "live_genuine.jpg")
    for headers in ({}, {"X-API-Key": key[:-2] + "xx"}, {"X-API-Key": "gate-9." + key.split(".", 1)[1]}):
        reply = httpx.post(f"{url}/api/v1/verify", files=body, headers=headers, timeout=60)
        assert reply.status_code == 401
        assert (
            reply.json()["error"]["type"] == "Unauthorized"
            and reply.json()["error"]["code"] == "unauthorized"
        )


def test_an_oversize_upload_is_413_without_being_read_whole(station: tuple[str, str, StationConfig]) -> None:
    url, key, config = station
    # a client that announces 20 MB and sends a few bytes: refused on the announcement alone
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"POST /api/v1/verify HTTP/1.1\r\nHost: station\r\nX-API-Key: "
            + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: "
            + str(10 * config.max_upload_bytes).encode()
            + b"\r\n\r\n--b\r\n"
        )
        received = b""
        while b'"too_large"' not in received:  # the headers and the body may come apart
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
        answer = received.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413") and '"too_large"' in answer
    big = bytes(config.max_upload_bytes + 10)
    reply = httpx.post(
        f"{url}/api/v1/verify",
        files=files(big, SAMPLES / "live_genuine.jpg"),
        headers={"X-API-Key": key},
        timeout=60,
    )
    assert reply.status_code == 413 and reply.json()["error"]["type"] == "TooLarge"


def test_a_slow_upload_does_not_hold_up_another_comparison(station: tuple[str, str, StationConfig]) -> None:
    url, key, _ = station
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        # a client on a bad line: its headers, then a trickle of its body, and then nothing
        slow.sendall(
            b"POST /api/v1/verify HTTP/1.1\r\nHost: station\r\nX-API-Key: "
            + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 500000\r\n\r\n--b\r\n"
        )
        started = time.monotonic()
        reply = httpx.post(
            f"{url}/api/v1/verify",
            files=files(SAMPLES / "document.png", SAMPLES / "live_genuine.jpg"),
            headers={"X-API-Key": key},
            timeout=60,
        )
        assert reply.status_code == 200 and reply.json()["decision"] == "MATCH"
        assert time.monotonic() - started < 10  # answered while the slow upload is still open


def test_an_upload_never_touches_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    config = StationConfig(accounts=tmp_path / "s.sqlite", audit_db=tmp_path / "a.sqlite", warm=False)
    key = Accounts(config.accounts).add_key("gate-1")
    opened: list[object] = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: opened.append(a) or real(*a, **k))
    # a real JPEG padded to 3 MB, over Starlette's 1 MB spool: still the same photo to a decoder
    photo = (SAMPLES / "live_genuine.jpg").read_bytes() + bytes(3 * 2**20)
    with running(create_app(config)) as url:
        reply = httpx.post(
            f"{url}/api/v1/verify", files=files(photo, photo), headers={"X-API-Key": key}, timeout=60
        )
    assert reply.status_code == 200, reply.text
    assert not opened  # no traveller's photo went to a temporary file


def test_a_non_image_gets_the_catalogue_error(station: tuple[str, str, StationConfig]) -> None:
    url, key, _ = station
    reply = httpx.post(
        f"{url}/api/v1/verify",
        files=files(b"%PDF-1.4 not a photo", SAMPLES / "live_genuine.jpg"),
        headers={"X-API-Key": key},
        timeout=60,
    )
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert (
        error["type"] == "NotAnImage" and error["code"] == "not_an_image" and "document" in error["message"]
    )
    missing = httpx.post(f"{url}/api/v1/verify", files={"live": ("l.jpg", b"x")}, headers={"X-API-Key": key})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "bad_request"
    assert httpx.get(f"{url}/api/v1/nothing").json()["error"]["code"] == "not_found"


def test_quality_and_health(station: tuple[str, str, StationConfig]) -> None:
    url, key, _ = station
    reply = httpx.post(
        f"{url}/api/v1/quality",
        files={"image": ("live.jpg", (SAMPLES / "live_genuine.jpg").read_bytes())},
        data={"side": "live"},
        headers={"X-API-Key": key},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    assert {measure["name"] for measure in reply.json()["measures"]} >= {"sharpness", "palette"}
    # without a key the station says only that it is up: not its name, not its profile
    assert httpx.get(f"{url}/api/v1/health").json() == {"status": "ok"}
    wrong = httpx.get(f"{url}/api/v1/health", headers={"X-API-Key": "impostor.not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    health = httpx.get(f"{url}/api/v1/health", headers={"X-API-Key": key}).json()
    assert health == {
        "status": "ok",
        "station": "lima-t1-07",
        "models_loaded": True,
        "profile": {"name": "default", "version": health["profile"]["version"], "weak": False},
        "audit_log_writable": True,
    }
    assert "/api/v1/verify" in httpx.get(f"{url}/api/openapi.json").json()["paths"]
    docs = httpx.get(f"{url}/api/docs")
    assert docs.status_code == 200 and "http" not in docs.text  # a closed LAN reaches no CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/api/docs/static/{asset}" in docs.text
        assert httpx.get(f"{url}/api/docs/static/{asset}").status_code == 200


def test_past_the_rate_a_key_gets_429(tmp_path: Path) -> None:
    config = StationConfig(
        accounts=tmp_path / "station.sqlite",
        audit_db=tmp_path / "audit.sqlite",
        requests_per_minute=3,
        warm=False,
    )
    key = Accounts(config.accounts).add_key("reader-1")
    with running(create_app(config)) as url:
        codes = [
            httpx.post(
                f"{url}/api/v1/quality", files={"image": ("x.jpg", b"x")}, headers={"X-API-Key": key}
            ).status_code
            for _ in range(5)
        ]
    assert codes == [422, 422, 422, 429, 429]


def test_four_clients_a_hundred_requests_each_all_audited(tmp_path: Path) -> None:
    """4 × 100 comparisons at once over real HTTP: no error, every one in the audit log, the chain
    whole. The images are 32-px crops of a real photo, the smallest the loader takes, with no
    face in them, so the run measures the station's plumbing (gate, parsing, threads,
    concurrent appends) in seconds; the bench runs the same with faces (bench/bench_station.py)."""
    import threading

    import cv2

    config = StationConfig(
        accounts=tmp_path / "station.sqlite",
        audit_db=tmp_path / "audit.sqlite",
        station="lima-t1-07",
        requests_per_minute=1000,
        warm=False,
    )
    keys = [Accounts(config.accounts).add_key(f"gate-{n}") for n in range(4)]
    photo = cv2.imread(str(SAMPLES / "live_genuine.jpg"))
    crops = [bytes(cv2.imencode(".png", photo[k : k + 32, k : k + 32])[1]) for k in range(0, 400, 4)]
    statuses: list[int] = []

    def client(key: str) -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as http:
            for crop in crops:
                reply = http.post("/api/v1/verify", files=files(crop, crop))
                statuses.append(reply.status_code)

    with running(create_app(config)) as url:
        threads = [threading.Thread(target=client, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses.count(200) == len(statuses) == 400
    with AuditLog(config.audit_db) as log:
        records = list(log.records())
        assert len(records) == 400 and log.verify().ok
        assert {record.operator for record in records} == {f"api:gate-{n}" for n in range(4)}
        assert {record.decision for record in records} == {"REFER"}


def test_a_chip_file_that_gives_no_portrait_gets_the_catalogue_error(
    station: tuple[str, str, StationConfig],
) -> None:
    url, key, _ = station
    for broken in (b"\x75\x03\x7f\x61\x00", b"\x75\x82\xff\xff" + bytes(40), b"FAC\x00garbage"):
        reply = httpx.post(
            f"{url}/api/v1/verify",
            files=files(broken, SAMPLES / "live_genuine.jpg"),
            headers={"X-API-Key": key},
            timeout=60,
        )
        assert reply.status_code == 422, reply.text
        assert reply.json()["error"]["code"] == "unreadable_document"


def test_only_an_origin_of_the_same_scheme_host_and_port_may_post(
    station: tuple[str, str, StationConfig],
) -> None:
    url, _, _ = station  # an http:// station
    port = url.rsplit(":", 1)[1]
    foreign = (
        f"https://127.0.0.1:{port}",  # the same host and port, another scheme
        f"http://127.0.0.1:{int(port) + 1}",
        "http://127.0.0.1",
        f"http://localhost:{port}",
        "null",
        f"ftp://127.0.0.1:{port}",
        "http://127.0.0.1:notaport",
    )
    for origin in foreign:
        reply = httpx.post(
            f"{url}/counter/signin", json={"operator": "OFC-1", "pin": "0000"}, headers={"Origin": origin}
        )
        assert reply.status_code == 403, origin
        assert reply.json()["error"]["code"] == "cross_origin", origin
    same = httpx.post(
        f"{url}/counter/signin",
        json={"operator": "OFC-1", "pin": "0000"},
        headers={"Origin": f"HTTP://127.0.0.1:{port}"},
    )
    assert same.status_code == 401, same.text  # past the gate: a wrong PIN


def test_a_note_with_control_or_bidi_characters_is_422_and_not_stored(
    station: tuple[str, str, StationConfig],
) -> None:
    url, _, config = station
    Accounts(config.accounts).add_operator("OFC-0077", "482916")
    client = httpx.Client(base_url=url, timeout=60)
    assert client.post("/counter/signin", json={"operator": "OFC-0077", "pin": "482916"}).status_code == 200
    document = client.post(
        "/counter/document", files={"image": ("d.png", (SAMPLES / "document.png").read_bytes())}
    )
    assert document.status_code == 200, document.text
    live = client.post(
        "/counter/live",
        files={"image": ("l.jpg", (SAMPLES / "live_genuine.jpg").read_bytes())},
        data={"source": "camera"},
    )
    assert live.status_code == 200, live.text
    for note, shown in (("pasaporte\x00roto", "U+0000"), ("ver exe.\u202etxt", "U+202E")):
        reply = client.post("/counter/outcome", json={"outcome": "other", "note": note})
        assert reply.status_code == 422, reply.text
        error = reply.json()["error"]
        assert error["code"] == "bad_request" and shown in error["message"] and "note" in error["message"]
    kept = client.post("/counter/outcome", json={"outcome": "other", "note": "pasaporte roto"})
    assert kept.status_code == 200, kept.text
    with AuditLog(config.audit_db) as log:
        notes = [event.note for event in log.events(live.json()["record"])]
    assert notes == ["pasaporte roto"]


def test_every_reply_is_documented(station: tuple[str, str, StationConfig]) -> None:
    url, _, _ = station
    schema = httpx.get(f"{url}/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            ok = operation["responses"].get("200") or operation["responses"].get("204")
            assert ok is not None, f"{method} {path}"
            if "204" in operation["responses"] or path.startswith("/counter/faces/"):
                continue
            reply = ok["content"]["application/json"]["schema"]
            assert "$ref" in reply, f"{method.upper()} {path} has no response model: {reply}"
    verify = schema["components"]["schemas"]["VerifyReply"]["properties"]
    assert {"decision", "probability", "distance", "reason_codes", "document_reading"} <= verify.keys()


def test_the_api_gives_the_json_of_compare(station: tuple[str, str, StationConfig], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from impostor.cli import main

    url, key, _ = station
    documents = settings_data() / "documents" / "images"
    for document, live in (
        (SAMPLES / "document.png", SAMPLES / "live_genuine.jpg"),
        (documents / "td3_uto_icao_specimen.png", SAMPLES / "live_impostor.jpg"),
    ):
        reply = httpx.post(
            f"{url}/api/v1/verify", files=files(document, live), headers={"X-API-Key": key}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        command = ["compare", str(document), str(live), "--json", "--audit-db", str(tmp_path / "a.sqlite")]
        printed = json.loads(CliRunner().invoke(main, command).output)
        over_http = reply.json()
        for shown in (printed, over_http):  # the times differ, and so do the names of the inputs
            shown.pop("timings_ms")
            for side in ("document", "live"):
                shown[side]["image"].pop("source")
            if "document_reading" in shown:
                shown["document_reading"].pop("timings_ms")
                shown["document_reading"].pop("source")
        assert over_http == printed
        assert ("document_reading" in over_http) == (document.name != "document.png")


def settings_data() -> Path:
    from impostor import settings

    path = Path(str(settings.get("data_dir")))
    if not (path / "documents").is_dir():
        pytest.skip(f"the shared documents are not at {path}")
    return path


def test_a_page_with_its_chip_files_is_compared_three_ways_as_compare_does(
    station: tuple[str, str, StationConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import cv2
    import numpy as np
    from click.testing import CliRunner

    from impostor.cli import main
    from tests.document.signing import authority
    from tests.three_way_pages import chip_passport, enlarged, page_png, write_chip, write_csca

    url, key, config = station
    lfw = settings_data() / "lfw" / "lfw" / "Colin_Powell"
    csca = authority("Test CSCA")
    monkeypatch.setenv("IMPOSTOR_CSCA", str(write_csca(csca, tmp_path / "csca.pem")))
    png = np.frombuffer(page_png(settings_data() / "documents", lfw / "Colin_Powell_0001.jpg"), np.uint8)
    page = tmp_path / "page.jpg"  # a scanner's JPEG: the PNG is over this station's upload limit
    cv2.imwrite(str(page), cv2.imdecode(png, cv2.IMREAD_COLOR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    live = enlarged(lfw / "Colin_Powell_0002.jpg", tmp_path / "live.jpg")
    folder = write_chip(chip_passport(lfw / "Colin_Powell_0001.jpg", csca), tmp_path / "chip")
    chip = [("chip", (path.name, path.read_bytes())) for path in sorted(folder.iterdir())]
    body = [*files(page, live).items(), *chip]
    reply = httpx.post(f"{url}/api/v1/verify", files=body, headers={"X-API-Key": key}, timeout=60)
    assert reply.status_code == 200, reply.text
    command = ["compare", str(page), str(live), "--chip", str(folder), "--json", "--no-audit"]
    printed = json.loads(CliRunner().invoke(main, command).output)
    over_http = reply.json()
    assert over_http["decided_by"] == "chip" and over_http["decision"] == "MATCH", over_http["reason_codes"]
    for shown in (printed, over_http):  # the times differ, and so do the names of the inputs
        shown.pop("timings_ms")
        for side in ("document", "live"):
            shown[side]["image"].pop("source")
        shown["document_reading"].pop("timings_ms")
        shown["document_reading"].pop("source")
    assert over_http == printed
    too_many = [*files(page, live).items(), *(chip * 5)]
    refused = httpx.post(f"{url}/api/v1/verify", files=too_many, headers={"X-API-Key": key}, timeout=60)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large", refused.text
    twice = [*files(page, live).items(), *chip, chip[0]]
    refused = httpx.post(f"{url}/api/v1/verify", files=twice, headers={"X-API-Key": key}, timeout=60)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unreadable_document", (
        refused.text
    )
