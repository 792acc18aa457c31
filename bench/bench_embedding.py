"""Benchmark: images per second, LFW-size (250 × 250) photos to embeddings, ours against plain.

    uv run python bench/bench_embedding.py [--data DIR] [--images 300] [--json OUT]

Takes the first ``--images`` photos of LFW in folder order and, warm and interleaved image by
image, times:

- whole image: decode, detect, landmarks, align, embed (``Verifier.analyse``, with the LFW
  rule of the face nearest the centre) against ``load_image_file`` + ``face_locations`` +
  ``face_encodings`` (first face);
- embedding given the face box: landmarks, chip and ResNet only, for both, on the box each
  pipeline found. The two pipelines share the network (dlib's ResNet, with dlib's own weights);
  ours runs it in ONNX Runtime (``IMPOSTOR_ENGINE=dlib`` runs dlib itself, where the ratio sits
  near 1).

Goals: whole image at least 4×, embedding given the box at least 6×.

Then the engine alone: faces per second of the ONNX graph on the CPU (one thread, as a station
runs it) in batches of 1, 8 and 32 chips, and on the GPU with the same batches where ONNX
Runtime has CUDA (the ``gpu`` extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import impostor
from impostor import settings
from impostor.qa.baseline import face_recognition_module, plain_embedding
from impostor.stages.align import align, find_landmarks

TARGETS = {"whole_image": 4.0, "embedding_given_box": 6.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared face data folder"
    )
    parser.add_argument("--images", type=int, default=300, help="how many LFW photos, in folder order")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    root = args.data / "lfw" / "lfw"
    if not root.is_dir():
        print(
            f"no LFW images at {root}: pass --data (the shared data folder) or set IMPOSTOR_DATA",
            file=sys.stderr,
        )
        return 2
    paths = first_images(root, args.images)
    for path in paths:
        path.read_bytes()  # both pipelines then read from the page cache

    fr = face_recognition_module()
    verifier = impostor.Verifier(pick="central")
    verifier.analyse(paths[0])
    plain_embedding(paths[0])

    whole_ours, whole_plain, stage_ours, stage_plain = [], [], [], []
    lost_ours = lost_plain = 0
    gaps: list[float] = []
    for path in paths:
        started = time.perf_counter()
        side = verifier.analyse(path)
        whole_ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        vector = plain_embedding(path)
        whole_plain.append(time.perf_counter() - started)
        lost_ours += side.face is None
        lost_plain += vector is None
        if side.face is not None:
            pixels = side.image.pixels
            started = time.perf_counter()
            verifier.embedder.embed([align(pixels, find_landmarks(pixels, side.face.box))])
            stage_ours.append(time.perf_counter() - started)
        if vector is not None:
            image = fr.load_image_file(str(path))
            location = fr.face_locations(image)[:1]
            started = time.perf_counter()
            fr.face_encodings(image, location)
            stage_plain.append(time.perf_counter() - started)
        if side.face is not None and vector is not None:
            gaps.append(float(np.linalg.norm(side.face.embedding - vector)))

    figures: dict[str, Any] = {
        "images": len(paths),
        "first": str(paths[0].relative_to(root)),
        "last": str(paths[-1].relative_to(root)),
        "whole_image": rates(whole_ours, whole_plain),
        "embedding_given_box": rates(stage_ours, stage_plain),
        "fta": {"ours": lost_ours, "plain": lost_plain},
        "embedding_gap_median": round(statistics.median(gaps), 4) if gaps else None,
    }
    print(f"LFW, {len(paths)} photos of 250×250 ({figures['first']} … {figures['last']}), warm, one thread\n")
    engine = getattr(verifier.embedder, "engine", "?")
    print(f"   {'images per second':30}{'plain':>8}{'impostor':>10}{'ratio':>8}   goal (engine: {engine})")
    for label, key in (
        ("whole image → embedding", "whole_image"),
        ("embedding given the face box", "embedding_given_box"),
    ):
        row = figures[key]
        met = "[met]" if row["ratio"] >= TARGETS[key] else "[NOT MET]"
        print(
            f"   {label:30}{row['plain_per_s']:8.1f}{row['ours_per_s']:10.1f}{row['ratio']:7.2f}×"
            f"   ≥ {TARGETS[key]:g}× {met}"
        )
    print(f"\n   no face found: plain {lost_plain}, impostor {lost_ours} of {len(paths)}")
    if gaps:
        print(f"   same photo, our embedding vs plain: median distance {figures['embedding_gap_median']:.3f}")
    chips = [
        align(side.image.pixels, find_landmarks(side.image.pixels, side.face.box))
        for side in (verifier.analyse(path) for path in paths[:32])
        if side.face is not None
    ]
    figures["engine"] = engine_rates(chips)
    print("\n   the ONNX graph alone, faces per second by batch size")
    for device, rows in figures["engine"].items():
        cells = "  ".join(f"batch {batch}: {rate:6.1f}" for batch, rate in rows.items())
        print(f"   {device:5} {cells}")
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json_out}")
    return 0


def engine_rates(
    chips: list[np.ndarray], batches: tuple[int, ...] = (1, 8, 32)
) -> dict[str, dict[int, float]]:
    """Faces per second of the ONNX graph alone on each device ONNX Runtime has, by batch size."""
    import onnxruntime

    from impostor.engine.resnet_onnx import RESNET_FILE, graph_file
    from impostor.engine.weights import model_path

    graph = str(graph_file(model_path(RESNET_FILE)))
    planes = np.stack(chips).astype(np.float32)
    devices = {"cpu": ["CPUExecutionProvider"]}
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        devices["cuda"] = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    rates: dict[str, dict[int, float]] = {}
    for device, providers in devices.items():
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(graph, options, providers=providers)
        rates[device] = {}
        for batch in batches:
            block = np.ascontiguousarray(np.resize(planes, (batch, *planes.shape[1:])))
            session.run(None, {"chips": block})  # warm
            runs = max(1, 64 // batch)
            started = time.perf_counter()
            for _ in range(runs):
                session.run(None, {"chips": block})
            rates[device][batch] = round(runs * batch / (time.perf_counter() - started), 1)
    return rates


def first_images(root: Path, count: int) -> list[Path]:
    """The first ``count`` JPEGs of LFW, walking its person folders in name order."""
    found: list[Path] = []
    for person in sorted(p for p in root.iterdir() if p.is_dir()):
        found.extend(sorted(person.glob("*.jpg")))
        if len(found) >= count:
            break
    if not found:
        raise SystemExit(f"no JPEGs under {root}")
    return found[:count]


def rates(ours_s: list[float], plain_s: list[float]) -> dict[str, float]:
    ours_rate, plain_rate = len(ours_s) / sum(ours_s), len(plain_s) / sum(plain_s)
    return {
        "ours_per_s": round(ours_rate, 2),
        "plain_per_s": round(plain_rate, 2),
        "ratio": round(ours_rate / plain_rate, 2),
    }


if __name__ == "__main__":
    sys.exit(main())
