"""The one registry of tunable settings: name, environment variable, default and help.

The command line's help texts (``option_help``) and the README's settings table
(``markdown_table``; a test holds the README to it) are both drawn from ``SETTINGS``. Values are
read when asked for, never at import, so a test or a long-running process can change the
environment and see the change.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from impostor.errors import ConfigError

__all__ = ["SETTINGS", "Setting", "get", "markdown_table", "option_help"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One setting: its name, environment variable, default, help and the range a number may take."""

    name: str
    env: str
    default: str
    help: str
    kind: type = str
    low: float | None = None  # the smallest value that works, for a number
    high: float | None = None  # the largest that makes sense
    shown_default: str = ""  # the default as the README and --help say it, when not ``default``

    @property
    def default_text(self) -> str:
        """The default as the help shows it."""
        return self.shown_default or self.default


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "data_dir",
            "IMPOSTOR_DATA",
            str(PROJECT_ROOT.parent / "shared" / "data"),
            "Folder of real face data (faces-dev, lfw) used by tests and benchmarks.",
            shown_default="../shared/data",
        ),
        Setting(
            "max_pixels",
            "IMPOSTOR_MAX_PIXELS",
            "60000000",
            "Largest image accepted, in pixels; larger ones are refused before decoding.",
            int,
            low=1024,
            high=1000000000000.0,
        ),
        Setting(
            "max_file_mb",
            "IMPOSTOR_MAX_FILE_MB",
            "100",
            "Largest image, profile, pair list or certificate file read, in megabytes; only regular "
            "files are read.",
            float,
            low=0.001,
            high=1000000.0,
        ),
        Setting(
            "decode_memory_mb",
            "IMPOSTOR_DECODE_MEMORY_MB",
            "1024",
            "Most memory the images being decoded at once may take, in megabytes (one budget per "
            "process); a larger image is refused from its header, and one that does not fit beside "
            "those decoding waits.",
            float,
            low=16,
            high=10000000.0,
        ),
        Setting(
            "analysis_side",
            "IMPOSTOR_ANALYSIS_SIDE",
            "1600",
            "Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale while their longer side stays "
            "at least this many pixels.",
            int,
            low=64,
            high=100000,
        ),
        Setting(
            "rescue",
            "IMPOSTOR_RESCUE",
            "restored,tilted",
            "The extra steps of an exhaustive search (documents, data sets) after the CNN: "
            "restored (HOG, then the CNN, on a copy blurred to hide security lines, then on one "
            "enlarged and equalised), tilted (HOG on copies turned 10, 20 and 30 degrees each "
            "way); a comma-separated list, or none.",
        ),
        Setting(
            "detect_side",
            "IMPOSTOR_DETECT_SIDE",
            "640",
            "Faces are first looked for on a copy whose longer side is at most this many pixels.",
            int,
            low=64,
            high=100000,
        ),
        Setting(
            "profile",
            "IMPOSTOR_PROFILE",
            "",
            "Calibration profile (JSON) used when --profile is not given; empty for the shipped one.",
            shown_default="the shipped profile",
        ),
        Setting(
            "cache_dir",
            "IMPOSTOR_CACHE",
            "~/.cache/impostor",
            "Folder of the embedding cache used by benchmark and calibrate, and of the ONNX graphs "
            "of the face network and the CNN face detector (built there on first use).",
        ),
        Setting(
            "engine",
            "IMPOSTOR_ENGINE",
            "onnx",
            "What runs dlib's face network and CNN face detector: onnx (ONNX Runtime, graphs built "
            "from dlib's own weights files; ten to twenty times faster) or dlib (the reference).",
        ),
        Setting(
            "device",
            "IMPOSTOR_DEVICE",
            "auto",
            "Where the onnx engine runs: cpu, cuda (needs the gpu extra and an NVIDIA GPU), or auto "
            "(the GPU when ONNX Runtime has one, else the CPU).",
        ),
        Setting(
            "capture_seconds",
            "IMPOSTOR_CAPTURE_SECONDS",
            "2.0",
            "How long a camera or clip is watched for the best frame.",
            float,
            low=0.1,
            high=600,
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
        Setting(
            "station_db",
            "IMPOSTOR_STATION_DB",
            "~/.local/share/impostor/station.sqlite",
            "SQLite file of the counter station's operators and API keys (salted slow hashes only).",
        ),
        Setting(
            "csca",
            "IMPOSTOR_CSCA",
            "",
            "CSCA certificates (PEM or DER), a folder of them or an ICAO master list that a chip's "
            "signer must chain to; without it no chip is proven genuine (an alert).",
        ),
        Setting(
            "chip_reader",
            "IMPOSTOR_CHIP_READER",
            "",
            "The station's chip reader when --chip-reader is not given: its number (impostor chip "
            "readers) or part of its name; empty for none (the station reads no chips).",
        ),
        Setting(
            "debug",
            "IMPOSTOR_DEBUG",
            "",
            "Set to 1 to see the traceback of an internal error instead of its one-line message.",
        ),
    )
}


def option_help(name: str, text: str) -> str:
    """An option's help text that names the setting it falls back to and that setting's default."""
    setting = SETTINGS[name]
    return f"{text} (default: {setting.env}, else {setting.default_text})"


def markdown_table() -> str:
    """The README's table of settings, one row per setting, in registry order."""
    rows = ["| variable | default | range | meaning |", "| --- | --- | --- | --- |"]
    for setting in SETTINGS.values():
        text = setting.default_text
        default = "(unset)" if not text else text if " " in text else f"`{text}`"  # prose or a value
        span = "" if setting.low is None else f"{setting.low:g} to {setting.high:g}"
        rows.append(f"| `{setting.env}` | {default} | {span} | {setting.help} |")
    return "\n".join(rows)


def get(name: str) -> str | int | float:
    """The current value of setting ``name``, from its environment variable or its default.

    Numbers are checked: ``1e9`` is a fine way to write a whole number, but NaN, infinities,
    fractions where a whole number is needed and values outside the setting's range raise
    ``ConfigError`` naming the variable (a usage error, exit 2, at the command line).
    """
    setting = SETTINGS[name]
    raw = os.environ.get(setting.env, "").strip() or setting.default
    if setting.kind is str:
        return raw
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    expected = "a whole number" if setting.kind is int else "a number"
    if not math.isfinite(number) or (setting.kind is int and not number.is_integer()):
        raise ConfigError(f"{setting.env}={raw!r} is not {expected}: {setting.help}")
    low = setting.low if setting.low is not None else -math.inf
    high = setting.high if setting.high is not None else math.inf
    if not low <= number <= high:
        raise ConfigError(f"{setting.env}={raw!r} is out of range: give {expected} from {low:g} to {high:g}")
    return int(number) if setting.kind is int else number
