"""The officers' page's chip: reading the chip of the document on the station's reader, after
its page, with the page's MRZ as the key; the routes the page's key C calls.

    POST /counter/chip     read the chip now: with the MRZ read from the page, or the fields the
                           officer typed (document number, birth date, expiry) or the CAN
    GET  /counter/chip     where the reading is (the page asks a few times a second); once it is
                           done, the document with its chip and the three portraits' places

The reading runs in a thread of its own (``impostor.station.reader``); the station has one
reader, so one reading at a time. When it is done the traveller's document is the page with its
chip, through the comparison service (``Comparer.with_chip``): the chip's portrait decides, the
page's is compared with it, DG1 with the printed MRZ. A reading that ends after the officer has
moved on to another traveller is dropped. Nothing read from the chip is written anywhere: the
files live in the traveller's session until the next traveller.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time
import logging
import threading
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request

from impostor import errors
from impostor.card.passport import ChipRead
from impostor.document.reading import configured_cscas
from impostor.services.comparison import Comparer, DocumentSide
from impostor.station import views
from impostor.station.api import current_comparer
from impostor.station.reader import ChipJob, ChipKeys, keys_from_mrz, typed_keys
from impostor.station.schemas import ChipBody, ChipReply
from impostor.station.service import Refusal, Station, current_session, current_station, in_thread
from impostor.station.sessions import CounterSession, Traveller
from impostor.web.forms import router as memory_router

__all__ = ["POLL_MS", "add_chip_routes", "router"]

_log = logging.getLogger("impostor.station")
POLL_MS = 250  # the page asks for the progress this often while a reading runs
router = memory_router(tags=["page"])
StationDep = Annotated[Station, Depends(current_station)]
SessionDep = Annotated[CounterSession, Depends(current_session)]
ComparerDep = Annotated[Comparer, Depends(current_comparer)]


def add_chip_routes(app: FastAPI, station: Station) -> None:
    """Add the chip's routes to ``app`` (they refuse with 409 when the station has no reader)."""
    app.include_router(router)


def _work(station: Station, comparer: Comparer, session: CounterSession, traveller: Traveller) -> None:
    """Read the chip (``traveller.chip``, in this thread) and make it part of the traveller's
    document through the comparison service; the reader is released whatever happens.

    A chip that was reached but could not be opened or read leaves the page's portrait
    deciding, with an alert saying why (``Comparer.without_chip``: a chip can be broken on
    purpose); no reader, no card or no answer says nothing of the document, and changes nothing.
    """
    job, page = traveller.chip, traveller.page_side
    assert job is not None and page is not None
    try:
        try:
            chip_read = job.read(configured_cscas())
        except (errors.NoReader, errors.CardAbsent, errors.CardTimeout):
            raise
        except errors.ChipError as error:
            _apply(session, traveller, comparer.without_chip(page, str(error)), None)
            raise
        job.moved("checking")
        _apply(session, traveller, comparer.with_chip(page, chip_read), chip_read)
        job.finish()
    except errors.ImpostorError as error:
        job.fail(error)
    except Exception as error:  # a fault of ours: the officer is told to try again, the console why
        _log.exception("chip reading failed")
        job.fail(errors.ChipError(f"the chip could not be read ({type(error).__name__})"))
    finally:
        if job.running:
            job.fail(errors.ChipError("the chip reading ended without a result"))
        station.reader_lock.release()


def _apply(
    session: CounterSession, traveller: Traveller, side: DocumentSide, chip_read: ChipRead | None
) -> None:
    """Make ``side`` the traveller's document, unless the officer has moved on to another."""
    with session.lock:
        if session.traveller is not traveller:
            return  # this chip is not the one of the traveller on screen
        traveller.side, traveller.reading, traveller.chip_read = side, side.reading, chip_read
        traveller.faces.pop("chip", None)
        if side.chip is not None:
            views.show(traveller, "chip", side.chip)


def _keys(traveller: Traveller, body: ChipBody | None) -> ChipKeys:
    """What opens the chip: the officer's typed fields or CAN, else the page's MRZ."""
    if body is not None and (body.can or body.number or body.birth or body.expiry):
        try:
            return typed_keys(body.number, body.birth, body.expiry, body.can)
        except errors.AccessDenied as error:
            raise Refusal(422, "BadRequest", str(error), "chip_fields") from None
    reading = traveller.reading
    return keys_from_mrz(reading.mrz, reading.mrz_options) if reading is not None else ChipKeys(())


def start(
    station: Station, comparer: Comparer, session: CounterSession, body: ChipBody | None
) -> dict[str, Any]:
    """Start reading the chip for the traveller on screen (or give the reading already running)."""
    reader = station.config.chip_reader
    if reader is None:
        raise Refusal(
            409, "NoChipReader", "this station has no chip reader (--chip-reader)", "no_chip_reader"
        )
    with session.lock:
        traveller = session.traveller
        if traveller.page_side is None or traveller.reading is None:
            raise Refusal(409, "NoDocument", "there is no document for this traveller yet", "no_document")
        if traveller.chip is not None and traveller.chip.running:
            return chip_reply(traveller)
        if traveller.live is not None:
            # the comparison is made: a chip now would change a verdict already logged
            raise Refusal(409, "AlreadyCompared", "the traveller is compared already", "chip_too_late")
        keys = _keys(traveller, body)
        if not station.reader_lock.acquire(blocking=False):
            raise Refusal(409, "ReaderBusy", "the chip reader is reading another document", "reader_busy")
        traveller.chip = ChipJob(reader, keys, station.config.chip_wait_seconds)
        thread = threading.Thread(
            target=_work, args=(station, comparer, session, traveller), name="chip", daemon=True
        )
        thread.start()
        return chip_reply(traveller)


def chip_reply(traveller: Traveller) -> dict[str, Any]:
    """Where the traveller's chip reading is; once done, the document with its chip."""
    job = traveller.chip
    progress = job.progress() if job is not None else None
    done = progress is not None and progress.stage == "done"
    return {
        "chip": None if progress is None else progress.to_dict(),
        "view": views.chip_view(traveller) if done else None,
        "document": views.document_view(traveller) if done else None,
        "poll_ms": POLL_MS,
    }


@router.post("/counter/chip", response_model=ChipReply)
async def read_chip(
    station: StationDep,
    session: SessionDep,
    comparer: ComparerDep,
    body: Annotated[ChipBody | None, Body()] = None,
) -> dict[str, Any]:
    """Read the chip of the document on the reader, with the page's MRZ or the typed fields."""
    return await in_thread(lambda: start(station, comparer, session, body))


@router.get("/counter/chip", response_model=ChipReply)
def chip_progress(session: SessionDep, request: Request) -> dict[str, Any]:
    """Where the chip reading of the traveller on screen is (``chip`` null: none started)."""
    with session.lock:
        return chip_reply(session.traveller)
