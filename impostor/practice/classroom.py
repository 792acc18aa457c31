"""The classroom: who may sit which set, how trainees prove who they are, and the trainer's view.

A trainer puts trainees on the roster of a class (``impostor practice roster add``) and hands
each the code printed for them: from then on the server asks for ID and code, so an ID alone
no longer continues someone else's session. Codes are kept only as salted slow hashes
(``impostor.hashing``), shown once when issued; a lost code is replaced by issuing a new one.
A set assigned to classes (``impostor practice assign``) admits only their trainees; a set
assigned to none admits everyone on the roster. With no roster at all the server is open (an ID
alone signs in), as for a quick session at one desk.

The trainer's live view (who has signed in, how far along, who has finished, and their score)
is behind a trainer PIN, also kept only as a salted slow hash. Everything lives in the practice
results file beside the sessions it describes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal

from impostor.errors import PracticeError
from impostor.hashing import check_secret, hash_secret
from impostor.practice.store import Mode, PracticeStore, Session

__all__ = [
    "CODE_ALPHABET",
    "IDLE_MINUTES",
    "MIN_PIN",
    "Classroom",
    "LiveRow",
    "State",
    "Trainee",
    "normal_code",
    "normal_trainee",
]

# a trainee ID: letters of any alphabet (ñ, á), digits, '.', '_' and '-', compared in NFC form
_TRAINEE = re.compile(r"^[\w.-]{1,40}$")
_CLASS = re.compile(r"^\w[\w .-]{0,39}$")
# codes are read off a card and typed: no 0/O, 1/I/L, 5/S or 2/Z to confuse; 8 of these are
# 31**8 ≈ 8.5e11 codes, each check a slow hash behind a per-address rate
CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
_CODE_LENGTH = 8
MIN_PIN = 6
IDLE_MINUTES = 10  # an unfinished session with no answer for this long shows as idle
_PIN_KEY = "trainer_pin"

State = Literal["answering", "idle", "finished", "absent"]


def normal_trainee(text: str) -> str | None:
    """``text`` as a trainee ID (trimmed, NFC), or None when it is not one."""
    trainee = unicodedata.normalize("NFC", text.strip())
    return trainee if _TRAINEE.fullmatch(trainee) else None


def normal_code(text: str) -> str:
    """A code as typed (any case, spaces or a hyphen) in the form it was hashed: ``ABCD-EFGH``."""
    letters = re.sub(r"[\s-]", "", text).upper()
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == _CODE_LENGTH else letters


def _new_code() -> str:
    return normal_code("".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LENGTH)))


@functools.cache
def _dummy() -> str:
    """A hash no code matches, checked for IDs not on the roster so that they take as long."""
    return hash_secret("no trainee has this code")


@dataclass(frozen=True)
class Trainee:
    """One trainee on the roster: their ID, class, and when they were added (UTC ISO 8601)."""

    trainee: str
    klass: str
    added: str


@dataclass(frozen=True)
class LiveRow:
    """One trainee as the trainer's live view shows them on the set being served: ``state``
    (``absent``: not signed in yet; ``answering``; ``idle``: no answer for ``IDLE_MINUTES``;
    ``finished``), the answers given of ``total``, the last activity, and for a finished
    session the share answered right."""

    trainee: str
    klass: str | None
    state: State
    answered: int
    total: int
    seen: str | None
    accuracy: float | None

    def to_dict(self) -> dict[str, object]:
        """The row as the trainer's live view receives it (JSON)."""
        return {
            "trainee": self.trainee,
            "class": self.klass,
            "state": self.state,
            "answered": self.answered,
            "total": self.total,
            "seen": self.seen,
            "accuracy": self.accuracy,
        }


