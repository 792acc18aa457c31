"""The station's accounts: PINs and keys kept only as salted slow hashes, a lock-out after wrong
PINs, and the two commands that add them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.errors import StationError
from impostor.hashing import check_secret, hash_secret
from impostor.station.accounts import LOCK_AFTER, LOCK_FOR, Accounts, SignIn


def test_a_secret_checks_only_against_its_own_salted_hash() -> None:
    first, second = hash_secret("4821"), hash_secret("4821")
    assert first != second and first.startswith("scrypt$16384$8$1$")  # salted: never the same twice
    assert check_secret("4821", first) and check_secret("4821", second)
    assert not check_secret("4822", first)
    assert not check_secret("4821", "scrypt$broken") and not check_secret("4821", "md5$x$y$z$a$b")


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    return Accounts(tmp_path / "station.sqlite")


def test_an_operator_signs_in_with_the_right_pin_only(accounts: Accounts) -> None:
    accounts.add_operator("OFC-0042", "4821")
    assert accounts.sign_in("OFC-0042", "4821").outcome is SignIn.OK
    assert accounts.sign_in("OFC-0042", "1234").outcome is SignIn.WRONG
    assert accounts.sign_in("OFC-9999", "4821").outcome is SignIn.WRONG  # unknown: the same answer
    assert accounts.operators() == ["OFC-0042"]


def test_repeated_wrong_pins_lock_the_id_for_a_while(accounts: Accounts) -> None:
    accounts.add_operator("OFC-0042", "4821")
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for attempt in range(LOCK_AFTER - 1):
        assert accounts.sign_in("OFC-0042", "0000", now=start).outcome is SignIn.WRONG, attempt
    locked = accounts.sign_in("OFC-0042", "0000", now=start)
    assert locked.outcome is SignIn.LOCKED and locked.locked_until == start + LOCK_FOR
    # while locked even the right PIN is refused
    assert accounts.sign_in("OFC-0042", "4821", now=start + LOCK_FOR / 2).outcome is SignIn.LOCKED
    assert (
        accounts.sign_in("OFC-0042", "4821", now=start + LOCK_FOR + timedelta(seconds=1)).outcome is SignIn.OK
    )


def test_names_and_pins_are_checked(accounts: Accounts) -> None:
    accounts.add_operator("Ñuñez.Peña-01", "4821")  # letters such as ñ are letters
    for bad in ("", "x" * 41, "OFC 1", "<script>", "-dash"):
        with pytest.raises(StationError, match="operator ID"):
            accounts.add_operator(bad, "4821")
    with pytest.raises(StationError, match="at least 4"):
        accounts.add_operator("OFC-1", "12")
    with pytest.raises(StationError, match="--replace"):
        accounts.add_operator("Ñuñez.Peña-01", "9999")
    accounts.add_operator("Ñuñez.Peña-01", "9999", replace=True)
    assert accounts.sign_in("Ñuñez.Peña-01", "9999").outcome is SignIn.OK


def test_an_api_key_names_its_system_and_only_its_hash_is_kept(accounts: Accounts) -> None:
    key = accounts.add_key("gate-3")
    assert key.startswith("gate-3.") and accounts.check_key(key) == "gate-3"
    assert accounts.check_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert accounts.check_key("gate-4." + key.split(".", 1)[1]) is None
    assert accounts.check_key("nonsense") is None
    with sqlite3.connect(accounts.path) as raw:
        stored = " ".join(str(cell) for row in raw.execute("SELECT * FROM api_keys") for cell in row)
    assert key.split(".", 1)[1] not in stored


def test_a_remembered_key_stops_working_once_replaced_elsewhere(accounts: Accounts) -> None:
    old = accounts.add_key("reader-1")
    assert accounts.check_key(old) == accounts.check_key(old) == "reader-1"  # the second from memory
    assert accounts.check_key(old[:-1] + ("A" if old[-1] != "A" else "B")) is None
    new = Accounts(accounts.path).add_key("reader-1", replace=True)  # another process: the command
    assert accounts.check_key(old) is None and accounts.check_key(new) == "reader-1"


def test_another_sqlite_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE records (seq INTEGER)")
    with pytest.raises(StationError, match="not a station database"):
        Accounts(other)


def test_the_commands_ask_for_the_pin_twice_and_show_a_key_once(tmp_path: Path) -> None:
    db = tmp_path / "station.sqlite"
    added = CliRunner().invoke(
        main, ["station", "add-operator", "OFC-0042", "--db", str(db)], input="4821\n4821\n"
    )
    assert added.exit_code == 0, added.output
    assert "4821" not in added.stdout  # the PIN is never echoed
    assert Accounts(db).sign_in("OFC-0042", "4821").outcome is SignIn.OK
    mismatch = CliRunner().invoke(
        main, ["station", "add-operator", "OFC-7", "--db", str(db)], input="4821\n4822\n4821\n4821\n"
    )
    assert mismatch.exit_code == 0 and "OFC-7" in Accounts(db).operators()
    issued = CliRunner().invoke(main, ["station", "add-key", "gate-3", "--db", str(db)])
    assert issued.exit_code == 0, issued.output
    key = issued.stdout.strip()
    assert Accounts(db).check_key(key) == "gate-3" and "shown this once" in issued.stderr
    again = CliRunner().invoke(main, ["station", "add-key", "gate-3", "--db", str(db)])
    assert again.exit_code == 17 and again.stderr.startswith("StationError: ")
    assert key.split(".", 1)[1] not in db.read_bytes().decode("latin-1")


def test_an_unknown_id_locks_like_a_known_one(accounts: Accounts) -> None:
    """The replies must not tell which IDs exist: five wrong PINs lock any ID for a while."""
    outcomes = [accounts.sign_in("OFC-NOBODY", "0000").outcome for _ in range(LOCK_AFTER + 1)]
    assert outcomes == [SignIn.WRONG] * (LOCK_AFTER - 1) + [SignIn.LOCKED, SignIn.LOCKED]


class _CountedCheck:
    """The real slow check, counted: how many scrypt runs a sign-in or a key cost."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, secret: str, stored: str) -> bool:
        self.calls += 1
        return check_secret(secret, stored)


