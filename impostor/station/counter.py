"""The officers' page: sign in, the document, live guidance, the result, the outcome, the next
traveller. The routes the page (``static/``) calls; the gate in ``impostor.station.app`` has
already found the officer's session and checked their rate before any of these runs.

    GET  /counter/catalogue?lang=      the page's text, language negotiated
    GET  /counter/settings             what the page needs to know of this station
    POST /counter/signin               operator ID and PIN → a session cookie
    POST /counter/signout              the session ends, the cookie is cleared
    GET  /counter/me                   who is signed in
    POST /counter/document             the document portrait from a file
    POST /counter/document/scanner     the newest scan in the scanner folder
    POST /counter/frame                a camera frame → one instruction and the face box
    POST /counter/live                 the live photo → the verdict (or, judgement first, nothing yet)
    POST /counter/judgement            the officer's own judgement → the verdict
    POST /counter/outcome              what happened to the traveller
    POST /counter/next                 forget this traveller
    GET  /counter/faces/{side}         the face the page shows (JPEG, from memory)

Nothing of a traveller is written anywhere but the audit log (digests, the decision, the events)
and, with ``--keep-images``, the encrypted kept images.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from impostor.document import DocumentReading, Finding, read_document
from impostor.i18n import Catalogues
from impostor.pipeline.portrait import portrait_jpeg
from impostor.pipeline.verifier import Located
from impostor.records.audit import MAX_NOTE, check_text
from impostor.station.accounts import LOCK_FOR, SignIn
from impostor.station.api import read_upload
from impostor.station.guidance import guide
from impostor.station.service import Refusal, Station, in_thread
from impostor.station.sessions import CounterSession, Traveller
from impostor.types import Decision, Verdict

__all__ = ["CATALOGUES", "COOKIE", "LOCALES", "OPEN", "add_counter"]

LOCALES = Path(__file__).resolve().parent / "locales"
CATALOGUES = Catalogues(LOCALES, ("en", "es"), "es")  # a Peruvian counter: Spanish unless asked
COOKIE = "impostor_station"
OPEN = ("/counter/catalogue", "/counter/settings", "/counter/signin")  # no session needed
SCAN_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".jp2"})
FRAME_INTERVAL_MS = 200  # the page sends a frame at most this often: five a second
SHOT_AFTER = 2  # passing frames in a row before the page takes the photo itself


class _SignInBody(BaseModel):
    operator: str = Field(min_length=1, max_length=40)
    pin: str = Field(min_length=1, max_length=64)


class _JudgementBody(BaseModel):
    judgement: Literal["same", "different", "unsure"]


class _OutcomeBody(BaseModel):
    outcome: Literal["admitted", "secondary", "retaken", "other"]
    note: str = Field(default="", max_length=MAX_NOTE)


@dataclass(frozen=True)
class Scan:
    """An image taken from the scanner's folder: its file name and its bytes."""

    name: str
    data: bytes


class Scanner:
    """The scanner's folder: the newest image newer than the last one taken and no older than
    ``max_age`` seconds (one counter, one scanner: taken means taken for every session).

    "Newer" is measured against the last one taken or the moment it was taken, whichever is
    earlier, so one scan stamped in the future by a scanner PC with a fast clock does not block
    the ones after it; a file taken once is never offered again.
    """

    def __init__(self, folder: Path, max_age: float) -> None:
        self.folder, self.max_age = folder, max_age
        self._taken_ns = 0
        self._taken: set[tuple[str, int, int]] = set()  # name, modification time, size
        self._lock = threading.Lock()

    def take(self) -> Scan:
        with self._lock:  # two officers pressing D at once get two scans, or one and a 404
            now = time.time_ns()
            floor = max(self._taken_ns, now - int(self.max_age * 1e9))
            try:
                candidates = [
                    (stat.st_mtime_ns, entry, stat.st_size)
                    for entry in self.folder.iterdir()
                    if entry.suffix.lower() in SCAN_SUFFIXES and entry.is_file()
                    for stat in (entry.stat(),)
                ]
            except OSError as error:
                raise Refusal(
                    503, "ScannerUnavailable", f"cannot read {self.folder}: {error}", "no_scan"
                ) from None
            fresh = sorted(
                (
                    found
                    for found in candidates
                    if found[0] > floor and (found[1].name, found[0], found[2]) not in self._taken
                ),
                key=lambda found: found[0],
            )
            if not fresh:
                minutes = self.max_age / 60
                raise Refusal(
                    404,
                    "NoScan",
                    f"no new image in the scanner folder in the last {minutes:g} minutes",
                    "no_scan",
                )
            stamp, newest, size = fresh[-1]
            try:
                data = newest.read_bytes()
            except OSError as error:
                raise Refusal(422, "NoScan", f"{newest.name}: cannot be read ({error})", "no_scan") from None
            self._taken_ns = min(stamp, now)  # a stamp from the future counts as taken now
            self._taken.add((newest.name, stamp, size))
            return Scan(newest.name, data)


