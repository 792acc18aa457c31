"""JSON for what users keep: plain values only, and files written whole or not at all.

Every JSON file impostor writes (profiles, reports, practice sets) goes through ``to_json`` so
that NaN never reaches a file as the non-standard ``NaN`` token and numpy values never make
``json`` fail.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["jsonable", "to_json", "write_json"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: dataclasses and named tuples become objects, NaN and
    infinities null, numpy values Python ones, and anything else its ``str()``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    elif isinstance(value, tuple) and hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # a numpy array or scalar
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Standard JSON text of ``jsonable(value)``, UTF-8 characters kept, ending in a newline."""
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(value: Any, path: str | Path) -> Path:
    """Write ``value`` as JSON to ``path`` atomically (a reader never sees half a file).

    Raises ``OSError`` when the folder cannot be written; the caller names the error.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(to_json(value))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
