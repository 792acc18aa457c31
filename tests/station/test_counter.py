"""The officers' page's routes over real HTTP: sign-in, the lock-out, idle expiry, sign-out, and a
traveller from the scanner folder to the outcome in the audit log; the guidance instructions."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import pytest

from impostor.errors import AuditError
from impostor.pipeline.verifier import FrameCheck, Verifier
from impostor.records.audit import AuditLog
from impostor.stages.quality import MEASURES
from impostor.station.accounts import Accounts
from impostor.station.app import CONTENT_SECURITY_POLICY, create_app
from impostor.station.guidance import BY_MEASURE, INSTRUCTIONS, guide
from impostor.station.keep import Keeper, kept_folder
from impostor.station.service import StationConfig
from tests.servers import running

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PIN = "482916"


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StationConfig]]:
    folder = tmp_path_factory.mktemp("counter")
    (folder / "scans").mkdir()
    config = StationConfig(
        accounts=folder / "station.sqlite",
        audit_db=folder / "audit.sqlite",
        station="tumbes-02",
        scanner_dir=folder / "scans",
        keep_images_days=30,
    )
    accounts = Accounts(config.accounts)
    for operator in ("OFC-0042", "OFC-0043", "OFC-0099"):
        accounts.add_operator(operator, PIN)
    with running(create_app(config)) as url:
        yield url, config


def signed_in(url: str, operator: str = "OFC-0042") -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    reply = client.post("/counter/signin", json={"operator": operator, "pin": PIN})
    assert reply.status_code == 200, reply.text
    return client


def test_a_traveller_from_scan_to_outcome(counter: tuple[str, StationConfig]) -> None:
    url, config = counter
    client = signed_in(url)
    assert config.scanner_dir is not None
    assert client.post("/counter/document/scanner").json()["error"]["code"] == "no_scan"
    shutil.copy(SAMPLES / "document.png", config.scanner_dir / "scan-0001.png")
    document = client.post("/counter/document/scanner").json()["document"]
    assert document["face"] and document["source"] == "scanner" and document["name"] == "scan-0001.png"
    face = client.get(document["image"])
    assert face.status_code == 200 and face.headers["content-type"] == "image/jpeg"
    assert client.post("/counter/document/scanner").status_code == 404  # taken: not offered twice

    frame = client.post(
        "/counter/frame", files={"frame": ("f.jpg", (SAMPLES / "live_genuine.jpg").read_bytes())}
    )
    assert frame.json()["instruction"] == "ready" and frame.json()["passed"]
    assert 0 < frame.json()["box"]["w"] < 1

    live = client.post(
        "/counter/live",
        files={"image": ("l.jpg", (SAMPLES / "live_genuine.jpg").read_bytes())},
        data={"source": "camera"},
    ).json()
    verdict = live["verdict"]
    assert verdict["decision"] == "MATCH" and not live["withheld"] and verdict["record"] == live["record"]
    assert verdict["retake"] is False
    assert client.get(live["live"]["image"]).status_code == 200
    assert (
        client.post("/counter/outcome", json={"outcome": "other"}).json()["error"]["code"] == "note_required"
    )
    reply = client.post("/counter/outcome", json={"outcome": "admitted"})
    assert reply.json() == {"recorded": True, "outcome": "admitted"}

    with AuditLog(config.audit_db) as log:
        record = next(r for r in log.records() if r.seq == live["record"])
        assert (record.station, record.operator, record.decision) == ("tumbes-02", "OFC-0042", "MATCH")
        assert [(e.kind, e.value) for e in log.events(record.seq)] == [("outcome", "admitted")]
        assert log.verify().ok
        kept = Keeper(kept_folder(log.path), 30).read(record.seq)
    assert kept.document == (SAMPLES / "document.png").read_bytes()
    assert kept.live == (SAMPLES / "live_genuine.jpg").read_bytes()
    assert kept_folder(config.audit_db).stat().st_mode & 0o077 == 0  # the service's user only

    assert client.post("/counter/next").status_code == 204
    assert client.get(document["image"]).status_code == 404  # nothing of the traveller is left
    assert (
        client.post("/counter/outcome", json={"outcome": "admitted"}).json()["error"]["code"] == "no_verdict"
    )
    missing = client.post(
        "/counter/live", files={"image": ("l.jpg", (SAMPLES / "live_genuine.jpg").read_bytes())}
    )
    assert missing.status_code == 409 and missing.json()["error"]["code"] == "no_document"


def test_an_empty_frame_asks_to_face_the_camera_and_a_faceless_photo_refers(
    counter: tuple[str, StationConfig], tmp_path: Path, faces_dev: Path
) -> None:
    url, _ = counter
    client = signed_in(url, "OFC-0043")
    client.post("/counter/document", files={"image": ("d.png", (SAMPLES / "document.png").read_bytes())})
    blank = (SAMPLES / "live_two_faces.jpg").read_bytes()
    two = client.post("/counter/frame", files={"frame": ("f.jpg", blank)}).json()
    assert two["instruction"] == "one_person" and not two["passed"]
    empty = _grey_jpeg()
    assert client.post("/counter/frame", files={"frame": ("f.jpg", empty)}).json() == {
        "instruction": "face_camera",
        "box": None,
        "passed": False,
    }
    verdict = client.post("/counter/live", files={"image": ("l.jpg", empty)}).json()["verdict"]
    assert verdict["decision"] == "REFER" and verdict["reason_codes"] == ["live_no_face"]
    assert verdict["retake"] is True  # the live photo alone is at fault: the page asks for another
    # someone else, photographed too dark on purpose: the faces already differ, so no new try
    clooney = cv2.imread(str(faces_dev / "George_Clooney" / "deepface_img38.jpg"))
    dark = cv2.imencode(".jpg", (clooney * 0.25).astype("uint8"))[1].tobytes()
    spoiled = client.post("/counter/live", files={"image": ("l.jpg", dark)}).json()["verdict"]
    assert spoiled["decision"] == "REFER" and "live_luminance_mean" in spoiled["reason_codes"]
    assert spoiled["retake"] is False, spoiled
    bad = client.post("/counter/frame", files={"frame": ("f.jpg", b"not a jpeg")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "not_an_image"


def test_sign_in_wrong_pin_lock_out_and_sign_out(counter: tuple[str, StationConfig]) -> None:
    url, _ = counter
    anonymous = httpx.Client(base_url=url, timeout=60)
    assert anonymous.get("/counter/me").json()["error"]["code"] == "signed_out"
    for _ in range(4):
        wrong = anonymous.post("/counter/signin", json={"operator": "OFC-0099", "pin": "0000"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "wrong_pin"
    locked = anonymous.post("/counter/signin", json={"operator": "OFC-0099", "pin": "0000"})
    assert locked.status_code == 423 and locked.json()["error"]["retry_after_minutes"] == 15
    right = anonymous.post("/counter/signin", json={"operator": "OFC-0099", "pin": PIN})
    assert right.status_code == 423  # the right PIN does not open a locked ID
    unknown = anonymous.post("/counter/signin", json={"operator": "OFC-7777", "pin": PIN})
    assert unknown.json()["error"]["code"] == "wrong_pin"  # the same answer as a wrong PIN

    client = signed_in(url, "OFC-0043")
    cookie = client.cookies.get("impostor_station")
    set_cookie = client.post("/counter/signin", json={"operator": "OFC-0043", "pin": PIN}).headers[
        "set-cookie"
    ]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and "Secure" not in set_cookie
    assert cookie and cookie != client.cookies.get("impostor_station")
    stale = httpx.get(f"{url}/counter/me", cookies={"impostor_station": cookie})
    assert stale.status_code == 401  # signing in again ended the other session
    assert client.get("/counter/me").json()["operator"] == "OFC-0043"
    token = client.cookies.get("impostor_station")
    assert client.post("/counter/signout").status_code == 204
    refused = httpx.get(f"{url}/counter/me", cookies={"impostor_station": token})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "signed_out"


def test_a_session_left_idle_expires(tmp_path: Path) -> None:
    config = StationConfig(accounts=tmp_path / "s.sqlite", audit_db=tmp_path / "a.sqlite", warm=False)
    Accounts(config.accounts).add_operator("OFC-1", PIN)
    app = create_app(config)
    sessions = app.state.station.sessions
    with running(app) as url:
        client = signed_in(url, "OFC-1")
        assert client.get("/counter/me").status_code == 200
        sessions.idle_seconds = 0.2
        client.post(
            "/counter/frame", files={"frame": ("f.jpg", _grey_jpeg())}
        )  # the camera is not the officer
        time.sleep(0.3)
        expired = client.get("/counter/me")
        assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_expired"
        assert client.get("/counter/me").json()["error"]["code"] == "session_expired"


def test_the_page_is_served_with_a_strict_policy(counter: tuple[str, StationConfig]) -> None:
    url, _ = counter
    page = httpx.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    settings = httpx.get(f"{url}/counter/settings").json()
    assert settings["scanner"] and settings["idle_minutes"] == 15 and not settings["judgement_first"]
    spanish = httpx.get(f"{url}/counter/catalogue", headers={"Accept-Language": "es-PE,es;q=0.9"}).json()
    assert spanish["language"] == "es" and spanish["languages"] == ["en", "es"]
    foreign = httpx.post(
        f"{url}/counter/signin",
        json={"operator": "OFC-0042", "pin": PIN},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "cross_origin"
    broken = httpx.post(
        f"{url}/counter/signin", content=b"{bad json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["error"]["message"] == "the body is not valid JSON"
    huge = httpx.post(f"{url}/counter/signin", content=b"{" + b" " * 100_000 + b"}")
    assert huge.status_code == 413


def test_the_judgement_comes_before_the_verdict_when_asked(tmp_path: Path) -> None:
    config = StationConfig(
        accounts=tmp_path / "s.sqlite", audit_db=tmp_path / "a.sqlite", judgement_first=True, warm=False
    )
    Accounts(config.accounts).add_operator("OFC-1", PIN)
    with running(create_app(config)) as url:
        client = signed_in(url, "OFC-1")
        client.post("/counter/document", files={"image": ("d.png", (SAMPLES / "document.png").read_bytes())})
        live = client.post(
            "/counter/live", files={"image": ("l.jpg", (SAMPLES / "live_impostor.jpg").read_bytes())}
        )
        assert live.json()["withheld"] and live.json()["verdict"] is None
        assert client.post("/counter/outcome", json={"outcome": "secondary"}).status_code == 409
        verdict = client.post("/counter/judgement", json={"judgement": "different"}).json()["verdict"]
        assert verdict["decision"] == "NO_MATCH" and verdict["judgement"] == "different"
        again = client.post("/counter/judgement", json={"judgement": "same"})  # after seeing the answer
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_judged"
        assert client.post("/counter/outcome", json={"outcome": "secondary"}).status_code == 200
    with AuditLog(config.audit_db) as log:
        assert [(e.kind, e.value) for e in log.events()] == [
            ("judgement", "different"),
            ("outcome", "secondary"),
        ]


def test_every_live_measure_has_an_instruction(verifier: Verifier) -> None:
    assert {spec.name for spec in MEASURES} <= BY_MEASURE.keys()
    assert set(BY_MEASURE.values()) <= set(INSTRUCTIONS)
    check = verifier.check_frame(SAMPLES / "live_genuine_dim.jpg")
    assert isinstance(check, FrameCheck)
    assert guide(check).instruction in INSTRUCTIONS


def _grey_jpeg() -> bytes:
    import cv2
    import numpy as np

    ok, encoded = cv2.imencode(".jpg", np.full((480, 640, 3), 120, np.uint8))
    assert ok
    return bytes(encoded)


def test_an_officer_past_the_rate_gets_429(tmp_path: Path) -> None:
    config = StationConfig(
        accounts=tmp_path / "s.sqlite",
        audit_db=tmp_path / "a.sqlite",
        operator_requests_per_minute=2,
        frames_per_minute=3,
        warm=False,
    )
    Accounts(config.accounts).add_operator("OFC-1", PIN)
    with running(create_app(config)) as url:
        client = signed_in(url, "OFC-1")
        frames = [client.post("/counter/frame", files={"frame": ("f.jpg", _grey_jpeg())}) for _ in range(4)]
        assert [reply.status_code for reply in frames] == [200, 200, 200, 429]
        assert (
            frames[-1].json()["error"]["code"] == "rate_limited"
            and int(frames[-1].headers["retry-after"]) > 0
        )
        nexts = [client.post("/counter/next").status_code for _ in range(3)]
        assert nexts == [204, 204, 429]  # the officer's own requests have their own count


def test_kept_images_are_read_back_and_purged_after_their_days(
    counter: tuple[str, StationConfig], tmp_path: Path
) -> None:
    from datetime import date, timedelta

    from click.testing import CliRunner

    from impostor.cli import main

    url, config = counter
    assert config.audit_db is not None
    client = signed_in(url, "OFC-0042")
    client.post("/counter/document", files={"image": ("d.png", (SAMPLES / "document.png").read_bytes())})
    live = client.post(
        "/counter/live", files={"image": ("l.jpg", (SAMPLES / "live_impostor.jpg").read_bytes())}
    )
    assert live.json()["kept"] is True
    record = str(live.json()["record"])
    db = ["--db", str(config.audit_db)]
    result = CliRunner().invoke(main, ["audit", "kept", record, "--out", str(tmp_path), *db])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{record}-document.png").read_bytes() == (SAMPLES / "document.png").read_bytes()
    assert (tmp_path / f"{record}-live.jpg").read_bytes() == (SAMPLES / "live_impostor.jpg").read_bytes()
    assert (tmp_path / f"{record}-live.jpg").stat().st_mode & 0o077 == 0
    missing = CliRunner().invoke(main, ["audit", "kept", "999", "--out", str(tmp_path), *db])
    assert missing.exit_code == 14 and "no record 999" in missing.output

    keeper = Keeper(kept_folder(config.audit_db), 30)
    with pytest.raises(AuditError, match="another log's record"):
        keeper.read(int(record), "0" * 64)  # a record of the same number in a new log
    assert keeper.purge(date.today() + timedelta(days=30)) == 0  # the last day is still kept
    assert keeper.purge(date.today() + timedelta(days=31)) >= 1
    with pytest.raises(AuditError, match=f"no images of record {record}"):
        keeper.read(int(record))


def test_the_scanner_offers_each_new_scan_once_whatever_its_clock(tmp_path: Path) -> None:
    import os

    from impostor.station.counter import Scanner
    from impostor.station.service import Refusal

    scanner = Scanner(tmp_path, max_age=600)
    now = time.time()
    for name, age in (("yesterday.jpg", 86_400), ("earlier.jpg", 60), ("newest.jpg", 5)):
        (tmp_path / name).write_bytes(name.encode())
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "notes.txt").write_text("not a scan")
    assert scanner.take().name == "newest.jpg"
    with pytest.raises(Refusal, match="no new image"):
        scanner.take()  # "earlier" came before the scan already taken: another traveller's
    future = tmp_path / "fast-clock.jpg"  # a scanner PC whose clock runs an hour ahead
    future.write_bytes(b"ahead")
    os.utime(future, (now + 3600, now + 3600))
    assert scanner.take().name == "fast-clock.jpg"
    (tmp_path / "next.jpg").write_bytes(b"next traveller")
    assert scanner.take().name == "next.jpg"  # not blocked by the scan stamped in the future