def add_counter(app: FastAPI, station: Station) -> None:
    """Add the page's routes to ``app``."""
    config, verifier = station.config, station.verifier
    scanner = Scanner(config.scanner_dir, config.scanner_max_age_minutes * 60) if config.scanner_dir else None

    def session_of(request: Request) -> CounterSession:
        return request.state.session

    @app.get("/counter/catalogue", tags=["page"])
    def messages(request: Request, lang: str | None = None) -> dict[str, Any]:
        language = CATALOGUES.negotiate(request.headers.get("accept-language"), lang)
        return {
            "language": language,
            "languages": list(CATALOGUES.languages),
            "messages": dict(CATALOGUES.catalogue(language)),
        }

    @app.get("/counter/settings", tags=["page"])
    def settings() -> dict[str, Any]:
        return {
            "station": config.station,
            "judgement_first": config.judgement_first,
            "scanner": scanner is not None,
            "idle_minutes": config.idle_minutes,
            "time_zone": config.time_zone,
            "frame_interval_ms": FRAME_INTERVAL_MS,
            "shot_after": SHOT_AFTER,
        }

    @app.post("/counter/signin", tags=["page"])
    async def sign_in(body: _SignInBody, request: Request, response: Response) -> dict[str, Any]:
        attempt = await in_thread(
            lambda: station.slowly(lambda: station.accounts.sign_in(body.operator, body.pin))
        )
        if attempt.outcome is SignIn.LOCKED:
            until = attempt.locked_until or datetime.now(UTC) + LOCK_FOR
            minutes = max(1, round((until - datetime.now(UTC)).total_seconds() / 60))
            raise Refusal(
                423,
                "Locked",
                f"{body.operator} is locked after repeated wrong PINs; try again in {minutes} minutes",
                "locked",
                retry_after_minutes=minutes,
            )
        if attempt.outcome is not SignIn.OK:
            raise Refusal(401, "WrongPin", "the operator ID or the PIN is wrong", "wrong_pin")
        language = CATALOGUES.negotiate(request.headers.get("accept-language"))
        token, _ = station.sessions.open(body.operator, language)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=config.secure_cookies,
            path="/",
        )
        return {"operator": body.operator, "idle_minutes": config.idle_minutes}

    @app.post("/counter/signout", status_code=204, tags=["page"])
    def sign_out(request: Request) -> Response:
        station.sessions.close(request.state.token)
        response = Response(status_code=204)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=config.secure_cookies
        )
        return response

    @app.get("/counter/me", tags=["page"])
    def me(request: Request) -> dict[str, Any]:
        session = session_of(request)
        return {"operator": session.operator, "idle_minutes": config.idle_minutes}

    def take_document(session: CounterSession, data: bytes, source: str, name: str) -> dict[str, Any]:
        reading = read_document(data, name=name or "document")
        portrait, _ = reading.comparison_side()
        chosen = station.page_verifier if reading.kind == "page" else verifier
        located = chosen.gates(chosen.locate(portrait, "document", label=name or "document"), "document")
        with session.lock:
            session.next_traveller()  # a new document is a new traveller
            traveller = session.traveller
            traveller.document, traveller.document_source = located, source
            traveller.reading, traveller.verifier = reading, chosen
            if station.keeper is not None:
                traveller.document_bytes = data
            _show(traveller, "document", located)
            return {"document": _document_view(traveller, located, source, name)}

    @app.post("/counter/document", tags=["page"])
    async def document(request: Request, image: Annotated[UploadFile, File()]) -> dict[str, Any]:
        data = await read_upload(image, "image", config.max_upload_bytes)
        return await in_thread(lambda: take_document(session_of(request), data, "file", ""))

    @app.post("/counter/document/scanner", tags=["page"])
    async def from_scanner(request: Request) -> dict[str, Any]:
        if scanner is None:
            message = "this station has no scanner folder (--scanner-dir)"
            raise Refusal(409, "NoScanner", message, "no_scanner")
        scan = await in_thread(scanner.take)
        return await in_thread(lambda: take_document(session_of(request), scan.data, "scanner", scan.name))

    @app.post("/counter/frame", tags=["page"])
    async def frame(frame: Annotated[UploadFile, File()]) -> dict[str, Any]:
        data = await read_upload(frame, "frame", config.max_frame_bytes)
        return (await in_thread(lambda: guide(verifier.check_frame(data, label="camera frame")))).to_dict()

    def compare(session: CounterSession, data: bytes, source: str) -> dict[str, Any]:
        traveller = session.traveller  # the photo belongs to the traveller on screen when it was sent
        if traveller.document is None:
            raise Refusal(409, "NoDocument", "there is no document for this traveller yet", "no_document")
        live = verifier.locate(data, "live", label="live photo", search="upright")
        with session.lock:
            if session.traveller is not traveller or traveller.document is None:
                # "next traveller" or a new document came first: this photo is not theirs
                raise Refusal(
                    409, "NoDocument", "the traveller changed while the photo was sent", "no_document"
                )
            reading, chosen = traveller.reading, traveller.verifier or verifier
            alerts = reading.comparison_side()[1] if reading is not None else ()
            verdict = chosen.compare(traveller.document, live, document_reasons=alerts)
            record = station.logs.append(
                verdict,
                station=config.station,
                operator=session.operator,
                document=reading.document_id if reading is not None else None,
            )
            traveller.live, traveller.verdict, traveller.record = live, verdict, record.seq
            traveller.judgement, traveller.decided = None, datetime.now(UTC).astimezone()
            _show(traveller, "live", live)
            withheld = config.judgement_first
            return {
                "record": record.seq,
                "withheld": withheld,
                "verdict": None if withheld else _verdict_view(traveller),
                "live": {"face": live.landmarks is not None, "image": _face_url(traveller, "live")},
                "source": source,
                "kept": station.keep(record, traveller.document_bytes, data),
            }

    @app.post("/counter/live", tags=["page"])
    async def live(
        request: Request,
        image: Annotated[UploadFile, File()],
        source: Annotated[Literal["camera", "file"], Form()] = "camera",
    ) -> dict[str, Any]:
        data = await read_upload(image, "image", config.max_upload_bytes)
        return await in_thread(lambda: compare(session_of(request), data, source))

    def record_event(session: CounterSession, kind: str, value: str, note: str = "") -> Traveller:
        traveller = session.traveller
        if traveller.record is None or traveller.verdict is None:
            raise Refusal(409, "NoVerdict", "there is no comparison of this traveller yet", "no_verdict")
        station.logs.log().append_event(traveller.record, kind, value, operator=session.operator, note=note)
        return traveller

    @app.post("/counter/judgement", tags=["page"])
    async def judgement(request: Request, body: _JudgementBody) -> dict[str, Any]:
        session = session_of(request)

        def judge() -> dict[str, Any]:
            with session.lock:
                if session.traveller.judgement is not None:  # judged once, before the answer: final
                    raise Refusal(409, "AlreadyJudged", "this comparison has its judgement", "already_judged")
                traveller = record_event(session, "judgement", body.judgement)
                traveller.judgement = body.judgement
                return {"verdict": _verdict_view(traveller)}

        return await in_thread(judge)

    @app.post("/counter/outcome", tags=["page"])
    async def outcome(request: Request, body: _OutcomeBody) -> dict[str, Any]:
        session = session_of(request)
        note = " ".join(body.note.split())  # one line: the note goes into a CSV cell
        if body.outcome == "other" and not note:
            raise Refusal(422, "NoteRequired", "an outcome of 'other' needs a note", "note_required")
        try:
            check_text(note, "the note")
        except ValueError as error:  # a NUL, a right-to-left override: refused, not stored
            raise Refusal(422, "BadRequest", str(error), "bad_request") from None

        def record() -> dict[str, Any]:
            with session.lock:
                traveller = session.traveller
                if config.judgement_first and traveller.judgement is None:
                    raise Refusal(409, "NoVerdict", "record your own judgement first", "no_verdict")
                record_event(session, "outcome", body.outcome, note)
                return {"recorded": True, "outcome": body.outcome}

        return await in_thread(record)

    @app.post("/counter/next", status_code=204, tags=["page"])
    def next_traveller(request: Request) -> Response:
        session = session_of(request)
        with session.lock:
            session.next_traveller()
        return Response(status_code=204)

    @app.get("/counter/faces/{side}", tags=["page"])
    def face(request: Request, side: Literal["document", "live"]) -> Response:
        data = session_of(request).traveller.faces.get(side)
        if data is None:
            raise Refusal(404, "NotFound", f"no {side} face for this traveller", "not_found")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _show(traveller: Traveller, side: str, located: Located) -> None:
    traveller.version += 1
    traveller.faces[side] = portrait_jpeg(located)


