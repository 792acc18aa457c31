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
    POST /counter/chip, GET            the chip on the reader (``impostor.station.chip``)
    POST /counter/frame                a camera frame → one instruction and the face box
    POST /counter/live                 the live photo → the verdict (or, judgement first, nothing yet)
    POST /counter/judgement            the officer's own judgement → the verdict
    POST /counter/outcome              what happened to the traveller
    POST /counter/next                 forget this traveller
    GET  /counter/faces/{side}         a face the page shows: the page's, the chip's, the live
                                       photo's (JPEG, from memory)

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

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import Response

from impostor.i18n import Catalogues
from impostor.records.audit import check_text
from impostor.services.comparison import Comparer
from impostor.station import views
from impostor.station.accounts import LOCK_FOR, SignIn
from impostor.station.api import current_comparer, read_upload
from impostor.station.chip import add_chip_routes
from impostor.station.guidance import guide
from impostor.station.schemas import (
    CatalogueReply,
    DocumentReply,
    GuidanceReply,
    JudgementBody,
    JudgementReply,
    LiveReply,
    OutcomeBody,
    OutcomeReply,
    SettingsReply,
    SignInBody,
    SignInReply,
)
from impostor.station.service import Refusal, Station, current_session, current_station, in_thread
from impostor.station.sessions import CounterSession, Traveller
from impostor.web.forms import router as memory_router

__all__ = ["CATALOGUES", "COOKIE", "LOCALES", "OPEN", "Scanner", "add_counter", "router"]

LOCALES = Path(__file__).resolve().parent / "locales"
CATALOGUES = Catalogues(LOCALES, ("en", "es"), "es")  # a Peruvian counter: Spanish unless asked
COOKIE = "impostor_station"
OPEN = ("/counter/catalogue", "/counter/settings", "/counter/signin")  # no session needed
SCAN_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".jp2"})
FRAME_INTERVAL_MS = 200  # the page sends a frame at most this often: five a second
SHOT_AFTER = 2  # passing frames in a row before the page takes the photo itself

router = memory_router(tags=["page"])  # a traveller's photos are parsed in memory, never spooled
StationDep = Annotated[Station, Depends(current_station)]
SessionDep = Annotated[CounterSession, Depends(current_session)]
ComparerDep = Annotated[Comparer, Depends(current_comparer)]


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
        """The newest scan not yet taken and not older than ``max_age``; raises ``Refusal`` (404)
        when there is none."""
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
    """Add the page's routes to ``app``; they compare through ``station.comparer`` and take scans
    from the station's scanner folder."""
    config = station.config
    app.state.scanner = (
        Scanner(config.scanner_dir, config.scanner_max_age_minutes * 60) if config.scanner_dir else None
    )
    app.include_router(router)
    add_chip_routes(app, station)


def current_scanner(request: Request) -> Scanner | None:
    """The scanner folder of the station serving ``request`` (None without one)."""
    scanner: Scanner | None = request.app.state.scanner
    return scanner


@router.get("/counter/catalogue", response_model=CatalogueReply)
def messages(request: Request, lang: str | None = None) -> dict[str, Any]:
    """The page's text, in the language asked for (``lang``) or negotiated from the browser's."""
    language = CATALOGUES.negotiate(request.headers.get("accept-language"), lang)
    return {
        "language": language,
        "languages": list(CATALOGUES.languages),
        "messages": dict(CATALOGUES.catalogue(language)),
    }


@router.get("/counter/settings", response_model=SettingsReply)
def settings(station: StationDep, request: Request) -> dict[str, Any]:
    """What the page needs to know of this station."""
    config = station.config
    return {
        "station": config.station,
        "judgement_first": config.judgement_first,
        "scanner": current_scanner(request) is not None,
        "idle_minutes": config.idle_minutes,
        "time_zone": config.time_zone,
        "frame_interval_ms": FRAME_INTERVAL_MS,
        "shot_after": SHOT_AFTER,
        "chip_reader": config.chip_reader is not None,
        "chip_auto": config.chip_reader is not None and config.chip_auto,
    }


@router.post("/counter/signin", response_model=SignInReply)
async def sign_in(
    body: SignInBody, request: Request, response: Response, station: StationDep
) -> dict[str, Any]:
    """Operator ID and PIN → a session cookie; 401 for a wrong pair, 423 while locked out."""
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
    secure = station.config.secure_cookies
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
    return {"operator": body.operator, "idle_minutes": station.config.idle_minutes}


@router.post("/counter/signout", status_code=204)
def sign_out(request: Request, station: StationDep) -> Response:
    """The session ends and its cookie is cleared."""
    station.sessions.close(request.state.token)
    response = Response(status_code=204)
    secure = station.config.secure_cookies
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response


@router.get("/counter/me", response_model=SignInReply)
def me(session: SessionDep, station: StationDep) -> dict[str, Any]:
    """Who is signed in."""
    return {"operator": session.operator, "idle_minutes": station.config.idle_minutes}


def take_document(
    station: Station, comparer: Comparer, session: CounterSession, data: bytes, source: str, name: str
) -> dict[str, Any]:
    """Read a document and find its portrait's face (``Comparer.read``): the session's new traveller."""
    side = comparer.read(data, name=name or "document")
    with session.lock:
        session.next_traveller()  # a new document is a new traveller
        traveller = session.traveller
        traveller.document, traveller.document_source, traveller.document_name = side.located, source, name
        traveller.reading, traveller.side, traveller.page_side = side.reading, side, side
        if station.keeper is not None:
            traveller.document_bytes = data
        views.show(traveller, "document", side.located)
        return {"document": views.document_view(traveller)}


