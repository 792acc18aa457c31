"""Both images of a comparison kept for review (``impostor station --keep-images DAYS``), encrypted.

Each comparison's document and live images go into one file named for its audit record and its
last day, ``<record>-<YYYYMMDD>.kept``, encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from
``cryptography``) under a key made on first use. The folder is readable by the service's user
only (0700, files 0600), so the key beside the files protects a copy of the folder taken without
the key (a backup, a disk sent for repair), and the permissions protect the rest. ``purge``
removes every file past its last day: ``impostor audit purge`` calls it, and so does the station
when it starts and as it keeps more.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from impostor.errors import AuditError

__all__ = ["Kept", "Keeper", "kept_folder"]

_NAME = re.compile(r"^(\d+)-(\d{8})\.kept$")
_KEY = "kept.key"


def kept_folder(audit_db: Path) -> Path:
    """Where the images of the audit log ``audit_db`` are kept: a folder beside it."""
    return audit_db.with_name(audit_db.name + ".kept")


@dataclass(frozen=True)
class Kept:
    """The two images of audit record ``record``, as they were received."""

    record: int
    document: bytes
    live: bytes
    last_day: date


class Keeper:
    """The kept images of one audit log, in ``folder``; ``days`` is how long new ones are kept."""

    def __init__(self, folder: Path, days: int) -> None:
        self.folder = folder
        self.days = days
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.folder, 0o700)
                key_path = self.folder / _KEY
                if not key_path.exists():
                    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(Fernet.generate_key())
                self._fernet = Fernet(key_path.read_bytes().strip())
            except (OSError, ValueError) as error:
                raise AuditError(f"cannot keep images in {self.folder}: {error}") from None
        return self._fernet

    def keep(self, record: int, document: bytes, live: bytes, today: date | None = None) -> Path:
        """Encrypt and store both images of ``record``; returns the file."""
        last_day = (today or date.today()) + timedelta(days=self.days)
        token = self._cipher().encrypt(struct.pack(">Q", len(document)) + document + live)
        path = self.folder / f"{record}-{last_day:%Y%m%d}.kept"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(token)
        except OSError as error:
            raise AuditError(f"cannot keep the images of record {record} in {self.folder}: {error}") from None
        return path

    def read(self, record: int) -> Kept:
        """The kept images of ``record``. Raises ``AuditError`` when there are none or they do not
        decrypt (another folder's key, a damaged file)."""
        for path in self._files():
            seq, last_day = _parse(path)
            if seq == record:
                try:
                    plain = self._cipher().decrypt(path.read_bytes())
                except (InvalidToken, OSError) as error:
                    why = error or "not this folder's key"
                    raise AuditError(f"{path}: the kept images do not decrypt ({why})") from None
                (size,) = struct.unpack(">Q", plain[:8])
                return Kept(record, plain[8 : 8 + size], plain[8 + size :], last_day)
        raise AuditError(f"no images of record {record} are kept in {self.folder}")

    def purge(self, today: date | None = None) -> int:
        """Remove every file past its last day; returns how many."""
        today = today or date.today()
        removed = 0
        for path in self._files():
            if _parse(path)[1] < today:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.iterdir() if _NAME.match(path.name))


def _parse(path: Path) -> tuple[int, date]:
    match = _NAME.match(path.name)
    assert match is not None
    day = match.group(2)
    return int(match.group(1)), date(int(day[:4]), int(day[4:6]), int(day[6:]))
