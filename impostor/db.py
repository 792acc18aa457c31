"""SQLite plumbing shared by the stores that several processes write at once (audit, practice).

Connections are opened in autocommit mode (``isolation_level=None``) and every write goes
through ``immediate``: ``BEGIN IMMEDIATE`` takes the write lock before anything is read, so a
read-then-write (the audit chain's head, a session's current item) cannot interleave with
another writer's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["immediate"]


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
