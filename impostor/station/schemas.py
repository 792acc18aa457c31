"""What the station's routes take and give, as pydantic models: ``/api/docs`` shows every reply.

The replies are the JSON the routes have always given (``impostor compare --json`` for
``/api/v1/verify``, the page's views for ``/counter/…``): these models describe them, they do
not change them. A model with ``extra="allow"`` passes on any field it does not name, so a field
added to a library's ``to_dict`` reaches the caller before it is described here.
"""

# no ``from __future__ import annotations``: pydantic and FastAPI read these annotations at run time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from impostor.records.audit import MAX_NOTE

__all__ = [
    "CatalogueReply",
    "ChipBody",
    "ChipReply",
    "DocumentReply",
    "DocumentView",
    "GuidanceReply",
    "HealthReply",
    "JudgementBody",
    "JudgementReply",
    "LiveReply",
    "OutcomeBody",
    "OutcomeReply",
    "QualityReply",
    "ReadingView",
    "SettingsReply",
    "SignInBody",
    "SignInReply",
    "VerdictView",
    "VerifyReply",
]

Decision = Literal["MATCH", "NO_MATCH", "REFER"]


class _Open(BaseModel):
    """A reply's part: what it names is described, anything else is passed on as it is."""

    model_config = ConfigDict(extra="allow")


# --- the API -------------------------------------------------------------------------------------


class ImageView(_Open):
    """What was learnt reading an image (``ImageInfo``)."""

    source: str
    width: int
    height: int
    format: str
    mode: str = Field(description='channels as stored: "grey", "rgb", "rgba", "palette", "grey+alpha"')
    bit_depth: int
    exif_orientation: int
    sha256: str
    damage: str | None = Field(description="what the decoder reported losing; null when whole")


class MeasureView(_Open):
    """One quality measure: its native value, a 0-100 score, the profile's limit, the advice."""

    name: str
    value: float
    unit: str
    score: float
    limit: float | None
    passed: bool
    advice: str


class QualityView(_Open):
    """The quality gates of one face."""

    side: str
    passed: bool
    failures: list[str]
    advice: list[str]
    measures: list[MeasureView]


class SideView(_Open):
    """One side of a comparison: the image, the face used (null without one) and its quality."""

    image: ImageView
    analysed_size: dict[str, int]
    faces_found: int
    rotated_degrees: int
    box: dict[str, float] | None
    landmarks: dict[str, list[float]] | None
    face_size_px: dict[str, float] | None
    quality: QualityView | None


class ThresholdsView(_Open):
    """The profile's two thresholds, in distance (smaller is more alike)."""

    accept_distance: float = Field(description="MATCH at or below this distance")
    reject_distance: float = Field(description="NO_MATCH above this distance; REFER between")


class ProfileView(_Open):
    """The profile that decided: its name, version and thresholds."""

    name: str
    version: str
    path: str
    comparison: str = Field(description='what it was fitted to compare: "photo" or "document"')


class VerifyReply(_Open):
    """The JSON of ``impostor compare --json``: the decision, its evidence and, for a data page or
    a chip, what reading the document found."""

    decision: Decision
    probability: float | None = Field(description="calibrated probability that both are the same person")
    distance: float | None = Field(description="Euclidean distance of the embeddings; smaller is more alike")
    reasons: list[str]
    reason_codes: list[str]
    thresholds: ThresholdsView
    document: SideView
    live: SideView
    profile: ProfileView
    timings_ms: dict[str, float]
    document_reading: dict[str, Any] | None = Field(
        default=None, description="what reading the document found (absent for a bare portrait)"
    )
    decided_by: Literal["page", "chip"] | None = Field(
        default=None,
        description="which of the document's portraits was compared with the traveller: the chip's "
        "where its passive authentication holds (absent for a bare portrait)",
    )
    chip: dict[str, Any] | None = Field(
        default=None,
        description="what the page's chip proved (absent without one): passive, active and chip "
        "authentication, how it was opened, and the printed portrait's distance from the chip's "
        "with the substitution rule's answer",
    )


class QualityReply(QualityView):
    """The JSON of ``impostor quality --json``: the image and the gates of its face."""

    image: ImageView


class HealthProfile(_Open):
    """The station's profile as health reports it to a caller with a key."""

    name: str
    version: str
    weak: bool


class HealthReply(_Open):
    """Whether the station can answer; the rest only for a caller with a key."""

    status: Literal["ok", "degraded"]
    station: str | None = None
    models_loaded: bool | None = None
    profile: HealthProfile | None = None
    audit_log_writable: bool | None = None


# --- the officers' page --------------------------------------------------------------------------


class SignInBody(BaseModel):
    """An officer's sign-in: operator ID and PIN."""

    operator: str = Field(min_length=1, max_length=40)
    pin: str = Field(min_length=1, max_length=64)


class JudgementBody(BaseModel):
    """The officer's own judgement, given before the verdict is shown."""

    judgement: Literal["same", "different", "unsure"]


class OutcomeBody(BaseModel):
    """What became of the traveller, with a note (required for ``other``)."""

    outcome: Literal["admitted", "secondary", "retaken", "other"]
    note: str = Field(default="", max_length=MAX_NOTE)


