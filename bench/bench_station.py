"""Benchmark: the counter station over HTTP on loopback, beside plain face_recognition, in one run.

    uv run python bench/bench_station.py [--data DIR] [--runs 30] [--clients 4] [--requests 100]
                                         [--frames 50] [--json OUT]

Starts a station (``impostor.station.serve``, models warm, its databases in a temporary folder)
in a process of its own on a free 127.0.0.1 port, as a counter PC runs it, and prints four
figures, each beside the plain face_recognition pipeline measured in the same run (see
bench/README.md for what each one means):

1. ``POST /api/v1/verify`` of two phone-sized (4032 × 3024) JPEGs, warm: median and p95;
2. clients at once on the small samples: errors, verifications per second, latency, and
   whether every comparison was audited with the chain intact;
3. live guidance: a 640 × 480 JPEG frame to its instruction (``POST /counter/frame``);
4. no face: the comparison and the guidance frame when the live image has no face.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from bench_pipeline import PHONE_SIZE, PHONE_SOURCES, phone_photo, timed, verdict

import impostor
from impostor import settings
from impostor.pipeline.verifier import Verifier
from impostor.qa.baseline import face_recognition_module, plain_compare, plain_embedding
from impostor.records.audit import AuditLog
from impostor.station.accounts import Accounts

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

FRAME_SIZE = (640, 480)  # what the page sends for guidance (static/: FRAME_WIDTH, FRAME_QUALITY)
FRAME_QUALITY = 80
WARMUP_CALLS = 2
PLAIN_RUNS = 3  # the plain pipeline on phone-sized photos takes seconds a call
PLAIN_FRAME_RUNS = 5
NO_FACE_RUNS = 10
FACELESS_SHRINK = (16, 12)  # the faceless photo's detail: a blurred room, no face left in it
OPERATOR, PIN = "BENCH-01", "482916"

TARGET_VERIFY_MS = 250.0
TARGET_FRAME_MS = 120.0
TARGET_NO_FACE_RATIO = 2.0  # a faceless comparison, as a multiple of a normal one


@dataclass(frozen=True)
class Photos:
    """The bench's inputs: phone-sized JPEG files and 640 × 480 guidance frames (JPEG bytes)."""

    document: Path
    live: Path
    faceless: Path
    frame: bytes
    faceless_frame: bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared face data folder"
    )
    parser.add_argument("--runs", type=int, default=30, help="timed warm phone-sized verify calls")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients, one thread each")
    parser.add_argument("--requests", type=int, default=100, help="verify requests per client")
    parser.add_argument(
        "--frames", type=int, default=50, help="timed guidance frames, with and without a face"
    )
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for name, value in (("--runs", args.runs), ("--clients", args.clients), ("--requests", args.requests)):
        if value < 1:
            parser.error(f"{name} must be 1 or more, not {value}")
    if args.frames < 1:
        parser.error(f"--frames must be 1 or more, not {args.frames}")

    folder = args.data / "faces-dev"
    missing = [name for name in PHONE_SOURCES if not (folder / name).is_file()]
    if missing:
        print(
            f"no {missing[0]} in {folder}: pass --data (the shared data folder) or set IMPOSTOR_DATA",
            file=sys.stderr,
        )
        return 2

    figures: dict[str, Any] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="impostor-bench-station-") as scratch_dir:
        scratch = Path(scratch_dir)
        photos = make_photos(folder, scratch)
        config = {
            "accounts": str(scratch / "station.sqlite"),
            "audit_db": str(scratch / "audit.sqlite"),
            "station": "bench",
            "requests_per_minute": 100_000,  # the bench is one caller far above a real system's rate
            "operator_requests_per_minute": 100_000,
            "frames_per_minute": 100_000,
        }
        accounts = Accounts(Path(config["accounts"]))
        key = accounts.add_key("bench")
        accounts.add_operator(OPERATOR, PIN)
        verifier = Verifier(live_search="upright")  # the station's, for the in-process frame check
        profile = verifier.profile
        print(
            f"impostor {impostor.__version__} station over loopback against face_recognition,"
            f" {os.cpu_count()} cores"
        )
        print(f"profile {profile.name} {profile.version}")
        plain_embedding(SAMPLES / "live_genuine.jpg")  # imports face_recognition: its models load here
        with serve_in_process(config) as url:
            print(f"station at {url}\n")
            figures["verify"] = phone_verify(url, key, photos, args.runs)
            audit_db = Path(config["audit_db"])
            figures["concurrent"] = concurrent(url, key, audit_db, args.clients, args.requests)
            figures["guidance"] = guidance(url, verifier, photos, args.frames)
            figures["no_face"] = no_face(url, key, photos, figures, args.frames)

    summary(figures)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json_out}")
    return 0


