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


def read_json_file(path: Path, what: str, error: type[Exception], *, missing: str, limit: int) -> Any:
    """The JSON value in the file at ``path``, read within ``limit`` bytes.

    ``what`` names the kind of file in messages ("profile"); ``missing`` is what to say when
    there is no such file (where the shipped ones are). Every way a file can fail (absent, a
    folder or a pipe, too large, unreadable, not UTF-8, not JSON, nested too deeply) raises
    ``error`` with one line naming the file.
    """
    from impostor.files import FileTooLarge, NotARegularFile, read_bounded

    try:
        text = read_bounded(path, limit).decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file ({missing})") from None
    except (NotARegularFile, IsADirectoryError):
        raise error(f"{path}: is not a {what} file (a folder, a pipe or a device)") from None
    except FileTooLarge as exc:
        raise error(f"{path}: {exc.strerror}: not a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a JSON {what} (not UTF-8 text)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a {what}") from None
