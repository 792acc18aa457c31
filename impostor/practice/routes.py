"""The practice server's routes: the trainee's (sign in, items, pictures, answers, score) and the
trainer's (sign in with the PIN, the live view, sign out). Each takes the server's state through
``current_practice`` and answers with a model of ``impostor.practice.schemas``; a refusal is a
``Refusal`` whose code the page words (``impostor.practice.serving.refused``).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response

from impostor.practice.classroom import normal_trainee
from impostor.practice.i18n import LANGUAGES, catalogue, negotiate
from impostor.practice.schemas import (
    AnswerBody,
    AnswerReply,
    DoneReply,
    Feedback,
    ItemReply,
    LiveReply,
    LiveTrainee,
    ScoredItem,
    ScoreReply,
    SetReply,
    SignedOut,
    SignInBody,
    SignInReply,
    TrainerSignIn,
    TrainerToken,
)
from impostor.practice.scoring import load_norms, score_trials
from impostor.practice.serving import TRAINER_HOURS, Practice, algorithm_view, current_practice, refused
from impostor.web.asgi import caller_of
from impostor.web.replies import CatalogueReply

__all__ = ["trainee_routes", "trainer_routes"]

_MAX_MILLISECONDS = 3_600_000  # an hour: anything longer is a clock fault, not a look at two faces

Served = Annotated[Practice, Depends(current_practice)]
trainee_routes = APIRouter(prefix="/api", tags=["trainee"])
trainer_routes = APIRouter(prefix="/api/trainer", tags=["trainer"])


@trainee_routes.get("/catalogue")
def messages(request: Request, lang: str | None = None) -> CatalogueReply:
    """The page's text, in ``lang`` when there is a catalogue for it, else as Accept-Language asks."""
    language = negotiate(request.headers.get("accept-language"), lang)
    return CatalogueReply(language=language, languages=list(LANGUAGES), messages=dict(catalogue(language)))


@trainee_routes.get("/set")
def about(practice: Served) -> SetReply:
    """The set's name, size, mode and difficulty, and whether signing in needs a code."""
    return SetReply(
        name=practice.set.name,
        items=len(practice.set.items),
        mode=practice.mode,
        difficulty=practice.set.difficulty,
        codes=practice.classroom.has_roster(),
    )


@trainee_routes.post("/sessions")
def sign_in(body: SignInBody, request: Request, practice: Served) -> SignInReply:
    """Start or resume the trainee's session; with a roster, their code is checked (wrong codes
    are limited per address)."""
    trainee = normal_trainee(body.trainee)
    if trainee is None:
        raise refused("bad_trainee", 422)
    if practice.classroom.has_roster():
        address = _address(request)
        practice.code_failures.check(address, count=False)
        admitted = practice.classroom.admit(trainee, body.code or "", practice.set.id)
        if admitted == "wrong_code":
            practice.code_failures.allow(address)
            raise refused("wrong_code", 401)
        if admitted == "not_assigned":
            raise refused("not_assigned", 403)
    language = negotiate(request.headers.get("accept-language"), body.language)
    session, resumed = practice.store.start(trainee, practice.set, practice.mode, language)
    return SignInReply(
        session=session.id,
        trainee=session.trainee,
        mode=session.mode,
        total=session.total,
        answered=session.answered,
        resumed=resumed,
        finished=session.done,
    )


@trainee_routes.get("/sessions/{token}/item")
def current(token: str, practice: Served) -> ItemReply | DoneReply:
    """The current item's picture addresses (by position, never by file name), or ``done``."""
    session = practice.session(token)
    if session.done:
        return DoneReply(done=True, total=session.total)
    k = session.answered
    return ItemReply(
        done=False,
        position=k,
        total=session.total,
        left=f"/api/sessions/{token}/items/{k}/left",
        right=f"/api/sessions/{token}/items/{k}/right",
        left_full=f"/api/sessions/{token}/items/{k}/left?view=full",
        right_full=f"/api/sessions/{token}/items/{k}/right?view=full",
        # the left picture is a document portrait only when it was rendered as one
        document=practice.item(session, k).left.source is not None,
    )