@router.post("/counter/document", response_model=DocumentReply)
async def document(
    image: Annotated[UploadFile, File()], station: StationDep, session: SessionDep, comparer: ComparerDep
) -> dict[str, Any]:
    """The document from a file: a portrait, a data-page scan or a DG2."""
    data = await read_upload(image, "image", station.config.max_upload_bytes)
    return await in_thread(lambda: take_document(station, comparer, session, data, "file", ""))


@router.post("/counter/document/scanner", response_model=DocumentReply)
async def from_scanner(
    request: Request, station: StationDep, session: SessionDep, comparer: ComparerDep
) -> dict[str, Any]:
    """The newest scan in the scanner folder; 404 when there is none new, 409 without a folder."""
    scanner = current_scanner(request)
    if scanner is None:
        raise Refusal(409, "NoScanner", "this station has no scanner folder (--scanner-dir)", "no_scanner")
    scan = await in_thread(scanner.take)
    return await in_thread(lambda: take_document(station, comparer, session, scan.data, "scanner", scan.name))


@router.post("/counter/frame", response_model=GuidanceReply)
async def frame(frame: Annotated[UploadFile, File()], station: StationDep) -> dict[str, Any]:
    """A camera frame → one instruction for the traveller and the face box."""
    data = await read_upload(frame, "frame", station.config.max_frame_bytes)
    check = await in_thread(lambda: station.verifier.check_frame(data, label="camera frame"))
    return guide(check).to_dict()


def compare(
    station: Station, comparer: Comparer, session: CounterSession, data: bytes, source: str
) -> dict[str, Any]:
    """Compare the traveller on screen with their live photo (``Comparer.compare``), audited."""
    traveller = session.traveller  # the photo belongs to the traveller on screen when it was sent
    side = traveller.side
    if traveller.document is None or side is None:
        raise Refusal(409, "NoDocument", "there is no document for this traveller yet", "no_document")
    if traveller.chip is not None and traveller.chip.running:
        # the chip's portrait is the one that decides: the comparison waits for it
        raise Refusal(409, "ChipReading", "the chip is still being read", "chip_reading")
    live = comparer.locate_live(side, data, label="live photo")
    with session.lock:
        if session.traveller is not traveller or traveller.side is not side:
            # "next traveller" or a new document came first: this photo is not theirs
            raise Refusal(409, "NoDocument", "the traveller changed while the photo was sent", "no_document")
        result = comparer.compare(side, live, operator=session.operator)
        assert result.record is not None  # the station's comparer always logs
        traveller.live, traveller.verdict, traveller.record = live, result.verdict, result.record.seq
        traveller.judgement, traveller.decided = None, datetime.now(UTC).astimezone()
        views.show(traveller, "live", live)
        withheld = station.config.judgement_first
        return {
            "record": result.record.seq,
            "withheld": withheld,
            "verdict": None if withheld else views.verdict_view(traveller),
            "live": {"face": live.landmarks is not None, "image": views.face_url(traveller, "live")},
            "source": source,
            "kept": station.keep(result.record, traveller.document_bytes, data),
        }


@router.post("/counter/live", response_model=LiveReply)
async def live(
    image: Annotated[UploadFile, File()],
    station: StationDep,
    session: SessionDep,
    comparer: ComparerDep,
    source: Annotated[Literal["camera", "file"], Form()] = "camera",
) -> dict[str, Any]:
    """The live photo → the verdict (or, judgement first, nothing yet but its record)."""
    data = await read_upload(image, "image", station.config.max_upload_bytes)
    return await in_thread(lambda: compare(station, comparer, session, data, source))


def record_event(
    station: Station, session: CounterSession, kind: str, value: str, note: str = ""
) -> Traveller:
    """Append the officer's ``kind`` event to the traveller's record; 409 before a comparison."""
    traveller = session.traveller
    if traveller.record is None or traveller.verdict is None:
        raise Refusal(409, "NoVerdict", "there is no comparison of this traveller yet", "no_verdict")
    station.logs.log().append_event(traveller.record, kind, value, operator=session.operator, note=note)
    return traveller


@router.post("/counter/judgement", response_model=JudgementReply)
async def judgement(body: JudgementBody, station: StationDep, session: SessionDep) -> dict[str, Any]:
    """The officer's own judgement (once, final) → the verdict."""

    def judge() -> dict[str, Any]:
        with session.lock:
            if session.traveller.judgement is not None:  # judged once, before the answer: final
                raise Refusal(409, "AlreadyJudged", "this comparison has its judgement", "already_judged")
            traveller = record_event(station, session, "judgement", body.judgement)
            traveller.judgement = body.judgement
            return {"verdict": views.verdict_view(traveller)}

    return await in_thread(judge)


@router.post("/counter/outcome", response_model=OutcomeReply)
async def outcome(body: OutcomeBody, station: StationDep, session: SessionDep) -> dict[str, Any]:
    """What happened to the traveller; "other" needs a note (one line, printable)."""
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
            if station.config.judgement_first and traveller.judgement is None:
                raise Refusal(409, "NoVerdict", "record your own judgement first", "no_verdict")
            record_event(station, session, "outcome", body.outcome, note)
            return {"recorded": True, "outcome": body.outcome}

    return await in_thread(record)


@router.post("/counter/next", status_code=204)
def next_traveller(session: SessionDep) -> Response:
    """Forget this traveller."""
    with session.lock:
        session.next_traveller()
    return Response(status_code=204)


@router.get(
    "/counter/faces/{side}", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}}
)
def face(side: Literal["document", "chip", "live"], session: SessionDep) -> Response:
    """The face the page shows (JPEG, from memory, never cached)."""
    data = session.traveller.faces.get(side)
    if data is None:
        raise Refusal(404, "NotFound", f"no {side} face for this traveller", "not_found")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