def _checks(counted: _CountedCheck, attempt: Callable[[], object]) -> int:
    before = counted.calls
    attempt()
    return counted.calls - before


def _writes(path: Path) -> int:
    """SQLite's file change counter: one more for every transaction that wrote to the file."""
    return int.from_bytes(path.read_bytes()[24:28], "big")


def test_every_sign_in_costs_one_slow_check_whatever_exists(tmp_path: Path) -> None:
    """An ID that exists, one that does not, either locked: the same scrypt, so the same time."""
    counted = _CountedCheck()
    accounts = Accounts(tmp_path / "station.sqlite", check=counted)
    accounts.add_operator("OFC-0042", "4821")
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    costs = {
        "right PIN": _checks(counted, lambda: accounts.sign_in("OFC-0042", "4821", now=start)),
        "wrong PIN": _checks(counted, lambda: accounts.sign_in("OFC-0042", "0000", now=start)),
        "unknown ID": _checks(counted, lambda: accounts.sign_in("OFC-NOBODY", "0000", now=start)),
    }
    for _ in range(LOCK_AFTER):
        accounts.sign_in("OFC-0042", "0000", now=start)
        accounts.sign_in("OFC-NOBODY", "0000", now=start)
    costs["known ID, locked"] = _checks(counted, lambda: accounts.sign_in("OFC-0042", "0000", now=start))
    costs["unknown ID, locked"] = _checks(counted, lambda: accounts.sign_in("OFC-NOBODY", "0000", now=start))
    assert accounts.sign_in("OFC-0042", "4821", now=start).outcome is SignIn.LOCKED
    assert accounts.sign_in("OFC-NOBODY", "4821", now=start).outcome is SignIn.LOCKED
    assert costs == dict.fromkeys(costs, 1)


