"""The shared documents (``../shared/data/documents``): specimen pages, MRZ texts, chip files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def documents(data_dir: Path) -> Path:
    path = data_dir / "documents"
    if not (path / "images" / "ground_truth.json").is_file():
        pytest.fail(f"the shared documents are missing at {path}")
    return path


@pytest.fixture(scope="session")
def mrz_samples(documents: Path) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = json.loads((documents / "mrz" / "mrz_text_samples.json").read_text())[
        "samples"
    ]
    return samples


@pytest.fixture(scope="session")
def pages(documents: Path) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = json.loads((documents / "images" / "ground_truth.json").read_text())[
        "images"
    ]
    return images


@pytest.fixture(scope="session")
def chips(documents: Path) -> Path:
    return documents / "chip"
