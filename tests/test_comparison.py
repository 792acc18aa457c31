"""The comparison service (``impostor.services.comparison``) with real faces: one profile rule, one
audit sink, a data page's portrait found once, and the JSON ``compare --json`` gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor import resources
from impostor.errors import DocumentError
from impostor.pipeline.profile import SHIPPED
from impostor.pipeline.verifier import Verifier
from impostor.records.audit import AuditLog
from impostor.services.backoffice import compare_list
from impostor.services.comparison import AuditSink, Comparer, deciding_portrait
from impostor.station.service import ThreadLogs
from impostor.types import Decision

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.sqlite") as opened:
        yield opened


@pytest.fixture
def comparer(verifier: Verifier, log: AuditLog) -> Iterator[Comparer]:
    # the session's warm verifier for photos and chips; a page's is made by the rule
    with Comparer(
        audit=log, station="lima-t1-07", verifiers={"portrait": verifier, "chip": verifier}
    ) as made:
        yield made


@pytest.fixture(scope="session")
def specimens(data_dir: Path) -> Path:
    return data_dir / "documents" / "images"


def test_a_portrait_and_its_holder_match_and_the_verdict_is_logged(comparer: Comparer, log: AuditLog) -> None:
    result = comparer.compare_document(SAMPLES / "document.png", SAMPLES / "live_genuine.jpg", operator="ana")
    assert result.portrait == "portrait" and result.verdict.decision is Decision.MATCH
    assert result.record is not None
    stored = log.record(result.record.seq)
    assert stored is not None and (stored.station, stored.operator, stored.decision) == (
        "lima-t1-07",
        "ana",
        "MATCH",
    )
    # LogSink keeps each side's quality report, as the verifier's own audit did
    assert stored.quality is not None and {"document", "live"} <= stored.quality.keys()
    assert log.verify().ok
    # a bare portrait: exactly the verdict's JSON, with the sides' search times first
    assert result.to_dict() == result.verdict.to_dict()
    assert list(result.verdict.timings_ms)[:2] == ["document", "live"]
    assert {"read", "document", "live", "compare", "audit", "total"} <= result.timings_ms.keys()


def test_an_impostor_does_not_match(comparer: Comparer) -> None:
    side = comparer.read(SAMPLES / "document.png")
    result = comparer.compare(side, SAMPLES / "live_impostor.jpg", operator="ana")
    assert result.verdict.decision is Decision.NO_MATCH
    # the side is read once and compared again: a station keeps it between a traveller's photos
    again = comparer.compare(side, SAMPLES / "live_genuine.jpg", operator="ana")
    assert again.verdict.decision is Decision.MATCH and again.record is not None
    assert result.record is not None and again.record.seq == result.record.seq + 1


def test_a_data_page_is_compared_under_the_document_profile_with_its_portrait_found_once(
    comparer: Comparer, specimens: Path
) -> None:
    side = comparer.read(specimens / "td3_uto_icao_specimen.png")
    assert side.portrait == "page" and side.reading.located is not None
    assert side.located.boxes == side.reading.located.boxes  # the page's face, not a second search
    assert side.located.quality is not None  # held to the document profile's gates
    assert comparer.verifier_for("page").profile.name != comparer.verifier_for("portrait").profile.name
    # the page's own portrait as the "live" photo: its holder
    live = cv2.imencode(".png", cv2.cvtColor(side.located.image.pixels, cv2.COLOR_RGB2BGR))[1].tobytes()
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is not Decision.NO_MATCH
    assert result.verdict.profile.name == comparer.verifier_for("page").profile.name
    shown = result.to_dict()
    assert shown["document_reading"] == side.reading.to_dict()
    # what reading the page found leads the reasons (and turns a MATCH into a REFER)
    alerts = [finding.code for finding in side.reading.alerts]
    assert shown["reason_codes"][: len(alerts)] == alerts
    if alerts:
        assert result.verdict.decision is Decision.REFER


def test_a_portrait_searched_again_on_its_crop_is_not_turned_upside_down(
    comparer: Comparer, specimens: Path
) -> None:
    # on the Serbian specimen card a glance at the upright crop misses the face, and the search
    # then finds one half a turn round: the page's own search found it upright
    side = comparer.read(specimens / "td1_srb_test.png")
    assert side.portrait == "page" and side.located.rotated == 0 and side.located.landmarks is not None
    left, right = side.located.landmarks.left_eye, side.located.landmarks.right_eye
    nose = side.located.landmarks.points[4]
    assert nose[1] > max(left[1], right[1])  # the nose below the eyes: upright


def test_a_chip_that_gives_no_portrait_is_a_document_error(comparer: Comparer) -> None:
    with pytest.raises(DocumentError, match="gives no portrait"):
        comparer.read(b"\x75\x03\x7f\x61\x00", name="broken DG2")


def test_one_profile_rule_and_an_override_for_every_document(verifier: Verifier, tmp_path: Path) -> None:
    with Comparer() as chosen:
        # a chip's DG2 is an enrolment photo: the shipped chip profile where there is one
        chip_profile = resources.data_file(SHIPPED["chip"]).is_file()
        assert (chosen.verifier_for("chip") is chosen.verifier_for("portrait")) is not chip_profile
        if chip_profile:
            assert chosen.verifier_for("chip").profile.name == "chip"
        assert chosen.verifier_for("page") is not chosen.verifier_for("portrait")
        assert chosen.verifier_for("page").profile.comparison == "document"
    with Comparer("default") as site:  # a site's profile holds for every document
        assert site.verifier_for("page") is site.verifier_for("portrait")
        assert site.verifier_for("page").profile.name == verifier.profile.name
    with pytest.raises(ValueError, match="station"):
        Comparer(audit=AuditLog(tmp_path / "a.sqlite"))


def test_the_stations_per_thread_logs_are_a_sink_too(verifier: Verifier, tmp_path: Path) -> None:
    logs: AuditSink = ThreadLogs(tmp_path / "station.sqlite")
    with Comparer(audit=logs, station="tumbes-02", verifiers={"portrait": verifier}) as comparer:
        result = comparer.compare_document(
            SAMPLES / "document.png", SAMPLES / "live_genuine.jpg", operator="OFC-0042"
        )
    assert result.record is not None and result.record.operator == "OFC-0042"
    assert result.record.quality is not None  # ThreadLogs keeps the quality as LogSink does


def test_a_clip_goes_through_the_service(comparer: Comparer, tmp_path: Path, log: AuditLog) -> None:
    live = cv2.imread(str(SAMPLES / "live_genuine.jpg"))
    height, width = (dimension // 2 * 2 for dimension in live.shape[:2])
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, (width, height))
    for _ in range(5):
        writer.write(np.ascontiguousarray(live[:height, :width]))
    writer.release()
    side = comparer.read(SAMPLES / "document.png")
    result = comparer.compare_stream(side, clip, operator="ana", seconds=5)
    assert result.verdict.decision is Decision.MATCH and result.record is not None
    assert list(result.verdict.timings_ms)[:2] == ["document_locate", "live_capture"]
    assert result.verdict.document.image is side.located.image  # the portrait found once


def test_a_back_office_list_is_logged_through_the_same_sink(
    comparer: Comparer, tmp_path: Path, log: AuditLog
) -> None:
    listed = tmp_path / "pairs.csv"
    for name in ("document.png", "live_genuine.jpg", "live_impostor.jpg"):
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    listed.write_text("document,live\ndocument.png,live_genuine.jpg\ndocument.png,live_impostor.jpg\n")
    summary = compare_list(comparer, listed, tmp_path / "decisions.csv", operator="reviewer")
    assert summary.counts == {"MATCH": 1, "NO_MATCH": 1}
    assert [record.operator for record in log.records()] == ["reviewer", "reviewer"]


def test_which_portrait_decides(comparer: Comparer, specimens: Path) -> None:
    assert deciding_portrait(comparer.read(SAMPLES / "document.png").reading) == "portrait"
    assert deciding_portrait(comparer.read(specimens / "td3_deu_mustermann.jpg").reading) == "page"
    chip = comparer.read(specimens.parent / "chip" / "jmrtd_bsi2008")
    assert chip.portrait == "chip" and chip.located.image is chip.reading.portrait
    assert comparer.verifier_for("chip").profile.comparison == "photo"  # a chip's photo is digital
