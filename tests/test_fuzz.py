"""The loader under a few thousand mutated images of every format: nothing escapes the catalogue.

The fuzzer is bench/fuzz_loader.py (seeded, so a failure reproduces); here it runs briefly in a
child process, where a crash of a decoder is an exit code rather than the end of the test run.
The long run (100,000 inputs) and its result are in the README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mutated_images_end_in_the_catalogue_or_are_read(tmp_path: Path) -> None:
    out = tmp_path / "fuzz.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz_loader.py"), "--inputs", "3000", "--seed", "7"]
        + ["--seconds", "90", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), f"the fuzzer died (exit {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result["escapes"] == 0, result["first_escapes"]
    assert result["inputs"] >= 1000, result  # bounded in time, but enough to mean something
    assert result["outcomes"].get("read", 0) > 0 and result["outcomes"].get("NotAnImage", 0) > 0