def _face_url(traveller: Traveller, side: str) -> str | None:
    return f"/counter/faces/{side}?v={traveller.version}" if side in traveller.faces else None


def _document_view(traveller: Traveller, located: Located, source: str, name: str) -> dict[str, Any]:
    codes = []
    if located.landmarks is None:
        codes.append("document_no_face")
    if located.rotated:
        codes.append("document_rotated")
    if located.image.info.damage:
        codes.append("document_damaged")
    if located.quality is not None:
        codes += [f"document_{measure.name}" for measure in located.quality.failures]
    passed = located.landmarks is not None and located.quality is not None and located.quality.passed
    return {
        "face": located.landmarks is not None,
        "passed": passed and not located.image.info.damage,
        "reason_codes": codes,
        "rotated_degrees": located.rotated,
        "source": source,
        "name": name,
        "image": _face_url(traveller, "document"),
        "reading": _reading_view(traveller.reading),
    }


def _reading_view(reading: DocumentReading | None) -> dict[str, Any] | None:
    """What the page shows of a document's reading: its kind, the MRZ's fields and check
    digits, passive authentication's steps, and the findings (codes and values, which the
    catalogues put into words)."""
    if reading is None or reading.kind == "portrait":
        return None
    found = reading.mrz
    mrz = None
    if found is not None:
        mrz = {
            "from": reading.mrz_from,
            "layout": found.layout,
            "surname": found.surname,
            "given_names": found.given_names,
            "document_number": found.document_number,
            "issuing_state": found.issuing_state,
            "nationality": found.nationality,
            "birth_date": found.birth_date.isoformat() if found.birth_date else None,
            "expiry_date": found.expiry_date.isoformat() if found.expiry_date else None,
            "sex": found.sex,
            "valid": found.valid,
            "failing": list(found.failing),
            "name_doubts": [{"name": which, "index": index} for which, index in found.doubted_letters],
        }
    steps = None
    if reading.authentication is not None:
        steps = [
            {"step": step.name, "status": step.status.replace(" ", "_")}
            for step in reading.authentication.steps
        ]
    return {
        "kind": reading.kind,
        "mrz": mrz,
        "passive_authentication": steps,
        "findings": [
            {"code": f.code, "severity": f.severity, "values": f.values}
            for f in reading.findings
            if f.severity != "note" or f.code.startswith("ghost_")
        ],
    }