class CatalogueReply(_Open):
    """The page's words in one language, and the languages there are."""

    language: str
    languages: list[str]
    messages: dict[str, str]


class SettingsReply(_Open):
    """What the page needs to know of the station's settings."""

    station: str
    judgement_first: bool
    scanner: bool
    idle_minutes: float
    time_zone: str | None
    frame_interval_ms: int
    shot_after: int
    chip_reader: bool = Field(default=False, description="the station has a chip reader: key C reads it")
    chip_auto: bool = Field(default=False, description="the chip is read as soon as the page is taken")


class SignInReply(_Open):
    """The signed-in officer and how long a session may stay idle."""

    operator: str
    idle_minutes: float


class MrzView(_Open):
    """The MRZ's fields as the page shows them; ``failing`` names the check digits that fail."""

    from_: str = Field(alias="from", description='"page" or "chip"')
    layout: str
    surname: str
    given_names: str
    document_number: str
    issuing_state: str
    nationality: str
    birth_date: str | None
    expiry_date: str | None
    sex: str
    valid: bool
    failing: list[str]
    name_doubts: list[dict[str, Any]]


class FindingView(_Open):
    """One finding of the document reading, as the page lists it."""

    code: str
    severity: str | None = None
    values: dict[str, str]


class ReadingView(_Open):
    """What the page shows of a document's reading (null for a bare portrait)."""

    kind: str
    mrz: MrzView | None
    passive_authentication: list[dict[str, str]] | None
    findings: list[FindingView]


class DocumentView(_Open):
    """The document side as the page shows it: its face, gates and reading."""

    face: bool
    passed: bool
    reason_codes: list[str]
    rotated_degrees: int
    source: Literal["file", "scanner"]
    name: str
    image: str | None = Field(description="the face the page shows (a /counter/faces/ URL)")
    reading: ReadingView | None
    portrait: str | None = Field(
        default=None, description='which portrait decides: "page", "chip", "portrait"'
    )


class DocumentReply(_Open):
    """The reply to a document taken by the page."""

    document: DocumentView


class GuidanceReply(_Open):
    """One instruction for the live camera frame, and where the face is in it."""

    instruction: str
    box: dict[str, float] | None = Field(description="the face, as shares of the frame's width and height")
    passed: bool


class VerdictView(_Open):
    """The verdict as the page shows it: decision, probability, reasons, portraits."""

    decision: Decision
    retake: bool = Field(description="what is asked is another photo, not a secondary inspection")
    probability: float | None
    document_findings: list[FindingView]
    reason_codes: list[str]
    time: str | None
    record: int | None
    judgement: str | None
    portrait: str | None = Field(
        default=None, description='which portrait decided: "page", "chip", "portrait"'
    )


class ChipBody(BaseModel):
    """What opens the chip when the page's MRZ did not: the three fields typed from the page
    (document number, birth date and expiry as YYMMDD), or the card access number; all empty:
    the MRZ read from the page."""

    number: str = Field(default="", max_length=20)
    birth: str = Field(default="", max_length=6)
    expiry: str = Field(default="", max_length=6)
    can: str = Field(default="", max_length=6)


class ChipProgressView(_Open):
    """How far the chip's reading has come: its stage and the bytes of the file arriving."""

    stage: Literal["waiting", "opening", "reading", "checking", "done", "failed"]
    file: str = Field(description='the file arriving ("DG2" is the portrait)')
    done: int = Field(description="bytes of it read")
    total: int = Field(description="bytes in it")
    seconds: float
    code: str | None = Field(description="why it failed: a catalogue code (error.<code>)")


class ChipCheckView(_Open):
    """One of the chip's checks (passive, active, chip authentication) and its result."""

    check: Literal["passive", "active", "chip"]
    status: Literal["passed", "failed", "incomplete", "not_done", "not_counted", "not_read"]


class ChipView(_Open):
    """The chip read at the counter: how it was opened, its portrait and its three checks."""

    access: str = Field(description='the protocol that opened it ("BAC", "PACE ECDH-GM AES-128")')
    password: Literal["mrz", "can"]
    tries: int
    image: str | None = Field(description="the chip's portrait (a /counter/faces/ URL)")
    checks: list[ChipCheckView]
    genuine: bool
    decides: bool = Field(description="the chip's portrait is the one compared with the traveller")


class ChipReply(_Open):
    """The chip's reading: its progress, and once done what it gave."""

    chip: ChipProgressView | None = Field(description="the reading; null before one was started")
    view: ChipView | None = Field(description="once the reading is done: what it gave")
    document: DocumentView | None = Field(description="once the reading is done: the document with its chip")
    poll_ms: int


class LiveView(_Open):
    """The live side as the page shows it."""

    face: bool
    image: str | None


class LiveReply(_Open):
    """The reply to a live photo: the record, and the verdict unless the officer judges first."""

    record: int
    withheld: bool = Field(description="the officer judges first: the verdict comes with the judgement")
    verdict: VerdictView | None
    live: LiveView
    source: Literal["camera", "file"]
    kept: bool


class JudgementReply(_Open):
    """The verdict, shown once the officer's judgement is recorded."""

    verdict: VerdictView


class OutcomeReply(_Open):
    """Whether the outcome was recorded, and which."""

    recorded: bool
    outcome: str
