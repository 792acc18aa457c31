"""SQLite plumbing shared by the stores that several processes write at once (audit, practice).

Connections are opened in autocommit mode (``isolation_level=None``) and every write goes
through ``immediate``: ``BEGIN IMMEDIATE`` takes the write lock before anything is read, so a
read-then-write (the audit chain's head, a session's current item) cannot interleave with
another writer's.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["immediate", "private_file"]


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder, when new) readable by this user only, before SQLite opens
    it: PIN hashes and an audit trail are no one else's to read. SQLite gives its -wal and -shm
    files the permissions of the database file. An existing file is left as it is."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


@contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` when the block raises anything."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:  # SQLite may already have rolled back (disk full, I/O error)
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