# -- inputs and the server ---------------------------------------------------------------------


def make_photos(folder: Path, scratch: Path) -> Photos:
    """Two phone-sized photos of one person, a phone-sized photo without a face, and frames."""
    document = phone_photo(folder / PHONE_SOURCES[0], scratch / "document.jpg")
    live = phone_photo(folder / PHONE_SOURCES[1], scratch / "live.jpg")
    bgr = cv2.imread(str(live), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read back {live}")
    # the live photo's own colours and light with the person blurred out of it: shrunk to 16 × 12
    # and blown back up (at 40 × 30 both pipelines still find the face's blob), then a phone
    # sensor's grain, so it compresses and decodes like a real photo
    blurred = cv2.resize(cv2.resize(bgr, FACELESS_SHRINK, interpolation=cv2.INTER_AREA), PHONE_SIZE)
    grain = np.random.default_rng(7).normal(0.0, 3.0, blurred.shape)
    empty = np.clip(blurred + grain, 0, 255).astype(np.uint8)
    faceless = scratch / "faceless.jpg"
    cv2.imwrite(str(faceless), empty, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return Photos(document, live, faceless, frame_jpeg(bgr), frame_jpeg(empty))


def frame_jpeg(bgr: np.ndarray) -> bytes:
    """A 4:3 image as the page's guidance frame: 640 × 480, JPEG at the page's quality."""
    small = cv2.resize(bgr, FRAME_SIZE, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, FRAME_QUALITY])
    if not ok:
        raise SystemExit("cannot encode a guidance frame")
    return bytes(encoded)


# the station as `impostor station` runs it, with the bench's rates: a process of its own, so the
# clients' work here does not share its interpreter
LAUNCH = """
import json, sys
from pathlib import Path
from impostor.station.serve import serve
from impostor.station.service import StationConfig
given = json.loads(sys.argv[1])
config = StationConfig(**{k: Path(v) if k in ("accounts", "audit_db") else v for k, v in given.items()})
serve(config, host="127.0.0.1", port=int(sys.argv[2]))
"""


@contextmanager
def serve_in_process(config: dict[str, Any], start_within: float = 120.0) -> Iterator[str]:
    """Run a station with ``config`` (StationConfig's fields) on a free 127.0.0.1 port for the
    block; yields its base address once its health route answers (the models are then loaded)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", LAUNCH, json.dumps(config), str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_within
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the station did not start on port {port}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def verify_files(document: Path, live: Path) -> dict[str, tuple[str, bytes, str]]:
    kind = lambda path: "image/png" if path.suffix == ".png" else "image/jpeg"  # noqa: E731
    return {
        "document": (document.name, document.read_bytes(), kind(document)),
        "live": (live.name, live.read_bytes(), kind(live)),
    }


def post_ok(http: httpx.Client, path: str, files: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """POST ``files`` to ``path``; the reply's JSON and the milliseconds to it. Stops on a non-200."""
    reply, took = timed(http.post, path, files=files)
    if reply.status_code != 200:
        raise SystemExit(f"{path} answered {reply.status_code}: {reply.text[:300]}")
    return reply.json(), took


def api_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=300)


def plain_locations(frame: bytes) -> int:
    """What a plain script does to find the face box in a frame: decode, ``face_locations``
    (HOG upsampled once). Returns the number of faces found."""
    fr = face_recognition_module()
    return len(fr.face_locations(fr.load_image_file(io.BytesIO(frame))))


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def ms(value: float) -> float:
    return round(value, 1)


