"""The data files that ship inside the package (``impostor/data/``), read through
``importlib.resources`` so they are found the same way in a checkout and in an installed wheel."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["data_file", "read_text"]


def data_file(name: str) -> Traversable:
    """The shipped data file ``name`` (``"default_profile.json"``, ``"limits.json"``, ...)."""
    return resources.files("impostor").joinpath("data", name)


def read_text(name: str) -> str:
    """The text of a shipped data file, as UTF-8. Raises ``OSError`` when it is missing."""
    return data_file(name).read_text(encoding="utf-8")
