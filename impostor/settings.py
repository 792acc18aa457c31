"""The one registry of tunable settings: name, environment variable, default and help.

The CLI's options and the README's settings table are both drawn from ``SETTINGS``. Values are
read when asked for, never at import, so a test or a long-running process can change the
environment and see the change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SETTINGS", "Setting", "get"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    kind: type = str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "data_dir",
            "IMPOSTOR_DATA",
            str(PROJECT_ROOT.parent / "shared" / "data"),
            "Folder of real face data (faces-dev, lfw) used by tests and benchmarks.",
        ),
        Setting(
            "max_pixels",
            "IMPOSTOR_MAX_PIXELS",
            "60000000",
            "Largest image accepted, in pixels; larger ones are refused before decoding.",
            int,
        ),
        Setting(
            "analysis_side",
            "IMPOSTOR_ANALYSIS_SIDE",
            "1600",
            "Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale while their longer side stays "
            "at least this many pixels.",
            int,
        ),
        Setting(
            "detect_side",
            "IMPOSTOR_DETECT_SIDE",
            "640",
            "Faces are first looked for on a copy whose longer side is at most this many pixels.",
            int,
        ),
        Setting(
            "profile",
            "IMPOSTOR_PROFILE",
            "",
            "Calibration profile (JSON) used when --profile is not given; empty for the shipped one.",
        ),
        Setting(
            "cache_dir",
            "IMPOSTOR_CACHE",
            "~/.cache/impostor",
            "Folder of the embedding cache used by benchmark and calibrate.",
        ),
        Setting(
            "capture_seconds",
            "IMPOSTOR_CAPTURE_SECONDS",
            "2.0",
            "How long a camera or clip is watched for the best frame.",
            float,
        ),
        Setting(
            "audit_db",
            "IMPOSTOR_AUDIT_DB",
            "~/.local/share/impostor/audit.sqlite",
            "SQLite file of the hash-chained audit trail of decisions.",
        ),
        Setting(
            "practice_db",
            "IMPOSTOR_PRACTICE_DB",
            "~/.local/share/impostor/practice.sqlite",
            "SQLite file of trainees' practice sessions and answers.",
        ),
    )
}


def get(name: str) -> str | int | float:
    """The current value of setting ``name``, from its environment variable or its default."""
    setting = SETTINGS[name]
    raw = os.environ.get(setting.env, "") or setting.default
    try:
        return setting.kind(raw)
    except ValueError:
        from impostor.errors import ImpostorError

        raise ImpostorError(
            f"{setting.env}={raw!r} is not a valid {setting.kind.__name__}: {setting.help}"
        ) from None