# -- 1. one comparison of phone-sized photos ---------------------------------------------------


def phone_verify(url: str, key: str, photos: Photos, runs: int) -> dict[str, Any]:
    """``runs`` warm ``POST /api/v1/verify`` of two phone-sized JPEGs, one after another."""
    body = verify_files(photos.document, photos.live)
    with api_client(url, key) as http:
        for _ in range(WARMUP_CALLS):
            first, _ = post_ok(http, "/api/v1/verify", body)
        ours = [post_ok(http, "/api/v1/verify", body)[1] for _ in range(runs)]
    plain_runs = [timed(plain_compare, photos.document, photos.live) for _ in range(PLAIN_RUNS)]
    plain = [took for _, took in plain_runs]
    result: dict[str, Any] = {
        "images": list(PHONE_SOURCES),
        "size": list(PHONE_SIZE),
        "bytes": [photos.document.stat().st_size, photos.live.stat().st_size],
        "decision": first["decision"],
        "distance": first["distance"],
        "ours_median_ms": ms(statistics.median(ours)),
        "ours_p95_ms": ms(p95(ours)),
        "ours_runs": runs,
        "ours_ms": [ms(took) for took in ours],
        "plain_median_ms": ms(statistics.median(plain)),
        "plain_runs": PLAIN_RUNS,
        "plain_distance": None if plain_runs[0][0] is None else round(plain_runs[0][0], 4),
        "speedup": round(statistics.median(plain) / statistics.median(ours), 2),
        "goal_ms": TARGET_VERIFY_MS,
        "met": statistics.median(ours) <= TARGET_VERIFY_MS,
    }
    print(
        f"1. POST /api/v1/verify of two {PHONE_SIZE[0]}×{PHONE_SIZE[1]} JPEGs"
        f" ({', '.join(PHONE_SOURCES)}), warm after {WARMUP_CALLS} calls"
    )
    print(
        f"   station over loopback  median {result['ours_median_ms']:7.0f} ms, p95"
        f" {result['ours_p95_ms']:5.0f} ms of {runs}  ({result['decision']}, distance {result['distance']})"
        f"  goal ≤ {TARGET_VERIFY_MS:.0f} ms {verdict(result['met'])}"
    )
    print(
        f"   plain, same pair       median {result['plain_median_ms']:7.0f} ms of {PLAIN_RUNS}"
        f" in process (distance {result['plain_distance']})  → station {result['speedup']:.1f}× faster"
    )
    return result


# -- 2. clients at once ------------------------------------------------------------------------