def test_a_wrong_pin_costs_the_same_writes_whatever_exists(accounts: Accounts) -> None:
    """A known ID's wrong PIN is counted in the file: an unknown ID's must write as much."""
    accounts.add_operator("OFC-0042", "4821")
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    writes = {}
    for operator in ("OFC-0042", "OFC-NOBODY"):
        before = _writes(accounts.path)
        assert accounts.sign_in(operator, "0000", now=start).outcome is SignIn.WRONG
        writes[operator] = _writes(accounts.path) - before
    for _ in range(LOCK_AFTER):
        accounts.sign_in("OFC-0042", "0000", now=start)
        accounts.sign_in("OFC-NOBODY", "0000", now=start)
    for operator in ("OFC-0042", "OFC-NOBODY"):
        before = _writes(accounts.path)
        assert accounts.sign_in(operator, "0000", now=start).outcome is SignIn.LOCKED
        writes[f"{operator}, locked"] = _writes(accounts.path) - before
    assert writes == {"OFC-0042": 1, "OFC-NOBODY": 1, "OFC-0042, locked": 0, "OFC-NOBODY, locked": 0}


def test_every_refused_key_costs_one_slow_check_whatever_exists(tmp_path: Path) -> None:
    counted = _CountedCheck()
    accounts = Accounts(tmp_path / "station.sqlite", check=counted)
    key = accounts.add_key("gate-3")
    secret = key.split(".", 1)[1]
    refused = {
        "wrong secret, name exists": "gate-3." + secret[::-1],
        "name unknown": "gate-9." + secret,
        "secret too short": "gate-3.abc",
        "no name": secret,
        "empty": "",
    }
    costs = {what: _checks(counted, partial(accounts.check_key, sent)) for what, sent in refused.items()}
    assert costs == dict.fromkeys(refused, 1)
    assert all(accounts.check_key(sent) is None for sent in refused.values())
    assert _checks(counted, lambda: accounts.check_key(key)) == 1  # the first time it passes
    assert _checks(counted, lambda: accounts.check_key(key)) == 0  # remembered: the e-gate's every call


def test_a_piped_pin_is_read_without_a_warning(tmp_path: Path) -> None:
    """``printf '%s\\n' "$PIN" | impostor station add-operator ID``: one line, no GetPassWarning."""
    import subprocess

    from tests.servers import IMPOSTOR

    db = tmp_path / "station.sqlite"

    def add(operator: str, piped: str) -> subprocess.CompletedProcess[str]:
        arguments = [str(IMPOSTOR), "station", "add-operator", operator, "--db", str(db)]
        return subprocess.run(arguments, input=piped, capture_output=True, text=True, timeout=60)

    added = add("OFC-0042", "482916\n")
    assert added.returncode == 0, added.stderr
    assert "Warning" not in added.stderr and "482916" not in added.stdout + added.stderr
    assert Accounts(db).sign_in("OFC-0042", "482916").outcome is SignIn.OK
    empty = add("OFC-0043", "")
    assert empty.returncode == 2 and empty.stderr.startswith("UsageError: no PIN on standard input")
    with (tmp_path / "zero").open("wb") as endless:  # `< /dev/zero`: one line that never ends
        endless.write(b"\0" * 100_000)
    with (tmp_path / "zero").open() as stream:
        arguments = [str(IMPOSTOR), "station", "add-operator", "OFC-0044", "--db", str(db)]
        flood = subprocess.run(arguments, stdin=stream, capture_output=True, text=True, timeout=60)
    assert flood.returncode == 2 and "over 256 characters" in flood.stderr


def test_a_flood_of_invented_ids_leaves_no_lock_behind_and_unlocks_no_one(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "station.sqlite", check=lambda pin, stored: False, max_unknown=20)
    now = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    for _ in range(LOCK_AFTER):
        accounts.sign_in("OFC-GHOST", "0000", now=now)
    assert accounts.sign_in("OFC-GHOST", "0000", now=now).outcome is SignIn.LOCKED
    for n in range(50):  # more invented IDs than the accounts remember
        assert accounts.sign_in(f"OFC-{n:04d}", "0000", now=now).outcome is SignIn.WRONG
    assert accounts.sign_in("OFC-GHOST", "0000", now=now).outcome is SignIn.LOCKED  # still, as a real ID
    assert not accounts._checking  # one lock per ID only while its sign-in runs
