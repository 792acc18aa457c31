"""The station's HTTP API, for the systems around the counter (e-gates, document readers, review
tools): the same comparison as ``impostor compare``, over HTTP, warm.

    POST /api/v1/verify     multipart ``document`` (a portrait, a data-page scan or a DG2) and
                            ``live``, and with a page its chip's files as ``chip`` parts
                            (EF_COM.bin, EF_SOD.bin, DG1.bin, DG2.bin …, as a reader writes
                            them): the JSON of ``compare --json [--chip DIR]``
    POST /api/v1/quality    multipart ``image`` and a ``side`` field: the JSON of ``quality --json``
    GET  /api/v1/health     without a key: only whether the station is up ("ok" or "degraded");
                            with one: its name, models loaded, the profile, the audit log
    GET  /api/docs          the OpenAPI page

Each system sends its own key in the ``X-API-Key`` header (``impostor station add-key``); every
comparison goes through the station's comparer (``impostor.services.comparison``) and is
appended to the audit log under the station's name and ``api:<key's name>``. The key and its
rate are checked before the body is read (``impostor.station.app``). A chip's files are
counted and each held to a chip file's size before any is read; they are checked against the
station's CSCAs (the ``csca`` setting). Reading the station's own chip reader is the page's
(``impostor.station.chip``).
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time
import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile

from impostor import errors
from impostor.document.chip import MAX_FILE_BYTES
from impostor.services.comparison import Comparer
from impostor.services.three_way import MAX_CHIP_FILES, chip_files
from impostor.station.schemas import HealthReply, QualityReply, VerifyReply
from impostor.station.service import Refusal, Station, current_station, in_thread
from impostor.web.forms import router as memory_router

__all__ = [
    "GUARDED",
    "HEALTH",
    "add_api",
    "current_comparer",
    "read_upload",
    "router",
]

GUARDED = ("/api/v1/verify", "/api/v1/quality")  # what needs a key: every route but health and docs
HEALTH = "/api/v1/health"  # open, but its details only for a key (checked when one is sent)

router = memory_router(tags=["api"])  # a traveller's photos are parsed in memory, never spooled


def current_comparer(request: Request) -> Comparer:
    """The comparer of the station serving ``request`` (a dependency, set up by ``add_api``)."""
    comparer: Comparer = request.app.state.station.comparer
    return comparer


def add_api(app: FastAPI, station: Station) -> None:
    """Add the API's routes to ``app``; they compare through ``station.comparer``."""
    app.include_router(router)


async def read_upload(upload: UploadFile, part: str, limit: int) -> bytes:
    """An uploaded file's bytes; a 413 ``Refusal`` past ``limit``, found without reading more."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Refusal(413, "TooLarge", f"{part}: over {limit / 2**20:g} MB, the upload limit", "too_large")
    return data


def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """The calling system's name, as the gate found it (the header is named for the docs)."""
    return str(request.state.caller)


@router.post("/api/v1/verify", response_model=VerifyReply, response_model_exclude_unset=True)
async def verify(
    document: Annotated[
        UploadFile, File(description="The document portrait: a data-page scan or the chip photo.")
    ],
    live: Annotated[UploadFile, File(description="The live photo of the traveller.")],
    system: Annotated[str, Depends(caller)],
    station: Annotated[Station, Depends(current_station)],
    comparer: Annotated[Comparer, Depends(current_comparer)],
    chip: Annotated[
        list[UploadFile] | None,
        File(
            description="The page's chip: its files as a reader writes them (EF_COM.bin, EF_SOD.bin,"
            f" DG1.bin, DG2.bin, DG14.bin, DG15.bin), one part each; at most {MAX_CHIP_FILES}."
        ),
    ] = None,
) -> dict[str, Any]:
    """Compare a document portrait with a live photo, with the page's chip where its files are
    sent; the same JSON as ``impostor compare --json [--chip DIR]``."""
    limit = station.config.max_upload_bytes
    uploads = chip or []
    if len(uploads) > MAX_CHIP_FILES:
        message = f"{len(uploads)} chip files: a chip has at most {MAX_CHIP_FILES}; send only its files"
        raise Refusal(413, "TooLarge", message, "too_large")
    document_bytes = await read_upload(document, "document", limit)
    live_bytes = await read_upload(live, "live", limit)
    parts = [
        (part.filename or f"chip {number}", await read_upload(part, f"chip {part.filename}", MAX_FILE_BYTES))
        for number, part in enumerate(uploads, start=1)
    ]
    files = chip_files(parts) if parts else None  # DocumentError: the catalogue's 422
    # the document is read and its portrait found while the live face is searched beside it
    side, found = await asyncio.gather(
        in_thread(lambda: comparer.read(document_bytes, name="document", chip=files)),
        in_thread(lambda: comparer.find_live(live_bytes, label="live")),
    )

    def compare() -> dict[str, Any]:
        result = comparer.compare_found(side, found, operator=f"api:{system}")
        assert result.record is not None  # the station's comparer always logs
        station.keep(result.record, document_bytes, live_bytes)
        return result.to_dict()

    return await in_thread(compare)


@router.post("/api/v1/quality", response_model=QualityReply)
async def quality(
    image: Annotated[UploadFile, File(description="A face photo.")],
    system: Annotated[str, Depends(caller)],
    station: Annotated[Station, Depends(current_station)],
    side: Annotated[str, Form(pattern="^(document|live)$")] = "live",
) -> dict[str, Any]:
    """The quality gates of the face in one photo; the same JSON as ``impostor quality --json``."""
    data = await read_upload(image, "image", station.config.max_upload_bytes)
    verifier = station.verifier
    analysed, report = await in_thread(lambda: verifier.quality(data, side, label="image"))  # type: ignore[arg-type]
    return {"image": analysed.info.to_dict(), **report.to_dict()}


@router.get(HEALTH, response_model=HealthReply, response_model_exclude_unset=True)
def health(
    request: Request,
    station: Annotated[Station, Depends(current_station)],
    x_api_key: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Whether the station can answer; with a key, also its name, models, profile and audit log
    (a caller without one learns nothing of the station but that it is up)."""
    from impostor.engine import weights

    profile = station.verifier.profile
    try:
        station.logs.log().verify_writable()
        writable = True
    except errors.AuditError:
        writable = False
    status = "ok" if writable else "degraded"
    if getattr(request.state, "caller", None) is None:
        return {"status": status}
    return {
        "status": status,
        "station": station.config.station,
        "models_loaded": weights.encoder_loaded(),
        "profile": {"name": profile.name, "version": profile.version, "weak": bool(profile.weak)},
        "audit_log_writable": writable,
    }