def concurrent(url: str, key: str, audit_db: Path | None, clients: int, requests: int) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, ``requests`` comparisons each, at once."""
    document = SAMPLES / "document.png"
    bodies = [verify_files(document, SAMPLES / name) for name in ("live_genuine.jpg", "live_impostor.jpg")]
    before = audit_count(audit_db)
    replies: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    refused: dict[int, str] = {}
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        with api_client(url, key) as http:
            http.get("/api/v1/health")  # the connection is open before the clock starts
            start.wait()
            for turn in range(requests):
                started = time.perf_counter()
                try:
                    reply = http.post("/api/v1/verify", files=bodies[(index + turn) % 2])
                    status = reply.status_code
                    if status != 200:
                        refused.setdefault(status, reply.text[:300])
                except httpx.HTTPError as error:
                    status = 0  # no reply at all
                    refused.setdefault(0, f"{type(error).__name__}: {error}")
                replies[index].append((status, (time.perf_counter() - started) * 1000))

    threads = [threading.Thread(target=client, args=(i,), name=f"bench-client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started

    every = [reply for one in replies for reply in one]
    statuses = Counter(status for status, _ in every)
    answered = statuses[200]
    latencies = [took for status, took in every if status == 200] or [float("nan")]
    errors = clients * requests - answered  # a client thread that died counts its missing requests
    after = audit_count(audit_db)
    with AuditLog(audit_db, create=False) as log:
        chain = log.verify()
    plain = [timed(plain_compare, document, SAMPLES / "live_genuine.jpg")[1] for _ in range(PLAIN_RUNS)]
    plain_ms = statistics.median(plain)
    result: dict[str, Any] = {
        "clients": clients,
        "requests_per_client": requests,
        "images": ["samples/document.png", "samples/live_genuine.jpg | samples/live_impostor.jpg"],
        "errors": errors,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "first_refusals": {str(status): text for status, text in refused.items()},
        "wall_s": round(wall, 2),
        "verifications_per_s": round(answered / wall, 2),
        "latency_median_ms": ms(statistics.median(latencies)),
        "latency_p95_ms": ms(p95(latencies)),
        "audited": after - before,
        "every_one_audited": after - before == answered,
        "chain_intact": chain.ok,
        "chain_problem": chain.problem,
        "plain_median_ms": ms(plain_ms),
        "plain_per_s_one_core": round(1000 / plain_ms, 2),
        "plain_runs": PLAIN_RUNS,
    }
    result["ratio"] = round(result["verifications_per_s"] / result["plain_per_s_one_core"], 2)
    print(
        f"\n2. {clients} clients × {requests} POST /api/v1/verify at once"
        " (samples/document.png against live_genuine.jpg and live_impostor.jpg in turn)"
    )
    print(
        f"   errors {errors} of {clients * requests} (goal 0) {verdict(errors == 0)}"
        + (f"  statuses {result['statuses']}" if errors else "")
    )
    for status, text in sorted(refused.items()):
        print(f"   first {status or 'failed'} reply: {text}")
    print(
        f"   {result['verifications_per_s']:.1f} verifications/s over {wall:.1f} s wall clock;"
        f" latency median {result['latency_median_ms']:.0f} ms, p95 {result['latency_p95_ms']:.0f} ms"
    )
    print(
        f"   audited {result['audited']} of {answered} answered: every one audited"
        f" {verdict(result['every_one_audited'])}, chain intact {verdict(chain.ok)}"
        + (f" ({chain.problem})" if not chain.ok else "")
    )
    print(
        f"   plain, same small pair median {plain_ms:.0f} ms of {PLAIN_RUNS} in process"
        f" → {result['plain_per_s_one_core']:.1f} verifications/s on one core;"
        f" station {result['ratio']:.1f}× that"
    )
    return result


def audit_count(path: Path | None) -> int:
    with AuditLog(path) as log:
        return log.verify().count


# -- 3. live guidance --------------------------------------------------------------------------


def guidance(url: str, verifier: Verifier, photos: Photos, frames: int) -> dict[str, Any]:
    """A 640 × 480 frame to its instruction over loopback, the check alone, and plain's HOG."""
    over_http, reply = frame_calls(url, photos.frame, frames)
    alone = [timed(verifier.check_frame, photos.frame, label="camera frame")[1] for _ in range(frames)]
    plain_runs = [timed(plain_locations, photos.frame) for _ in range(PLAIN_FRAME_RUNS)]
    plain = [took for _, took in plain_runs]
    result: dict[str, Any] = {
        "image": PHONE_SOURCES[1],
        "size": list(FRAME_SIZE),
        "bytes": len(photos.frame),
        "instruction": reply["instruction"],
        "passed": reply["passed"],
        "ours_median_ms": ms(statistics.median(over_http)),
        "ours_p95_ms": ms(p95(over_http)),
        "ours_runs": frames,
        "check_frame_median_ms": ms(statistics.median(alone)),
        "plain_median_ms": ms(statistics.median(plain)),
        "plain_faces": plain_runs[0][0],
        "plain_runs": PLAIN_FRAME_RUNS,
        "speedup": round(statistics.median(plain) / statistics.median(over_http), 2),
        "goal_ms": TARGET_FRAME_MS,
        "met": statistics.median(over_http) <= TARGET_FRAME_MS,
    }
    print(
        f"\n3. live guidance: a {FRAME_SIZE[0]}×{FRAME_SIZE[1]} JPEG frame"
        f" ({len(photos.frame) / 1000:.0f} kB) to its instruction"
    )
    print(
        f"   POST /counter/frame    median {result['ours_median_ms']:6.0f} ms, p95"
        f" {result['ours_p95_ms']:4.0f} ms of {frames}  ({reply['instruction']})"
        f"  goal ≤ {TARGET_FRAME_MS:.0f} ms {verdict(result['met'])}"
    )
    print(f"   Verifier.check_frame   median {result['check_frame_median_ms']:6.0f} ms in process")
    print(
        f"   plain face_locations   median {result['plain_median_ms']:6.0f} ms of {PLAIN_FRAME_RUNS}"
        f" in process ({result['plain_faces']} face(s))  → station {result['speedup']:.1f}× faster"
    )
    return result