# a live "photo" that looks drawn is a picture held up to the camera: another photo of it
# changes nothing, and the traveller is what needs looking at
_PRESENTATION_ATTACKS = frozenset({"live_palette"})


def _retake(verdict: Verdict, alerts: tuple[Finding, ...]) -> bool:
    """A REFER whose every reason is the live photo's (no face, blur, light, pose, another face
    in view): what is asked is another photo, not a secondary inspection. Not when the faces
    that were compared already look like two people: a traveller who spoils his photo on
    purpose must not win another try at the camera."""
    different = verdict.distance is not None and verdict.distance > verdict.reject_distance
    return (
        verdict.decision is Decision.REFER
        and not alerts
        and not different
        and bool(verdict.reasons)
        and all(reason.side == "live" for reason in verdict.reasons)
        and not any(reason.code in _PRESENTATION_ATTACKS for reason in verdict.reasons)
    )


def _verdict_view(traveller: Traveller) -> dict[str, Any]:
    verdict = traveller.verdict
    assert verdict is not None
    # the document's alerts lead the reasons in their own words, with their values (a date, a
    # field), which a bare reason code would lose
    alerts = traveller.reading.alerts if traveller.reading is not None else ()
    shown = {f.code for f in alerts}
    return {
        "decision": verdict.decision.value,
        "retake": _retake(verdict, alerts),
        "probability": verdict.probability,
        "document_findings": [{"code": f.code, "values": f.values} for f in alerts],
        "reason_codes": [reason.code for reason in verdict.reasons if reason.code not in shown],
        "time": traveller.decided.isoformat(timespec="seconds") if traveller.decided else None,
        "record": traveller.record,
        "judgement": traveller.judgement,
    }
