"""What every command shares: exit codes, one-line errors, shared options, small formatters."""

from __future__ import annotations

import getpass
import json
import math
import os
import shlex
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from impostor import errors, settings
from impostor.stages.detect import DETECTORS
from impostor.types import Decision

__all__ = [
    "DECISION_EXIT_CODES",
    "EXIT_CODES",
    "INTERNAL_ERROR",
    "FiniteRange",
    "audit_text",
    "command_line",
    "detector_option",
    "echo_json",
    "exit_code",
    "jitters_option",
    "login_name",
    "percent",
    "quiet_libraries",
    "reported",
    "usage_error",
]

DECISION_EXIT_CODES = {Decision.MATCH: 0, Decision.NO_MATCH: 1, Decision.REFER: 3}
USAGE_ERROR = 2  # click's own code for a bad option
INTERNAL_ERROR = 70

# the exit code of each error; a subclass not listed takes its nearest listed ancestor's
EXIT_CODES: dict[type[errors.ImpostorError], int] = {
    errors.ConfigError: USAGE_ERROR,
    errors.ImageNotFound: 4,
    errors.NotAnImage: 5,
    errors.InputError: 5,
    errors.ImageTooLarge: 6,
    errors.UnsupportedImage: 7,
    errors.CaptureError: 8,
    errors.ProfileError: 9,
    errors.OutputError: 10,
    errors.NoFaceFound: 11,
    errors.DatasetError: 12,
    errors.ClusterError: 13,
    errors.AuditError: 14,
    errors.PracticeError: 15,
    errors.WeakProfile: 16,
    errors.StationError: 17,
    errors.ModelFileError: 18,
    errors.DocumentError: 19,
    errors.ChipError: 20,
    errors.NoReader: 21,
    errors.CardAbsent: 22,
    errors.CardTimeout: 23,
    errors.AccessDenied: 24,
}


def exit_code(error: BaseException) -> int:
    """The documented exit code of an error: its class's, or its nearest ancestor's; 70 for a bug."""
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return INTERNAL_ERROR


# the detector choices a Verifier takes (impostor.stages.detect.DETECTORS); it checks the name once
detector_option = click.option(
    "--detector",
    type=click.Choice(DETECTORS),
    default="auto",
    show_default=True,
    help="Face detector (auto: HOG, then the CNN where HOG finds nothing).",
)
jitters_option = click.option(
    "--jitters",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="Average each embedding over N perturbed copies (slower).",
)


