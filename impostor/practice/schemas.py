"""The practice server's requests and replies, as pydantic models: the routes
(``impostor.practice.routes``) take and give these, and ``/api/docs`` documents them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from impostor.practice.classroom import State
from impostor.practice.scoring import Norm
from impostor.practice.store import Mode

__all__ = [
    "Algorithm",
    "AnswerBody",
    "AnswerReply",
    "DoneReply",
    "Feedback",
    "ItemReply",
    "LiveReply",
    "LiveTrainee",
    "ScoreReply",
    "ScoredItem",
    "SetReply",
    "SignInBody",
    "SignInReply",
    "SignedOut",
    "TrainerSignIn",
    "TrainerToken",
]


class SignInBody(BaseModel):
    """A trainee signing in: their ID, their code once there is a roster, the language wanted."""

    trainee: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=40)


class TrainerSignIn(BaseModel):
    """The trainer's PIN."""

    pin: str = Field(max_length=200)


class AnswerBody(BaseModel):
    """A trainee's answer to the item at ``position``: same person or not, how sure (1-5), and
    how long they looked (milliseconds)."""

    position: int
    said_same: bool
    confidence: int
    milliseconds: int


class SetReply(BaseModel):
    """The set being served."""

    name: str
    items: int
    mode: Mode
    difficulty: str | None
    codes: bool = Field(description="Whether the sign-in asks for the trainee's code.")


class SignInReply(BaseModel):
    """A session started or resumed."""

    session: str = Field(description="The session's token, in every path that follows.")
    trainee: str
    mode: Mode
    total: int
    answered: int
    resumed: bool
    finished: bool


class DoneReply(BaseModel):
    """Every item is answered: the score is next."""

    done: Literal[True]
    total: int


class ItemReply(BaseModel):
    """The current item: its two pictures by address (a face crop, and ``_full`` the whole picture)."""

    done: Literal[False]
    position: int
    total: int
    left: str
    right: str
    left_full: str
    right_full: str
    document: bool = Field(description="Whether the left picture is a document portrait.")


class Algorithm(BaseModel):
    """The algorithm's view of a pair: its calibrated probability of "same person"."""

    probability: float
    said_same: bool


class Feedback(BaseModel):
    """The truth of an answered item, in practice mode."""

    correct: bool
    same: bool
    algorithm: Algorithm | None


class AnswerReply(BaseModel):
    """An answer recorded; ``feedback`` only in practice mode."""

    recorded: Literal[True]
    answered: int
    total: int
    done: bool
    feedback: Feedback | None


class ScoredItem(BaseModel):
    """One answered item in the score, once the key is released."""

    position: int
    same: bool
    said_same: bool
    correct: bool
    confidence: int
    seconds: float
    probability: float | None
    left: str
    right: str


class ScoreReply(BaseModel):
    """The trainee's score beside the published norms; the items only once the key is released."""

    score: dict[str, Any] = Field(description="impostor.practice.scoring.Score, NaN as null.")
    norms: list[Norm]
    key_released: bool
    items: list[ScoredItem] | None


class TrainerToken(BaseModel):
    """The trainer's bearer token, for ``hours``."""

    token: str
    hours: int


class LiveTrainee(BaseModel):
    """One trainee in the trainer's live view."""

    model_config = ConfigDict(populate_by_name=True)

    trainee: str
    klass: str | None = Field(alias="class")
    state: State
    answered: int
    total: int
    seen: str | None
    accuracy: float | None


class LiveReply(BaseModel):
    """Who has signed in on the set being served, how far along, who has finished."""

    set: str
    mode: Mode
    items: int
    classes: list[str]
    codes: bool
    counts: dict[str, int]
    trainees: list[LiveTrainee]


class SignedOut(BaseModel):
    """The trainer's token has ended."""

    signed_out: Literal[True]
