"""Where the comparison service logs: the :class:`AuditSink` it is given (the station's logs, or
an ``AuditLog`` through :class:`LogSink`), each verdict with its sides' quality and, for a
document read with a chip, which portrait decided and what the chip proved (``checks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from impostor.records.audit import AuditLog, AuditRecord
from impostor.types import Verdict

__all__ = ["AuditSink", "LogSink", "side_quality"]


class AuditSink(Protocol):
    """Where comparisons are logged: ``append`` stores one verdict and returns its record.

    The station's ``ThreadLogs`` is one (a connection per worker thread); an ``AuditLog`` is one
    through :class:`LogSink`."""

    def append(
        self,
        verdict: Verdict,
        *,
        station: str,
        operator: str,
        document: tuple[str, str] | None = None,
        checks: Mapping[str, object] | None = None,
    ) -> AuditRecord:
        """Log ``verdict`` under ``station`` and ``operator``, with the document's (issuing
        state, number) kept only as a keyed hash, and ``checks`` (which portrait decided, the
        chip's checks: ``ChipChecks.record``) for a document read with a chip; returns the
        stored record."""
        ...


def side_quality(verdict: Verdict) -> dict[str, object]:
    """Each side's quality report as the audit log keeps it (``{"document": …, "live": …}``;
    None for a side without a face)."""
    return {
        side.name: side.quality.to_dict() if side.quality else None
        for side in (verdict.document, verdict.live)
    }


class LogSink:
    """An :class:`AuditLog` as an :class:`AuditSink`: each verdict with its sides' quality."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def append(
        self,
        verdict: Verdict,
        *,
        station: str,
        operator: str,
        document: tuple[str, str] | None = None,
        checks: Mapping[str, object] | None = None,
    ) -> AuditRecord:
        """Append ``verdict`` to the log; returns the stored record (``AuditLog.append``)."""
        return self.log.append(
            verdict,
            station=station,
            operator=operator,
            quality=side_quality(verdict),
            document=document,
            checks=checks,
        )
