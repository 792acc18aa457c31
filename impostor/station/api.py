"""The station's HTTP API, for the systems around the counter (e-gates, document readers, review
tools): the same comparison as ``impostor compare``, over HTTP, warm.

    POST /api/v1/verify     multipart ``document`` (a portrait, a data-page scan or a DG2) and
                            ``live``: the JSON of ``compare --json``
    POST /api/v1/quality    multipart ``image`` and a ``side`` field: the JSON of ``quality --json``
    GET  /api/v1/health     without a key: only whether the station is up ("ok" or "degraded");
                            with one: its name, models loaded, the profile, the audit log
    GET  /api/docs          the OpenAPI page

Each system sends its own key in the ``X-API-Key`` header (``impostor station add-key``); every
comparison is appended to the audit log under the station's name and ``api:<key's name>``. The
key and its rate are checked before the body is read (``impostor.station.app``).
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time,
# and those name dependencies defined inside ``add_api``
import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile

from impostor import errors
from impostor.document import read_document
from impostor.stages.capture import load_image
from impostor.station.service import Refusal, Station, in_thread

__all__ = ["GUARDED", "HEALTH", "add_api", "read_upload"]

GUARDED = ("/api/v1/verify", "/api/v1/quality")  # what needs a key: every route but health and docs
HEALTH = "/api/v1/health"  # open, but its details only for a key (checked when one is sent)


async def read_upload(upload: UploadFile, part: str, limit: int) -> bytes:
    """An uploaded file's bytes; a 413 ``Refusal`` past ``limit``, found without reading more."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Refusal(413, "TooLarge", f"{part}: over {limit / 2**20:g} MB, the upload limit", "too_large")
    return data


def add_api(app: FastAPI, station: Station) -> None:
    """Add the API's routes to ``app``."""
    config, verifier = station.config, station.verifier

    def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
        """The calling system's name, as the gate found it (the header is named for the docs)."""
        return str(request.state.caller)

    @app.post("/api/v1/verify", tags=["api"])
    async def verify(
        document: Annotated[
            UploadFile, File(description="The document portrait: a data-page scan or the chip photo.")
        ],
        live: Annotated[UploadFile, File(description="The live photo of the traveller.")],
        system: Annotated[str, Depends(caller)],
    ) -> dict[str, Any]:
        """Compare a document portrait with a live photo; the same JSON as ``impostor compare --json``."""
        limit = config.max_upload_bytes
        document_bytes = await read_upload(document, "document", limit)
        live_bytes = await read_upload(live, "live", limit)

        # the document is read (its MRZ looked for) while the live photo is decoded beside it
        reading, live_image = await asyncio.gather(
            in_thread(lambda: read_document(document_bytes, name="document")),
            in_thread(lambda: load_image(live_bytes, name="live")),
        )

        def compare() -> dict[str, Any]:
            portrait, alerts = reading.comparison_side()
            chosen = station.page_verifier if reading.kind == "page" else verifier
            verdict = chosen.verify(portrait, live_image, document_reasons=alerts)
            record = station.logs.append(
                verdict, station=config.station, operator=f"api:{system}", document=reading.document_id
            )
            station.keep(record, document_bytes, live_bytes)
            reply = verdict.to_dict()
            if reading.kind != "portrait":
                reply["document_reading"] = reading.to_dict()
            return reply

        return await in_thread(compare)

    @app.post("/api/v1/quality", tags=["api"])
    async def quality(
        image: Annotated[UploadFile, File(description="A face photo.")],
        system: Annotated[str, Depends(caller)],
        side: Annotated[str, Form(pattern="^(document|live)$")] = "live",
    ) -> dict[str, Any]:
        """The quality gates of the face in one photo; the same JSON as ``impostor quality --json``."""
        data = await read_upload(image, "image", config.max_upload_bytes)
        analysed, report = await in_thread(lambda: verifier.quality(data, side, label="image"))  # type: ignore[arg-type]
        return {"image": analysed.info.to_dict(), **report.to_dict()}

    @app.get(HEALTH, tags=["api"])
    def health(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """Whether the station can answer; with a key, also its name, models, profile and audit log
        (a caller without one learns nothing of the station but that it is up)."""
        from impostor.engine import weights

        profile = verifier.profile
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
            "station": config.station,
            "models_loaded": weights.encoder_loaded(),
            "profile": {"name": profile.name, "version": profile.version, "weak": bool(profile.weak)},
            "audit_log_writable": writable,
        }
