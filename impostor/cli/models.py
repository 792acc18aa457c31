"""``impostor models``: build the ONNX graphs of dlib's face network and CNN face detector ahead of
time, and check them against dlib."""

from __future__ import annotations

import time

import click

from impostor.cli.common import device_option, echo_json, reported

__all__ = ["models"]


@click.group()
def models() -> None:
    """The ONNX engine: dlib's face network and CNN face detector, built from dlib's own weights
    files and checked against dlib."""


@models.command("build")
@click.option("--force", is_flag=True, help="Build it again even when the cache holds it.")
def models_build(force: bool) -> None:
    """Build the ONNX graphs into the cache (IMPOSTOR_CACHE) now, not at the first comparison.

    For a counter PC being set up: the graphs are built from the weights files that ship in
    face_recognition_models (nothing is downloaded), each checked layer by layer.

    \b
    Example:
      impostor models build
    """
    from impostor.engine import mmod_onnx, resnet_onnx, weights

    for module, name in ((resnet_onnx, resnet_onnx.RESNET_FILE), (mmod_onnx, mmod_onnx.DETECTOR_FILE)):
        with reported():
            source = weights.model_path(name)
            started = time.perf_counter()
            path = module.graph_file(source, rebuild=force)
            took = time.perf_counter() - started
        click.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB) from {source.name}, in {took:.1f} s")


@models.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@device_option
def models_check(as_json: bool) -> None:
    """Run the ONNX engine and dlib on bundled faces; fail unless they agree.

    The embeddings must agree to 1e-5, and the CNN detector's boxes to a pixel and its
    confidences to 1e-3.

    \b
    Example:
      impostor models check
    """
    from impostor.errors import ModelFileError
    from impostor.qa.engines import (
        BOX_TOLERANCE,
        SCORE_TOLERANCE,
        TOLERANCE,
        compare_detectors,
        compare_engines,
    )

    with reported(as_json):
        check = compare_engines()
        if not check.agrees:
            raise ModelFileError(
                f"the ONNX engine differs from dlib by {check.max_difference:.2e} on {check.faces} faces "
                f"(tolerance {TOLERANCE:g}): run `impostor models build --force`, or IMPOSTOR_ENGINE=dlib"
            )
        detectors = compare_detectors()
        if not detectors.agrees:
            raise ModelFileError(
                f"the ONNX face detector differs from dlib's on {detectors.images} photos (boxes "
                f"{detectors.max_box_difference:g} px apart, confidences "
                f"{detectors.max_score_difference:.1e} apart, same number of faces: "
                f"{'yes' if detectors.same_count else 'no'}): run "
                "`impostor models build --force`, or IMPOSTOR_ENGINE=dlib"
            )
    if as_json:
        echo_json({**check.to_dict(), "detector": detectors.to_dict()})
        return
    click.echo(
        f"the engines agree on {check.faces} faces: largest difference {check.max_difference:.1e} "
        f"(tolerance {TOLERANCE:g}); ONNX {check.onnx_ms:.1f} ms a face on {check.provider}, "
        f"dlib {check.dlib_ms:.1f} ms"
    )
    click.echo(
        f"the CNN face detectors agree on {detectors.images} photos ({detectors.faces} faces): boxes within "
        f"{detectors.max_box_difference:g} px (tolerance {BOX_TOLERANCE:g}), confidences within "
        f"{detectors.max_score_difference:.1e} ({SCORE_TOLERANCE:g}); ONNX {detectors.onnx_ms:.0f} ms "
        f"an image, dlib {detectors.dlib_ms:.0f} ms"
    )
