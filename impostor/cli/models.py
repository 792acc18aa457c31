"""``impostor models``: build the face network's ONNX graph ahead of time, and check it against dlib."""

from __future__ import annotations

import time

import click

from impostor.cli.common import device_option, echo_json, reported

__all__ = ["models"]


@click.group()
def models() -> None:
    """The face network's ONNX engine: built from dlib's own weights file, checked against dlib."""


@models.command("build")
@click.option("--force", is_flag=True, help="Build it again even when the cache holds it.")
def models_build(force: bool) -> None:
    """Build the ONNX graph into the cache (IMPOSTOR_CACHE) now, not at the first comparison.

    For a counter PC being set up: the graph is built from the weights file that ships in
    face_recognition_models (nothing is downloaded), checked layer by layer.

    \b
    Example:
      impostor models build
    """
    from impostor import weights
    from impostor.resnet_onnx import RESNET_FILE, graph_file

    with reported():
        source = weights.model_path(RESNET_FILE)
        started = time.perf_counter()
        path = graph_file(source, rebuild=force)
        took = time.perf_counter() - started
    click.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB) from {source.name}, in {took:.1f} s")


@models.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@device_option
def models_check(as_json: bool) -> None:
    """Embed bundled faces with the ONNX engine and with dlib; fail unless they agree to 1e-5.

    \b
    Example:
      impostor models check
    """
    from impostor.engines import TOLERANCE, compare_engines
    from impostor.errors import ModelFileError

    with reported(as_json):
        check = compare_engines()
        if not check.agrees:
            raise ModelFileError(
                f"the ONNX engine differs from dlib by {check.max_difference:.2e} on {check.faces} faces "
                f"(tolerance {TOLERANCE:g}): run `impostor models build --force`, or IMPOSTOR_ENGINE=dlib"
            )
    if as_json:
        echo_json(check.to_dict())
        return
    click.echo(
        f"the engines agree on {check.faces} faces: largest difference {check.max_difference:.1e} "
        f"(tolerance {TOLERANCE:g}); ONNX {check.onnx_ms:.1f} ms a face on {check.provider}, "
        f"dlib {check.dlib_ms:.1f} ms"
    )