def frame_calls(url: str, frame: bytes, calls: int) -> tuple[list[float], dict[str, Any]]:
    """``calls`` timed ``POST /counter/frame`` as a signed-in page would send them, after warm-up."""
    with httpx.Client(base_url=url, timeout=300) as http:
        signin = http.post("/counter/signin", json={"operator": OPERATOR, "pin": PIN})
        if signin.status_code != 200:
            raise SystemExit(f"/counter/signin answered {signin.status_code}: {signin.text[:300]}")
        body = {"frame": ("frame.jpg", frame, "image/jpeg")}
        for _ in range(WARMUP_CALLS):
            reply, _ = post_ok(http, "/counter/frame", body)
        return [post_ok(http, "/counter/frame", body)[1] for _ in range(calls)], reply


# -- 4. no face --------------------------------------------------------------------------------


def no_face(url: str, key: str, photos: Photos, figures: dict[str, Any], frames: int) -> dict[str, Any]:
    """The comparison and the guidance frame when the live image has no face, against with one."""
    with api_client(url, key) as http:
        calls = [
            post_ok(http, "/api/v1/verify", verify_files(photos.document, photos.faceless))
            for _ in range(NO_FACE_RUNS)
        ]
    ours = [took for _, took in calls]
    over_http, reply = frame_calls(url, photos.faceless_frame, frames)
    codes = calls[0][0]["reason_codes"]
    if "live_no_face" not in codes or reply["instruction"] != "face_camera":
        raise SystemExit(
            f"the faceless photo shows the station a face ({', '.join(codes)}; frame: "
            f"{reply['instruction']}): shrink FACELESS_SHRINK, figure 4 would not measure a missing face"
        )
    plain_distance, plain_ms = timed(plain_compare, photos.document, photos.faceless)
    plain_frame = [timed(plain_locations, photos.faceless_frame) for _ in range(PLAIN_FRAME_RUNS)]
    normal, with_face = figures["verify"]["ours_median_ms"], figures["guidance"]["ours_median_ms"]
    median = statistics.median(ours)
    result: dict[str, Any] = {
        "live_bytes": photos.faceless.stat().st_size,
        "decision": calls[0][0]["decision"],
        "reason_codes": codes,
        "verify_median_ms": ms(median),
        "verify_max_ms": ms(max(ours)),
        "verify_runs": NO_FACE_RUNS,
        "verify_ratio": round(median / normal, 2),
        "verify_goal_ratio": TARGET_NO_FACE_RATIO,
        "verify_met": median <= TARGET_NO_FACE_RATIO * normal,
        "frame_instruction": reply["instruction"],
        "frame_median_ms": ms(statistics.median(over_http)),
        "frame_runs": frames,
        "frame_met": statistics.median(over_http) <= with_face,
        "plain_verify_ms": ms(plain_ms),
        "plain_verify_runs": 1,
        "plain_found_faces": plain_distance is not None,
        "plain_frame_median_ms": ms(statistics.median([took for _, took in plain_frame])),
        "plain_frame_faces": plain_frame[0][0],
    }
    print(
        f"\n4. no face: the live photo blurred to {FACELESS_SHRINK[0]}×{FACELESS_SHRINK[1]} and back to"
        f" {PHONE_SIZE[0]}×{PHONE_SIZE[1]} with grain ({photos.faceless.stat().st_size / 1e6:.1f} MB)"
    )
    print(
        f"   POST /api/v1/verify    median {median:6.0f} ms, max {max(ours):5.0f} ms of {NO_FACE_RUNS}"
        f"  ({result['decision']}: {', '.join(result['reason_codes'])})"
        f"  {result['verify_ratio']:.2f}× a normal comparison ({normal:.0f} ms);"
        f" goal ≤ {TARGET_NO_FACE_RATIO:.0f}× {verdict(result['verify_met'])}"
    )
    print(
        f"   plain, same pair       {plain_ms:6.0f} ms, one run in process"
        f" ({'a face found' if plain_distance is not None else 'no face found'})"
    )
    print(
        f"   POST /counter/frame    median {result['frame_median_ms']:6.0f} ms of {frames}"
        f"  ({reply['instruction']}); with a face {with_face:.0f} ms;"
        f" goal no slower {verdict(result['frame_met'])}"
    )
    print(
        f"   plain face_locations   median {result['plain_frame_median_ms']:6.0f} ms of {PLAIN_FRAME_RUNS}"
        f" ({result['plain_frame_faces']} face(s))"
    )
    return result


