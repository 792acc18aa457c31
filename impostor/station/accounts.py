"""Who may use the station: operators (an ID and a PIN) and integrating systems (an API key each).

Both live in the station's SQLite file (the ``station_db`` setting) as salted slow hashes only
(``impostor.hashing``). Five wrong PINs in a row lock that operator ID for fifteen
minutes. Every sign-in runs exactly one scrypt check, whether the ID exists or not, is locked or
not; every key refused runs one too, whatever its name or shape: so timing does not tell which
IDs or system names exist.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from impostor import settings
from impostor.db import immediate, private_file
from impostor.errors import StationError
from impostor.hashing import check_secret, hash_secret, new_key, split_key

__all__ = ["LOCK_AFTER", "LOCK_FOR", "Accounts", "SignIn", "default_path"]

SCHEMA = "impostor.station/1"
LOCK_AFTER = 5  # wrong PINs in a row
LOCK_FOR = timedelta(minutes=15)
# operator IDs and system names: letters (ñ and accents too), digits, . _ - ; 1 to 40 of them
_NAME = re.compile(r"^[^\W_][\w.\-]{0,39}$")
_MIN_PIN = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operators (
    id TEXT PRIMARY KEY, pin TEXT NOT NULL, created TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT
);
CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, hash TEXT NOT NULL, created TEXT NOT NULL)
"""


@functools.cache
def _dummy() -> str:
    """A hash no secret matches, checked against for unknown IDs and keys (made on first use)."""
    return hash_secret("no operator has this PIN")


def default_path() -> Path:
    """The station database named by the ``station_db`` setting (``IMPOSTOR_STATION_DB``)."""
    return Path(str(settings.get("station_db"))).expanduser()


class SignIn(enum.Enum):
    """How a sign-in attempt ended."""

    OK = "ok"
    WRONG = "wrong"  # an unknown ID or a wrong PIN: the same answer for both
    LOCKED = "locked"


@dataclass(frozen=True)
class Attempt:
    """A sign-in's outcome and, when the ID is locked, until when (UTC)."""

    outcome: SignIn
    locked_until: datetime | None = None


# unknown IDs remembered between their wrong PINs; past it the counts are dropped and the locks
# kept (five slow checks, one at a time, lock one: at most a few thousand in a lock's 15 minutes)
_MAX_UNKNOWN = 10_000