class Classroom:
    """The roster, assignments and trainer PIN kept in ``store``'s results file."""

    def __init__(self, store: PracticeStore) -> None:
        self.store = store

    # -- the roster -----------------------------------------------------------------------------

    def add(self, trainees: list[str], klass: str, *, new_codes: bool = False) -> dict[str, str]:
        """Put ``trainees`` on the roster of class ``klass``; returns each one's new code, to be
        handed out (it is not kept). A trainee already on the roster is refused unless
        ``new_codes`` (a lost code): then their class and code are replaced."""
        names = [self._trainee(text) for text in trainees]
        if len(set(names)) != len(names):
            raise PracticeError("a trainee ID is given twice; give each once")
        klass = self._class(klass)
        codes = {name: _new_code() for name in names}
        hashed = {name: hash_secret(code) for name, code in codes.items()}  # slow: outside the lock
        with self.store.writing() as db:
            if not new_codes:
                placeholders = ",".join("?" * len(names))
                known = [
                    t
                    for (t,) in db.execute(
                        f"SELECT trainee FROM roster WHERE trainee IN ({placeholders})", names
                    )
                ]
                if known:
                    raise PracticeError(
                        f"already on the roster: {', '.join(known)}; give --new-code to issue them new codes"
                    )
            db.executemany(
                "INSERT OR REPLACE INTO roster (trainee, class, code, added) VALUES (?, ?, ?, ?)",
                [(name, klass, hashed[name], _now()) for name in names],
            )
        return codes

    def remove(self, trainees: list[str]) -> None:
        """Take ``trainees`` off the roster; their sessions and answers stay in the results."""
        names = [self._trainee(text) for text in trainees]
        with self.store.writing() as db:
            missing = [
                n
                for n in names
                if db.execute("SELECT 1 FROM roster WHERE trainee = ?", (n,)).fetchone() is None
            ]
            if missing:
                raise PracticeError(f"not on the roster: {', '.join(missing)}")
            db.executemany("DELETE FROM roster WHERE trainee = ?", [(n,) for n in names])

    def roster(self) -> list[Trainee]:
        """Everyone on the roster, by class then ID."""
        with self.store.reading() as db:
            rows = db.execute("SELECT trainee, class, added FROM roster ORDER BY class, trainee").fetchall()
        return [Trainee(*row) for row in rows]

    def has_roster(self) -> bool:
        """Whether a roster was loaded: trainees then sign in with their code."""
        with self.store.reading() as db:
            return db.execute("SELECT 1 FROM roster LIMIT 1").fetchone() is not None

    def admit(
        self, trainee: str, code: str, set_id: str
    ) -> Literal["admitted", "wrong_code", "not_assigned"]:
        """Whether ``trainee`` with ``code`` may sit set ``set_id``. An ID not on the roster is
        a ``wrong_code`` too (after as long a check), so the roster cannot be read by guessing."""
        with self.store.reading() as db:
            row = db.execute("SELECT class, code FROM roster WHERE trainee = ?", (trainee,)).fetchone()
            classes = {c for (c,) in db.execute("SELECT class FROM assignments WHERE set_id = ?", (set_id,))}
        matches = check_secret(normal_code(code), row[1] if row is not None else _dummy())
        if row is None or not matches:
            return "wrong_code"
        if classes and row[0] not in classes:
            return "not_assigned"
        return "admitted"

    # -- sets -----------------------------------------------------------------------------------

    def assign(self, set_id: str, set_name: str, classes: list[str]) -> None:
        """Assign set ``set_id`` to ``classes``: only their trainees may then sit it."""
        wanted = [self._class(c) for c in classes]
        with self.store.writing() as db:
            known = {c for (c,) in db.execute("SELECT DISTINCT class FROM roster")}
            unknown = [c for c in wanted if c not in known]
            if unknown:
                raise PracticeError(
                    f"no trainee is in class {', '.join(unknown)}; classes on the roster: "
                    f"{', '.join(sorted(known)) or 'none'} (add trainees with `practice roster add`)"
                )
            db.executemany(
                "INSERT OR REPLACE INTO assignments (set_id, class, set_name, assigned) VALUES (?, ?, ?, ?)",
                [(set_id, c, set_name, _now()) for c in wanted],
            )

    def classes_of(self, set_id: str) -> list[str]:
        """The classes set ``set_id`` is assigned to (none: everyone on the roster may sit it)."""
        with self.store.reading() as db:
            return [
                c
                for (c,) in db.execute(
                    "SELECT class FROM assignments WHERE set_id = ? ORDER BY class", (set_id,)
                )
            ]

    # -- the trainer ----------------------------------------------------------------------------

    def set_pin(self, pin: str) -> None:
        """Set (or replace) the trainer's PIN, kept as a salted slow hash."""
        if len(pin) < MIN_PIN or pin.strip() != pin:
            raise PracticeError(
                f"a trainer PIN needs at least {MIN_PIN} characters and no spaces at its ends"
            )
        hashed = hash_secret(pin)
        with self.store.writing() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_PIN_KEY, hashed))

    def has_pin(self) -> bool:
        """Whether a trainer PIN is set for this classroom."""
        with self.store.reading() as db:
            return db.execute("SELECT 1 FROM meta WHERE key = ?", (_PIN_KEY,)).fetchone() is not None

    def check_pin(self, pin: str) -> bool:
        """Whether ``pin`` is the trainer PIN (checked against its salted scrypt hash)."""
        with self.store.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_PIN_KEY,)).fetchone()
        return row is not None and check_secret(pin, row[0])

    def live(self, set_id: str, mode: Mode, *, now: dt.datetime | None = None) -> list[LiveRow]:
        """Every trainee who may sit set ``set_id`` or has sat it in ``mode``, with their latest
        session on it: those answering first, then idle, finished, and those not signed in."""
        moment = now or dt.datetime.now(dt.UTC)
        classes = set(self.classes_of(set_id))
        klass = {t.trainee: t.klass for t in self.roster()}
        expected = {name for name, k in klass.items() if not classes or k in classes}
        latest: dict[str, Session] = {}
        for session in self.store.sessions(set_id=set_id, mode=mode):
            latest[session.trainee] = session  # oldest first: the last one stays
        rows = [self._row(name, klass.get(name), latest.get(name), moment) for name in {*expected, *latest}]
        order = {"answering": 0, "idle": 1, "finished": 2, "absent": 3}
        return sorted(rows, key=lambda r: (order[r.state], r.klass or "", r.trainee))

    def _row(self, trainee: str, klass: str | None, session: Session | None, moment: dt.datetime) -> LiveRow:
        if session is None:
            return LiveRow(trainee, klass, "absent", 0, 0, None, None)
        seen = session.seen or session.started
        accuracy = None
        if session.done:
            state: State = "finished"
            answers = self.store.answers(session.id)
            accuracy = sum(a.correct for a in answers) / len(answers) if answers else None
        else:
            idle = moment - dt.datetime.fromisoformat(seen) > dt.timedelta(minutes=IDLE_MINUTES)
            state = "idle" if idle else "answering"
        return LiveRow(trainee, klass, state, session.answered, session.total, seen, accuracy)

    # -- checks ---------------------------------------------------------------------------------

    @staticmethod
    def _trainee(text: str) -> str:
        name = normal_trainee(text)
        if name is None:
            raise PracticeError(
                f"{text!r} is not a trainee ID: 1 to 40 letters, digits, '.', '_' or '-', without spaces"
            )
        return name

    @staticmethod
    def _class(text: str) -> str:
        name = unicodedata.normalize("NFC", text.strip())
        if not _CLASS.fullmatch(name):
            raise PracticeError(
                f"{text!r} is not a class name: 1 to 40 letters, digits, spaces, '.', '_' or '-'"
            )
        return name


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