# -- summary -----------------------------------------------------------------------------------


def summary(figures: dict[str, Any]) -> None:
    one, many, frame, empty = (figures[name] for name in ("verify", "concurrent", "guidance", "no_face"))
    rows = [
        (
            "verify, phone-sized, median ms",
            f"{one['ours_median_ms']:.0f}",
            f"{one['plain_median_ms']:.0f}",
            f"{one['speedup']:.1f}× faster",
            f"≤ {TARGET_VERIFY_MS:.0f}",
            verdict(one["met"]),
        ),
        ("verify, phone-sized, p95 ms", f"{one['ours_p95_ms']:.0f}", "", "", "", ""),
        (
            f"{many['clients']} clients: errors",
            str(many["errors"]),
            "",
            "",
            "0",
            verdict(many["errors"] == 0),
        ),
        (
            f"{many['clients']} clients: verifications/s",
            f"{many['verifications_per_s']:.1f}",
            f"{many['plain_per_s_one_core']:.1f}",
            f"{many['ratio']:.1f}×",
            "",
            "",
        ),
        (
            f"{many['clients']} clients: latency median / p95 ms",
            f"{many['latency_median_ms']:.0f} / {many['latency_p95_ms']:.0f}",
            f"{many['plain_median_ms']:.0f}",
            "",
            "",
            "",
        ),
        (
            f"{many['clients']} clients: audited / chain",
            f"{many['audited']} / {'intact' if many['chain_intact'] else 'BROKEN'}",
            "",
            "",
            "all / intact",
            verdict(many["every_one_audited"] and many["chain_intact"]),
        ),
        (
            "guidance frame, median ms",
            f"{frame['ours_median_ms']:.0f}",
            f"{frame['plain_median_ms']:.0f}",
            f"{frame['speedup']:.1f}× faster",
            f"≤ {TARGET_FRAME_MS:.0f}",
            verdict(frame["met"]),
        ),
        ("guidance frame, p95 ms", f"{frame['ours_p95_ms']:.0f}", "", "", "", ""),
        ("check_frame alone, median ms", f"{frame['check_frame_median_ms']:.0f}", "", "", "", ""),
        (
            "no face: verify, median ms",
            f"{empty['verify_median_ms']:.0f}",
            f"{empty['plain_verify_ms']:.0f}",
            f"{empty['verify_ratio']:.2f}× normal",
            f"≤ {TARGET_NO_FACE_RATIO:.0f}× normal",
            verdict(empty["verify_met"]),
        ),
        (
            "no face: guidance frame, median ms",
            f"{empty['frame_median_ms']:.0f}",
            f"{empty['plain_frame_median_ms']:.0f}",
            "",
            f"≤ {frame['ours_median_ms']:.0f}",
            verdict(empty["frame_met"]),
        ),
    ]
    header = ("figure", "station", "plain", "ratio", "goal", "")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print("\nsummary (station over loopback; plain face_recognition in process, one core)")
    for row in [header, *rows]:
        numbers = [f"{cell:>{width}}" for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
        print("   " + "  ".join([f"{row[0]:<{widths[0]}}", *numbers, row[-1]]).rstrip())


if __name__ == "__main__":
    sys.exit(main())
