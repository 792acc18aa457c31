"""Benchmark: do the station's refusals take the same time whatever exists? Side by side.

    uv run python bench/bench_oracles.py [--runs 20] [--json OUT]

Builds a station database in a temporary folder (one operator, one system's API key) and times,
interleaved round by round so that the machine's load falls on every case alike:

1. sign-ins with a wrong PIN: a known ID and an unknown ID, then both again once locked;
2. refused API keys: a wrong secret for an existing name, an unknown name, a key too short to
   be one, a text with no name at all.

Each case prints its median and p95 in ms and its ratio to the first case of its group; the
slow check (scrypt, ``impostor.hashing``) runs once in each, so every ratio should be near 1.
No data set is read. The tests hold the rule by counting the checks
(``tests/station/test_accounts.py``); this shows what it means in time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from impostor.station.accounts import LOCK_AFTER, Accounts

OPERATOR, PIN, WRONG_PIN = "BENCH-01", "482916", "000000"
UNKNOWN = "BENCH-99"
SYSTEM, UNKNOWN_SYSTEM = "gate-1", "gate-9"


def _ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _interleaved(cases: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Each case once per round, in turn; one untimed round first (the dummy hash is made then)."""
    for call in cases.values():
        call()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, call in cases.items():
            timings[name].append(_ms(call))
    return timings


def _print(title: str, timings: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    print(f"\n{title}")
    print(f"  {'case':<36}{'median ms':>10}{'p95 ms':>9}{'ratio':>8}")
    figures: dict[str, dict[str, float]] = {}
    reference = statistics.median(next(iter(timings.values())))
    for name, values in timings.items():
        median = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]
        figures[name] = {"median_ms": median, "p95_ms": p95, "ratio": median / reference}
        print(f"  {name:<36}{median:>10.1f}{p95:>9.1f}{median / reference:>8.2f}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="timed rounds of every case")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        accounts = Accounts(Path(folder) / "station.sqlite")
        accounts.add_operator(OPERATOR, PIN)
        key = accounts.add_key(SYSTEM)
        secret = key.split(".", 1)[1]
        now = datetime.now(UTC)

        def sign_in(operator: str) -> Callable[[], object]:
            return lambda: accounts.sign_in(operator, WRONG_PIN, now=now)

        # before any lock-out: a fresh ID every round, known or not
        known = [f"BENCH-K{i}" for i in range(args.runs + 1)]
        for name in known:
            accounts.add_operator(name, PIN)
        fresh_known, fresh_unknown = iter(known), (f"BENCH-U{i}" for i in range(args.runs + 1))
        before = _interleaved(
            {
                "known ID, wrong PIN": lambda: sign_in(next(fresh_known))(),
                "unknown ID": lambda: sign_in(next(fresh_unknown))(),
            },
            args.runs,
        )
        for _ in range(LOCK_AFTER):
            sign_in(OPERATOR)()
            sign_in(UNKNOWN)()
        locked = _interleaved(
            {"known ID, locked": sign_in(OPERATOR), "unknown ID, locked": sign_in(UNKNOWN)}, args.runs
        )
        keys = _interleaved(
            {
                "wrong secret, name exists": lambda: accounts.check_key(f"{SYSTEM}.{secret[::-1]}"),
                "name unknown": lambda: accounts.check_key(f"{UNKNOWN_SYSTEM}.{secret}"),
                "too short to be a key": lambda: accounts.check_key(f"{SYSTEM}.abc"),
                "no name": lambda: accounts.check_key(secret),
            },
            args.runs,
        )

    print(f"station refusals, {args.runs} rounds each, interleaved (ratio: to the group's first case)")
    figures = {
        "sign_in": _print("sign-in with a wrong PIN", before),
        "sign_in_locked": _print("sign-in once the ID is locked (no failure to count: no write)", locked),
        "api_key": _print("API key refused", keys),
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
