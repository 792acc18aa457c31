"""The settings registry is the one source: the README's table and the commands' help come from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from impostor import settings
from impostor.cli import main
from impostor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_table_is_the_registry() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = settings.markdown_table()
    assert table in readme, "README's settings table has drifted: paste settings.markdown_table() into it"
    assert readme.count("| `IMPOSTOR_") == len(settings.SETTINGS), (
        "a setting in the README is not in the registry"
    )


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        (["compare"], "audit_db"),
        (["compare"], "profile"),
        (["compare"], "capture_seconds"),
        (["quality"], "profile"),
        (["benchmark"], "cache_dir"),
        (["calibrate"], "cache_dir"),
        (["audit", "verify"], "audit_db"),
        (["practice", "serve"], "practice_db"),
        (["practice", "report"], "practice_db"),
    ],
)
def test_help_names_the_setting_an_option_falls_back_to(command: list[str], setting: str) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    entry = settings.SETTINGS[setting]
    assert entry.env in result.output and entry.default_text in result.output, result.output


def test_every_setting_is_read_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPOSTOR_DETECT_SIDE", "800")
    assert settings.get("detect_side") == 800
    monkeypatch.setenv("IMPOSTOR_DETECT_SIDE", "eight hundred")
    with pytest.raises(ConfigError, match="IMPOSTOR_DETECT_SIDE"):
        settings.get("detect_side")


def test_debug_shows_the_traceback_of_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """IMPOSTOR_DEBUG is a setting like the others: unset, a bug is one line and exit 70."""
    from impostor.cli.common import reported

    def broken() -> None:
        with reported():
            raise RuntimeError("a bug")

    with pytest.raises(SystemExit) as exited:
        broken()
    assert exited.value.code == 70
    monkeypatch.setenv(settings.SETTINGS["debug"].env, "1")
    with pytest.raises(RuntimeError, match="a bug"):
        broken()
