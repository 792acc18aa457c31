"""Both images of a comparison kept for review (``impostor station --keep-images DAYS``), encrypted.

Each comparison's document and live images go into one file named for its audit record and its
last day, ``<record>-<YYYYMMDD>.kept``, encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from
``cryptography``) under a key made on first use. The encrypted payload names the record's hash,
so images are never handed out for another log's record of the same number. The folder is
readable by the service's user only (0700, files 0600), so the key beside the files protects a
copy of the folder taken without the key (a backup, a disk sent for repair), and the permissions
protect the rest. ``purge`` removes every file past its last day (``impostor audit purge``
calls it, and so does the station when it starts and once a day as it keeps more), and
``purge_records`` those of records a retention purge has just cleared.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from impostor.errors import AuditError, OutputError

__all__ = ["Kept", "Keeper", "kept_folder"]

_NAME = re.compile(r"^(\d+)-(\d{8})\.kept$")
_KEY = "kept.key"
_MAGIC = ((b"\xff\xd8", ".jpg"), (b"\x89PNG", ".png"), (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))


def kept_folder(audit_db: Path) -> Path:
    """Where the images of the audit log ``audit_db`` are kept: a folder beside it."""
    return audit_db.with_name(audit_db.name + ".kept")


@dataclass(frozen=True)
class Kept:
    """The two images of audit record ``record`` (whose hash is ``record_hash``), as received."""

    record: int
    record_hash: str
    document: bytes
    live: bytes
    last_day: date

    def write(self, folder: Path) -> list[Path]:
        """Write both images into ``folder`` as ``<record>-document.jpg`` and ``<record>-live.jpg``
        (the suffix from their first bytes), readable by this user only; returns the files.
        Raises ``OutputError`` when the folder cannot be written."""
        written = []
        for side, data in (("document", self.document), ("live", self.live)):
            suffix = next((suffix for magic, suffix in _MAGIC if data.startswith(magic)), ".bin")
            target = folder / f"{self.record}-{side}{suffix}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
                    handle.write(data)
            except OSError as error:
                raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
            written.append(target)
        return written


class Keeper:
    """The kept images of one audit log, in ``folder``; ``days`` is how long new ones are kept."""

    def __init__(self, folder: Path, days: int) -> None:
        self.folder = folder
        self.days = days
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()
        self._purged_on: date | None = None

    def _cipher(self) -> Fernet:
        with self._lock:  # two first comparisons at once must not both make a key
            if self._fernet is None:
                try:
                    self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                    os.chmod(self.folder, 0o700)
                    key_path = self.folder / _KEY
                    try:
                        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                        with os.fdopen(descriptor, "wb") as handle:
                            handle.write(Fernet.generate_key())
                    except FileExistsError:
                        pass
                    self._fernet = Fernet(key_path.read_bytes().strip())
                except (OSError, ValueError) as error:
                    raise AuditError(f"cannot keep images in {self.folder}: {error}") from None
            return self._fernet

    def keep(
        self, record: int, record_hash: str, document: bytes, live: bytes, today: date | None = None
    ) -> Path:
        """Encrypt and store both images of ``record``; returns the file. Files past their last
        day are purged first, once a day."""
        today = today or date.today()
        if self._purged_on != today:
            self.purge(today)
        last_day = today + timedelta(days=self.days)
        header = json.dumps({"record": record, "hash": record_hash, "document_bytes": len(document)}).encode()
        token = self._cipher().encrypt(struct.pack(">I", len(header)) + header + document + live)
        path = self.folder / f"{record}-{last_day:%Y%m%d}.kept"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(token)
        except OSError as error:
            raise AuditError(f"cannot keep the images of record {record} in {self.folder}: {error}") from None
        return path

    def read(self, record: int, record_hash: str | None = None) -> Kept:
        """The kept images of ``record``. Raises ``AuditError`` when there are none, when they do
        not decrypt (another folder's key, a damaged file), or when they belong to a record of
        another hash than ``record_hash`` (another log's record of the same number)."""
        for path in self._files():
            seq, last_day = _parse(path)
            if seq != record:
                continue
            try:
                plain = self._cipher().decrypt(path.read_bytes())
            except (InvalidToken, OSError) as error:
                why = str(error) or "not this folder's key, or a damaged file"
                raise AuditError(f"{path}: the kept images do not decrypt ({why})") from None
            (size,) = struct.unpack(">I", plain[:4])
            header = json.loads(plain[4 : 4 + size])
            if record_hash is not None and header["hash"] != record_hash:
                raise AuditError(f"{path} holds the images of another log's record {record}, not this one's")
            body = plain[4 + size :]
            split = int(header["document_bytes"])
            return Kept(record, str(header["hash"]), body[:split], body[split:], last_day)
        raise AuditError(f"no images of record {record} are kept in {self.folder}")

    def purge(self, today: date | None = None) -> int:
        """Remove every file past its last day; returns how many."""
        today = today or date.today()
        removed = [path for path in self._files() if _parse(path)[1] < today]
        for path in removed:
            path.unlink(missing_ok=True)
        self._purged_on = today
        return len(removed)

    def purge_records(self, through: int) -> int:
        """Remove the files of records 1 to ``through`` (a retention purge cleared them); returns
        how many."""
        removed = [path for path in self._files() if _parse(path)[0] <= through]
        for path in removed:
            path.unlink(missing_ok=True)
        return len(removed)

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.iterdir() if _NAME.match(path.name))


def _parse(path: Path) -> tuple[int, date]:
    match = _NAME.match(path.name)
    assert match is not None
    day = match.group(2)
    return int(match.group(1)), date(int(day[:4]), int(day[4:6]), int(day[6:]))