class Accounts:
    """The station's operators and API keys, in the SQLite file ``path`` (created when missing).

    ``check(secret, stored)`` is the slow comparison of a secret with its stored hash
    (``impostor.hashing.check_secret``; a test may count its calls); ``max_unknown`` bounds
    the unknown IDs remembered between wrong PINs. Raises ``StationError``
    when the file is not a station database.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        check: Callable[[str, str], bool] = check_secret,
        max_unknown: int = _MAX_UNKNOWN,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self._check, self._max_unknown = check, max_unknown
        self._passed: dict[str, tuple[bytes, ...]] = {}  # name → digests of keys that passed
        # operator → (its lock, how many sign-ins hold or wait for it): an entry lives only while
        # a sign-in for that ID is under way, so invented IDs leave nothing behind
        self._checking: dict[str, tuple[threading.Lock, int]] = {}
        self._checking_guard = threading.Lock()
        self._unknown: dict[str, tuple[int, datetime | None]] = {}  # unknown ID → failures, locked until
        try:
            private_file(self.path)
            with self._db() as db, immediate(db):
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables and "operators" not in tables:
                    raise StationError(f"{self.path} is an SQLite file but not a station database")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA,))
        except (OSError, sqlite3.DatabaseError) as error:
            raise StationError(f"{self.path} cannot be used as the station database ({error})") from None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one piece of work; a locked or broken file is a ``StationError``."""
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as error:
            raise StationError(f"cannot open the station database {self.path}: {error}") from None
        try:
            yield connection
        except sqlite3.Error as error:
            raise StationError(f"the station database {self.path} failed: {error}") from None
        finally:
            connection.close()

    # -- operators ----------------------------------------------------------------------------

    def add_operator(self, operator: str, pin: str, *, replace: bool = False) -> None:
        """Store ``operator`` with the salted hash of ``pin``; ``replace`` sets a new PIN."""
        _check_name(operator, "operator ID")
        if len(pin) < _MIN_PIN or pin.strip() != pin:
            raise StationError(f"a PIN needs at least {_MIN_PIN} characters and no spaces at its ends")
        with self._db() as db, immediate(db):
            exists = db.execute("SELECT 1 FROM operators WHERE id = ?", (operator,)).fetchone()
            if exists and not replace:
                raise StationError(f"operator {operator} exists already; give --replace to set a new PIN")
            db.execute(
                "INSERT OR REPLACE INTO operators (id, pin, created, failures, locked_until) "
                "VALUES (?, ?, ?, 0, NULL)",
                (operator, hash_secret(pin), _now().isoformat()),
            )

    def sign_in(self, operator: str, pin: str, *, now: datetime | None = None) -> Attempt:
        """Check ``pin`` for ``operator``, counting wrong ones towards the lock-out.

        Attempts on one ID are checked one at a time, so PINs sent at once still count one by one
        towards the lock-out.
        """
        with self._one_at_a_time(operator):
            return self._sign_in(operator, pin, now or _now())

    @contextmanager
    def _one_at_a_time(self, operator: str) -> Iterator[None]:
        with self._checking_guard:
            lock, users = self._checking.get(operator, (threading.Lock(), 0))
            self._checking[operator] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._checking_guard:
                users = self._checking[operator][1] - 1
                if users:
                    self._checking[operator] = (lock, users)
                else:
                    del self._checking[operator]

    def _sign_in(self, operator: str, pin: str, moment: datetime) -> Attempt:
        with self._db() as db:
            row = db.execute(
                "SELECT pin, failures, locked_until FROM operators WHERE id = ?", (operator,)
            ).fetchone()
        # one slow check whatever the ID and its state, before anything else: an unknown or a
        # locked ID that answered sooner would tell which IDs exist
        right = self._check(pin, _dummy() if row is None else str(row[0]))
        if row is None:
            return self._unknown_attempt(operator, moment)
        _, failures, locked = row
        if locked is not None and datetime.fromisoformat(locked) > moment:
            return Attempt(SignIn.LOCKED, datetime.fromisoformat(locked))
        with self._db() as db, immediate(db):
            if right:
                db.execute("UPDATE operators SET failures = 0, locked_until = NULL WHERE id = ?", (operator,))
                return Attempt(SignIn.OK)
            failures = int(failures) + 1 if locked is None else 1  # a lock that ran out starts again
            until = moment + LOCK_FOR if failures >= LOCK_AFTER else None
            db.execute(
                "UPDATE operators SET failures = ?, locked_until = ? WHERE id = ?",
                (0 if until else failures, None if until is None else until.isoformat(), operator),
            )
        return Attempt(SignIn.LOCKED, until) if until else Attempt(SignIn.WRONG)

    def _unknown_attempt(self, operator: str, moment: datetime) -> Attempt:
        """An ID no one has is counted and locked like one that exists (in this process's memory),
        so that the replies do not tell which IDs exist."""
        failures, until = self._unknown.get(operator, (0, None))
        if until is not None and until > moment:
            return Attempt(SignIn.LOCKED, until)
        with self._db() as db, immediate(db):
            # counted in the file as a known ID's failure is, so an unknown ID does not answer
            # sooner; the count itself tells an administrator the station is being probed
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('unknown_sign_ins', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
        failures = failures + 1 if until is None else 1
        until = moment + LOCK_FOR if failures >= LOCK_AFTER else None
        if len(self._unknown) > self._max_unknown:  # a flood of invented IDs must not fill the memory
            # only the counts go: IDs locked now stay locked, as a known ID's lock stays in the
            # file, or a flood would unlock them and tell unknown IDs from known ones
            self._unknown = {
                name: entry
                for name, entry in self._unknown.items()
                if entry[1] is not None and entry[1] > moment
            }
        self._unknown[operator] = (0 if until else failures, until)
        return Attempt(SignIn.LOCKED, until) if until else Attempt(SignIn.WRONG)

    def operators(self) -> list[str]:
        """Every operator ID, sorted."""
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT id FROM operators ORDER BY id")]

    # -- API keys for integrating systems --------------------------------------------------------

    def add_key(self, name: str, *, replace: bool = False) -> str:
        """A new API key for the system ``name``; only its hash is kept, so show it once."""
        _check_name(name, "system name")
        key = new_key(name)
        with self._db() as db, immediate(db):
            exists = db.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone()
            if exists and not replace:
                raise StationError(f"a key for {name} exists already; give --replace to issue a new one")
            db.execute(
                "INSERT OR REPLACE INTO api_keys (name, hash, created) VALUES (?, ?, ?)",
                (name, hash_secret(split_key(key)[1]), _now().isoformat()),  # type: ignore[index]
            )
        return key

    def remembered_key(self, key: str) -> str | None:
        """The system's name when ``key`` passed ``check_key`` in this process and is still the one
        stored; None otherwise (then only ``check_key`` can tell). Costs no scrypt."""
        parts = split_key(key)
        if parts is None or parts[0] not in self._passed:
            return None
        name, secret = parts
        with self._db() as db:
            row = db.execute("SELECT hash FROM api_keys WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        seen = _remembered(str(row[0]), secret)
        return name if any(hmac.compare_digest(seen, known) for known in self._passed[name]) else None

    def check_key(self, key: str) -> str | None:
        """The name of the system whose key ``key`` is, or None for a key the station never issued.

        A key that passed the slow check is remembered, in this process's memory only, by a
        digest of the key and its stored hash: an e-gate calling every few seconds pays scrypt
        once, not on every traveller, and a key replaced or removed in the file stops working
        at once (its stored hash no longer matches).
        """
        parts = split_key(key)
        if parts is None:
            self._check(key, _dummy())  # refused as slowly as a key of any other shape
            return None
        name, secret = parts
        with self._db() as db:
            row = db.execute("SELECT hash FROM api_keys WHERE name = ?", (name,)).fetchone()
        if row is None:
            self._check(secret, _dummy())
            return None
        stored = str(row[0])
        seen = _remembered(stored, secret)
        if any(hmac.compare_digest(seen, known) for known in self._passed.get(name, ())):
            return name
        if not self._check(secret, stored):
            return None
        self._passed[name] = (seen,)
        return name


def _remembered(stored: str, secret: str) -> bytes:
    """What this process remembers of a key that passed: bound to its stored hash."""
    return hashlib.sha256(f"{stored}\n{secret}".encode()).digest()


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise StationError(
            f"{what} {name!r}: use 1 to 40 letters, digits, dots, hyphens or underscores, "
            "starting with a letter or digit"
        )


def _now() -> datetime:
    return datetime.now(UTC)