def _set_device(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    # the engine reads the ``device`` setting when it loads: the option is that setting, for
    # this command's process only
    if value is not None:
        os.environ[settings.SETTINGS["device"].env] = value
    return value


device_option = click.option(
    "--device",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_set_device,
    help=settings.option_help("device", "Where the ONNX engine runs"),
)


class FiniteRange(click.FloatRange):
    """A float range that refuses NaN and infinity, which ``click.FloatRange`` lets through
    (every comparison with NaN is false, so ``nan`` passes any bound)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The number ``value`` names, within the range and finite; fails the option otherwise."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


def debugging() -> bool:
    """Whether IMPOSTOR_DEBUG is set: an internal error then shows its traceback."""
    return bool(os.environ.get(settings.SETTINGS["debug"].env))


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Keep what libraries print (libpng and libjpeg warnings, OpenCV and ffmpeg logs, Pillow's
    Python warnings) off the terminal, so a command's own line is the only one; IMPOSTOR_DEBUG
    lets it through. Python's own writes to stderr (our messages, progress bars) still show.
    """
    if debugging():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    sink = tempfile.TemporaryFile()
    original = sys.stderr
    try:
        on_fd_2 = original.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a captured stream (tests): leave it be
        on_fd_2 = False
    os.dup2(sink.fileno(), 2)
    if on_fd_2:
        sys.stderr = open(saved, "w", encoding=original.encoding, errors="backslashreplace", closefd=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if on_fd_2:
            sys.stderr.flush()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        sink.close()


@contextmanager
def reported(as_json: bool = False) -> Iterator[None]:
    """Turn every error into one ``Type: message`` line and its exit code, never a traceback."""
    try:
        with quiet_libraries():
            yield
    except errors.ImpostorError as error:
        _fail(error, as_json)
    except (click.ClickException, click.exceptions.Exit):
        raise  # usage errors keep click's own message and exit code 2
    except KeyboardInterrupt:
        click.echo("Interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # ``impostor audit export | head``: the reader has all it wanted
        _quiet_broken_pipe()
    except Exception as error:  # a bug: one line (IMPOSTOR_DEBUG=1 shows the traceback)
        if debugging():
            raise
        _fail(error, as_json)


def _quiet_broken_pipe() -> NoReturn:
    # Python would complain again while flushing stdout at exit: point it at nothing first
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def usage_error(error: click.ClickException, as_json: bool) -> NoReturn:
    """A bad option or argument: one line (and JSON under --json), exit 2."""
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message += f" (see: {context.command_path} --help)"
    if as_json:
        click.echo(
            json.dumps({"error": {"type": "UsageError", "message": message, "exit_code": USAGE_ERROR}})
        )
    click.echo(f"UsageError: {message}", err=True)
    sys.exit(error.exit_code if error.exit_code else USAGE_ERROR)


def _fail(error: Exception, as_json: bool) -> NoReturn:
    code = exit_code(error)
    if isinstance(error, errors.ImpostorError):
        name, message = type(error).__name__, str(error)
    else:
        name, message = "InternalError", f"{type(error).__name__}: {error}"
    if as_json:
        click.echo(json.dumps({"error": {"type": name, "message": message, "exit_code": code}}))
    click.echo(f"{name}: {message}", err=True)
    sys.exit(code)


def tls_options(readable: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--certfile``, ``--keyfile`` and ``--insecure-http`` for a command that listens;
    ``readable`` says what plain HTTP would expose on the LAN (in the flag's help)."""

    file = click.Path(dir_okay=False, path_type=Path)
    plain = f"Serve plain HTTP beyond this machine ({readable} readable on the LAN)."

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option("--insecure-http", is_flag=True, help=plain)(command)
        command = click.option("--keyfile", type=file, help="TLS private key (PEM).")(command)
        return click.option("--certfile", type=file, help="TLS certificate (PEM).")(command)

    return add


def warn_plain_http(host: str, certfile: Path | None, insecure_http: bool, cost: str) -> None:
    """The loud line on every start that serves plain HTTP beyond this machine; ``cost`` says
    what that exposes."""
    from impostor.web.listen import is_loopback

    if insecure_http and certfile is None and not is_loopback(host):
        click.secho(
            f"WARNING: serving plain HTTP on {host}: {cost}",
            err=True,
            fg="red",
            bold=True,
        )


def command_line() -> str:
    """The command as a user would retype it: arguments, and options that differ from their defaults."""
    context = click.get_current_context()
    words = ["impostor"]
    if context.parent is not None and context.parent.parent is not None:  # a command of a group
        words.append(context.parent.info_name or "")
    words.append(context.info_name or "")
    for param in context.command.params:
        value = context.params.get(param.name or "")
        if isinstance(param, click.Argument):
            values = value if isinstance(value, tuple) else (value,)
            words += [shlex.quote(str(one)) for one in values]
        elif value not in (None, False, ()) and value != param.default:
            flag = param.opts[0]
            if value is True:
                words.append(flag)
            else:  # an option given several times is retyped several times
                words += [
                    f"{flag} {shlex.quote(str(one))}"
                    for one in (value if isinstance(value, tuple) else (value,))
                ]
    return " ".join(words)


def login_name() -> str:
    """The login user name, for the audit log's operator when none is given."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        raise click.UsageError("cannot tell the login user name: give --operator NAME") from None


def audit_text(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    """A click callback for an option the audit log keeps (``--operator``, ``--station``): no
    control or bidirectional-formatting character, refused before any work is done."""
    from impostor.records.audit import check_text

    try:
        return None if value is None else check_text(value, "the value")
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def percent(probability: float) -> str:
    """A probability for people: ``>99.9%``, ``<0.1%`` or one decimal."""
    if probability > 0.999:
        return ">99.9%"
    if probability < 0.001:
        return "<0.1%"
    return f"{probability:.1%}"


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, keeping non-ASCII letters as they are."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