@trainee_routes.get(
    "/sessions/{token}/items/{position}/{side}",
    response_class=Response,
    responses={
        200: {
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The picture, as a fresh JPEG without metadata.",
        }
    },
)
def picture(
    token: str,
    position: int,
    side: Literal["left", "right"],
    practice: Served,
    view: Literal["face", "full"] = "face",
) -> Response:
    """A picture of an item shown or answered: the face as an officer compares it, or the whole."""
    session = practice.session(token)
    if not 0 <= position <= min(session.answered, session.total - 1):
        raise refused("not_current", 403)  # an item not yet reached is not shown ahead of time
    item = practice.item(session, position)
    ref = item.left if side == "left" else item.right
    data = practice.face(ref) if view == "face" else practice.jpeg(ref)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@trainee_routes.post("/sessions/{token}/answers")
def answer(token: str, body: AnswerBody, practice: Served) -> AnswerReply:
    """Record an answer; in practice mode the reply says whether it was right."""
    session = practice.session(token)
    if body.confidence not in range(1, 6) or not 0 <= body.milliseconds <= _MAX_MILLISECONDS:
        raise refused("bad_answer", 422)
    if not 0 <= body.position < session.total:
        raise refused("not_current")
    item = practice.item(session, body.position)
    outcome = practice.store.record(
        token,
        body.position,
        item,
        said_same=body.said_same,
        confidence=body.confidence,
        seconds=body.milliseconds / 1000.0,
    )
    if outcome != "recorded":
        raise refused(outcome)
    answered = body.position + 1
    feedback = None
    if practice.mode == "practice":
        feedback = Feedback(
            correct=item.same == body.said_same, same=item.same, algorithm=algorithm_view(item)
        )
    return AnswerReply(
        recorded=True,
        answered=answered,
        total=session.total,
        done=answered == session.total,
        feedback=feedback,
    )


@trainee_routes.get("/sessions/{token}/score")
def score(token: str, practice: Served) -> ScoreReply:
    """The score, once every item is answered; the items with their truth only in practice mode
    or once the trainer has released the test's key."""
    session = practice.session(token)
    if not session.done:
        raise refused("not_finished")
    answers = practice.store.answers(token)
    # a test's answer key stays with the trainer until released: the trainee sees the score
    shown = practice.mode == "practice" or practice.store.released(practice.set.id)
    items = [
        ScoredItem(
            position=a.position,
            same=a.same,
            said_same=a.said_same,
            correct=a.correct,
            confidence=a.confidence,
            seconds=round(a.seconds, 3),
            probability=round(a.probability, 4) if math.isfinite(a.probability) else None,
            left=f"/api/sessions/{token}/items/{a.position}/left",
            right=f"/api/sessions/{token}/items/{a.position}/right",
        )
        for a in answers
    ]
    return ScoreReply(
        score=score_trials([a.trial() for a in answers]).to_dict(),
        norms=list(load_norms()),
        key_released=shown,
        items=items if shown else None,
    )


@trainer_routes.post("/sign-in")
def trainer_sign_in(body: TrainerSignIn, request: Request, practice: Served) -> TrainerToken:
    """The trainer's PIN for a bearer token (``TRAINER_HOURS``); wrong PINs are limited per address."""
    address = _address(request)
    practice.pin_failures.check(address, count=False)
    if not practice.classroom.has_pin():
        raise refused("no_trainer_pin", 409)
    if not practice.classroom.check_pin(body.pin):
        practice.pin_failures.allow(address)
        raise refused("wrong_pin", 401)
    return TrainerToken(token=practice.trainers.open("trainer"), hours=TRAINER_HOURS)


@trainer_routes.get("/live")
def live(practice: Served, authorization: Annotated[str | None, Header()] = None) -> LiveReply:
    """Who has signed in on the set being served, how far along, who has finished."""
    practice.check_trainer(authorization)
    rows = practice.classroom.live(practice.set.id, practice.mode)
    counts = {
        state: sum(r.state == state for r in rows) for state in ("answering", "idle", "finished", "absent")
    }
    return LiveReply(
        set=practice.set.name,
        mode=practice.mode,
        items=len(practice.set.items),
        classes=practice.classroom.classes_of(practice.set.id),
        codes=practice.classroom.has_roster(),
        counts=counts,
        trainees=[LiveTrainee.model_validate(row.to_dict()) for row in rows],
    )


@trainer_routes.post("/sign-out")
def trainer_sign_out(practice: Served, authorization: Annotated[str | None, Header()] = None) -> SignedOut:
    """End the trainer's token (a token that has ended already ends again without complaint)."""
    practice.trainers.close((authorization or "").partition(" ")[2].strip())
    return SignedOut(signed_out=True)


def _address(request: Request) -> str:
    return caller_of(request.client.host) if request.client is not None else "unknown"
