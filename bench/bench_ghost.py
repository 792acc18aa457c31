"""Benchmark: ghost images on data pages, found and compared with the main portrait.

    uv run python bench/bench_ghost.py [--data DIR] [--pages 60] [--baseline CLONE] [--json OUT]

Pages are printed with ``impostor.printing.render_page`` from LFW photos: a TD3 page at 300 dpi
whose ghost image is plainly visible (pale, 196-351 px wide, its darkest tones at 25-50% of the
portrait's), beside the MRZ or beside the main portrait, sometimes under the page's security
lines too, under the document benchmark's wears (clean, card, worn: scan grain, JPEG, a slight
tilt). Two halves of different people and seeds (``bench/lfw_people.py``): a tuning half from
View 1's people, on which the search was tuned, and a held-out half from the people only View 2
holds, on which it is reported. Each half also has pages printed without a ghost and pages
whose ghost is another person's (a forgery, which must be found and differ).

Each page is read whole (``impostor.document.read_document``, as the command line reads it):

- **found**: a secondary image whose centre lies inside the printed ghost;
- **compared**: found, and its finding is not ``ghost_differs`` or ``ghost_unchecked`` (the
  ghost's face embedded and close to the main portrait's); ``matches``: ``ghost_matches``;
- **false ghosts**: secondary images anywhere else, on ghost-free pages and beside the ghost,
  and ``ghost_differs`` alerts where the ghost is the holder's; the 34 shared specimen pages
  are read too (their four ghosts are known);
- **another's ghost**: found and ``ghost_differs``;
- **compared with page.ghost_crop**: the same, comparing the ghost as ``reading.py`` would with
  ``page.ghost_crop`` and the face found on the page (a change proposed there), where this
  version has it;
- pages the reader turned: the rendered MRZ is no OCR-B, and on some pages the reader reads an
  MRZ turned and turns the upright page, where no portrait is then found; the figures on the
  pages it kept upright are given apart;
- the time per page (the portrait search and the ghosts' comparison, and the whole read), but
  before and after run one after the other on shared cores: compare them with care.

``--baseline CLONE`` reads the same pages with the code of another work tree (e.g.
``git clone -q /work/main /tmp/jbase``) in a child process, for before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from impostor import settings
from impostor.types import FaceBox

HALVES = ("tuning", "held-out")
WEAR_CYCLE = ("clean", "card", "worn")
GHOST_WIDTHS = (196, 351)  # px on a 300 dpi page, the range
GHOST_STRENGTHS = (0.25, 0.5)  # pale: a quarter to half of the portrait's contrast
SEEDS = {"tuning": 25_001, "held-out": 25_002}
COMPARED = ("ghost_matches", "ghost_unconfirmed")  # the ghost's face embedded, and not another's


def td3_mrz(person: str, rng: np.random.Generator) -> tuple[str, str]:
    """A valid TD3 MRZ of ICAO's specimen state for ``person`` (an LFW folder name), so that the
    reader reads the page upright as it would a real one."""
    from impostor.document.mrz import check_digit

    names = [
        "".join(c for c in part.upper() if "A" <= c <= "Z") for part in person.replace("-", "_").split("_")
    ]
    first = f"P<UTO{names[-1]}<<{'<'.join(names[:-1])}"[:44].ljust(44, "<")
    number = (
        "".join(str(d) for d in rng.integers(0, 10, size=2))
        + "X"
        + "".join(str(d) for d in rng.integers(0, 10, size=6))
    )
    birth, expiry = f"{int(rng.integers(50, 99))}0{int(rng.integers(1, 10))}15", "310630"
    optional = "<" * 14
    fields = [number + check_digit(number), birth + check_digit(birth), expiry + check_digit(expiry)]
    second = f"{fields[0]}UTO{fields[1]}M{fields[2]}{optional}{check_digit(optional)}"
    composite = fields[0] + fields[1] + fields[2] + optional + check_digit(optional)
    return first, second + check_digit(composite)


def build(lfw: Path, out: Path, per_half: int) -> list[dict[str, Any]]:
    """Render both halves' pages into ``out``; their manifest (file, half, kind, boxes)."""
    import cv2

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lfw_people import lfw_split

    from impostor.printing import WEARS, DocumentStyle, Ghost, render_page
    from impostor.stages.capture import load_image
    from impostor.stages.detect import detect_faces

    manifest = []
    for half, photos in zip(HALVES, lfw_split(lfw), strict=True):
        rng = np.random.default_rng(SEEDS[half])
        by_person: dict[str, Path] = {}
        for photo in photos:
            by_person.setdefault(photo.parent.name, photo)
        people = [by_person[name] for name in sorted(by_person)]
        order = rng.permutation(len(people))
        blank, other = per_half // 3, per_half // 6
        kinds = ["ghost"] * per_half + ["none"] * blank + ["other"] * other
        faces = []  # one photo a person, each on one page; the last 20 lend forgers their faces
        for i in order:
            pixels = load_image(people[i]).pixels
            found = detect_faces(pixels, detector="hog")
            if found:
                faces.append((people[i], pixels, found[0]))
            if len(faces) == len(kinds) + 20:
                break
        for index, kind in enumerate(kinds):
            photo, pixels, face = faces[index]
            style = DocumentStyle(colour=bool(rng.random() < 0.5), seed=int(rng.integers(0, 2**31 - 1)))
            wear = WEARS[WEAR_CYCLE[index % len(WEAR_CYCLE)]]
            ghost = None
            if kind != "none":
                stranger = faces[len(kinds) + index % 20] if kind == "other" else None
                ghost = Ghost(
                    width=int(rng.integers(GHOST_WIDTHS[0], GHOST_WIDTHS[1] + 1)),
                    strength=float(rng.uniform(*GHOST_STRENGTHS)),
                    place="mrz" if rng.random() < 0.5 else "portrait",
                    over_guilloche=bool(rng.random() < 0.35),
                    pixels=None if stranger is None else stranger[1],
                    face=None if stranger is None else stranger[2],
                )
            mrz = td3_mrz(photo.parent.name, rng)
            printed = render_page(pixels, face, style, ghost=ghost, mrz=mrz, wear=wear)
            name = f"{half}-{index:03d}-{kind}.png"
            cv2.imwrite(str(out / name), cv2.cvtColor(printed.pixels, cv2.COLOR_RGB2BGR))
            box = printed.ghost
            manifest.append(
                {
                    "file": name,
                    "half": half,
                    "kind": kind,
                    "person": photo.parent.name,
                    "wear": wear.name,
                    "ghost": None if box is None else [box.left, box.top, box.right, box.bottom],
                    "strength": None if ghost is None else round(ghost.strength, 3),
                    "width": None if ghost is None else ghost.width,
                }
            )
    return manifest


def _inside(box: FaceBox, area: list[float]) -> bool:
    x, y = box.center
    return area[0] <= x <= area[2] and area[1] <= y <= area[3]


def evaluate(folder: Path, documents: Path | None) -> dict[str, Any]:
    """Read every page of ``folder``'s manifest (and the shared specimen pages): per page, what
    was found. Uses only what every version of the reader has, so a clone can run it too."""
    from impostor.document import read_document

    manifest = json.loads((folder / "manifest.json").read_text())
    rows = []
    for entry in manifest:
        started = time.perf_counter()
        reading = read_document((folder / entry["file"]).read_bytes(), name=entry["file"])
        seconds = time.perf_counter() - started
        boxes = reading.secondary_boxes
        ghost_codes = [f.code for f in reading.findings if f.code.startswith("ghost_")]
        hit = next(
            (i for i, box in enumerate(boxes) if entry["ghost"] and _inside(box, entry["ghost"])), None
        )
        proposed = _proposed(reading)
        rows.append(
            entry
            | {
                "found": hit is not None,
                "finding": ghost_codes[hit] if hit is not None and hit < len(ghost_codes) else None,
                "proposed": proposed[hit] if hit is not None and hit < len(proposed) else None,
                "false": len(boxes) - (hit is not None),
                "differs": ghost_codes.count("ghost_differs"),
                "proposed_differs": proposed.count("ghost_differs"),
                "main": reading.portrait_box is not None,
                "turned": reading.page_turned,
                "ms": 1000 * seconds,
                "portrait_ms": reading.timings_ms.get("portrait", 0.0) + reading.timings_ms.get("ghost", 0.0),
            }
        )
    specimens = []
    if documents is not None:
        truth = json.loads((documents / "images" / "ground_truth.json").read_text())["images"]
        for entry in truth:
            reading = read_document(documents / entry["file"])
            known = [[x, y, x + w, y + h] for x, y, w, h in entry.get("secondary_portraits_xywh", [])]
            boxes = reading.secondary_boxes
            found = sum(any(_inside(box, area) for box in boxes) for area in known)
            false = sum(not any(_inside(box, area) for area in known) for box in boxes)
            codes = [f.code for f in reading.findings if f.code.startswith("ghost_")]
            specimens.append(
                {
                    "file": entry["file"],
                    "ghosts": len(known),
                    "found": found,
                    "false": false,
                    "differs": codes.count("ghost_differs"),
                    "codes": codes,
                    "proposed": _proposed(reading),
                }
            )
    return {"pages": rows, "specimens": specimens}


def _proposed(reading: Any) -> list[str]:
    """The ghost findings as reading.py would give them comparing ``page.ghost_crop`` (the pale
    print stretched, the security lines blurred out, the face box the page's search found)
    instead of searching the plain crop again; [] where this version has no ``ghost_crop``."""
    from impostor.document import page

    if not hasattr(page, "ghost_crop") or reading.located is None or reading.page is None:
        return []
    from impostor.document.findings import ghost_finding
    from impostor.document.reading import _ghost_verifier
    from impostor.pipeline.located import Located
    from impostor.stages.align import align, find_landmarks
    from impostor.types import LoadedImage

    pixels = reading.page.pixels
    if reading.page_turned:  # the boxes are on the page turned upright
        pixels = np.ascontiguousarray(np.rot90(pixels, k=-reading.page_turned // 90))
    verifier = _ghost_verifier()
    codes = []
    for number, box in enumerate(reading.secondary_boxes, start=1):
        cut = page.ghost_crop(pixels, box)
        landmarks = find_landmarks(cut.pixels, cut.face)
        image = LoadedImage(cut.pixels, reading.page.info)
        ghost = Located("live", image, (cut.face,), 0, "hog", landmarks, align(cut.pixels, landmarks))
        distance = verifier.compare(reading.located, ghost).distance
        accept, reject = verifier.profile.accept_distance, verifier.profile.reject_distance
        codes.append(ghost_finding(number, distance, accept, reject).code)
    return codes


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run: per half, ghosts found and compared, false ghosts, another's
    ghost told apart, and times; the specimen pages' ghosts."""
    figures: dict[str, Any] = {}
    for half in HALVES:
        rows = [row for row in result["pages"] if row["half"] == half]
        ghosts = [row for row in rows if row["kind"] == "ghost"]
        blank = [row for row in rows if row["kind"] == "none"]
        others = [row for row in rows if row["kind"] == "other"]
        compared = [row for row in ghosts if row["finding"] in COMPARED]
        proposed = [row for row in ghosts if row.get("proposed") in COMPARED]
        upright = [row for row in ghosts if not row.get("turned")]
        figures[half] = {
            "ghosts": len(ghosts),
            "found": sum(row["found"] for row in ghosts),
            "compared": len(compared),
            "matches": sum(row["finding"] == "ghost_matches" for row in ghosts),
            "compared_proposed": len(proposed),
            "matches_proposed": sum(row.get("proposed") == "ghost_matches" for row in ghosts),
            "false_alerts_on_holders_ghosts_proposed": sum(row.get("proposed_differs", 0) for row in ghosts),
            "false_ghost_alerts_on_ghost_free_pages_proposed": sum(
                row.get("proposed_differs", 0) for row in blank
            ),
            "others_ghosts_alerted_proposed": sum(row.get("proposed") == "ghost_differs" for row in others),
            "false_alerts_on_holders_ghosts": sum(row["differs"] for row in ghosts),
            "ghost_free_pages": len(blank),
            "false_ghosts_on_ghost_free_pages": sum(row["false"] for row in blank),
            "false_ghost_alerts_on_ghost_free_pages": sum(row["differs"] for row in blank),
            "false_ghosts_beside_a_ghost": sum(row["false"] for row in ghosts + others),
            "others_ghosts": len(others),
            "others_ghosts_alerted": sum(
                row["found"] and row["finding"] == "ghost_differs" for row in others
            ),
            "main_portrait_missed": sum(not row["main"] for row in rows),
            "ms_per_page": float(np.mean([row["ms"] for row in rows])),
            "portrait_and_ghost_ms_per_page": float(np.mean([row["portrait_ms"] for row in rows])),
            "missed": [row["file"] for row in ghosts if row["finding"] not in COMPARED],
            # this renderer's MRZ is no OCR-B: on some pages the reader reads an MRZ turned and
            # turns the upright page (reading.py's, not the ghost search's, doing)
            "pages_turned_by_the_reader": sum(bool(row.get("turned")) for row in rows),
            "upright_ghosts": len(upright),
            "upright_found": sum(row["found"] for row in upright),
            "upright_compared_proposed": sum(row.get("proposed") in COMPARED for row in upright),
        }
    specimens = result["specimens"]
    if specimens:
        figures["specimens"] = {
            "pages": len(specimens),
            "ghosts": sum(row["ghosts"] for row in specimens),
            "found": sum(row["found"] for row in specimens),
            "false_ghosts": sum(row["false"] for row in specimens),
            "ghost_alerts": sum(row["differs"] for row in specimens),
            "ghost_findings": {row["file"]: row["codes"] for row in specimens if row["codes"]},
            "ghost_findings_proposed": {row["file"]: row["proposed"] for row in specimens if row["proposed"]},
            "pages_with_false_ghosts": [row["file"] for row in specimens if row["false"]],
        }
    return figures


def report(label: str, figures: dict[str, Any]) -> None:
    print(f"\n{label}")
    for half in HALVES:
        f = figures[half]
        share = f["compared"] / max(1, f["ghosts"])
        print(
            f"  {half:9s} ghosts found {f['found']}/{f['ghosts']}, compared {f['compared']}/{f['ghosts']}"
            f" ({share:.0%}; matching {f['matches']}), the holder's ghost alerted"
            f" {f['false_alerts_on_holders_ghosts']}"
        )
        if f["compared_proposed"] or f["false_alerts_on_holders_ghosts_proposed"]:
            print(
                f"  {'':9s} compared with page.ghost_crop (the change proposed to reading.py):"
                f" {f['compared_proposed']}/{f['ghosts']} (matching {f['matches_proposed']}), the"
                f" holder's ghost alerted {f['false_alerts_on_holders_ghosts_proposed']}, another's"
                f" alerted {f['others_ghosts_alerted_proposed']}/{f['others_ghosts']}"
            )
        proposal = (
            f", compared with page.ghost_crop {f['upright_compared_proposed']}"
            if f["compared_proposed"]
            else ""
        )
        print(
            f"  {'':9s} pages the reader turned (an MRZ misread turned) {f['pages_turned_by_the_reader']};"
            f" on the pages it kept upright: found {f['upright_found']}/{f['upright_ghosts']}{proposal}"
        )
        print(
            f"  {'':9s} ghost-free pages {f['ghost_free_pages']}: false ghosts"
            f" {f['false_ghosts_on_ghost_free_pages']}, false ghost alerts"
            f" {f['false_ghost_alerts_on_ghost_free_pages']}; false ghosts beside a ghost"
            f" {f['false_ghosts_beside_a_ghost']}"
        )
        print(
            f"  {'':9s} another's ghost alerted {f['others_ghosts_alerted']}/{f['others_ghosts']};"
            f" main portrait missed {f['main_portrait_missed']}; {f['ms_per_page']:.0f} ms a page read"
            f" ({f['portrait_and_ghost_ms_per_page']:.0f} ms portraits and ghosts)"
        )
    if "specimens" in figures:
        s = figures["specimens"]
        print(
            f"  specimen pages {s['pages']}: ghosts found {s['found']}/{s['ghosts']}, false ghosts"
            f" {s['false_ghosts']} {s['pages_with_false_ghosts'] or ''}, ghost alerts {s['ghost_alerts']}"
        )
        print(f"  {'':9s} ghost findings {s['ghost_findings']}")
        if s["ghost_findings_proposed"]:
            print(f"  {'':9s} with page.ghost_crop {s['ghost_findings_proposed']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared data folder"
    )
    parser.add_argument("--pages", type=int, default=60, help="pages with a ghost in each half")
    parser.add_argument("--baseline", type=Path, help="another work tree to read the same pages with")
    parser.add_argument("--keep", type=Path, help="render the pages into this folder (kept)")
    parser.add_argument("--no-specimens", action="store_true", help="skip the shared specimen pages")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    parser.add_argument("--evaluate", type=Path, help=argparse.SUPPRESS)  # the child's: read a folder
    args = parser.parse_args(argv)
    documents = None if args.no_specimens else args.data / "documents"
    if args.evaluate:
        print(json.dumps(evaluate(args.evaluate, documents)))
        return 0
    lfw = args.data / "lfw"
    if not (lfw / "pairs.csv").is_file():
        print(f"no LFW pair lists at {lfw}: pass --data or set IMPOSTOR_DATA", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="impostor-ghosts-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "manifest.json").is_file():
            started = time.perf_counter()
            manifest = build(lfw, folder, args.pages)
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
            print(f"{len(manifest)} pages printed in {time.perf_counter() - started:.0f} s")
        figures = {"after": summarise(evaluate(folder, documents))}
        if args.baseline:
            child = subprocess.run(
                [sys.executable, __file__, "--evaluate", str(folder), "--data", str(args.data)]
                + (["--no-specimens"] if args.no_specimens else []),
                env=os.environ | {"PYTHONPATH": str(args.baseline.resolve())},
                capture_output=True,
                text=True,
                check=True,
            )
            figures["before"] = summarise(json.loads(child.stdout.strip().splitlines()[-1]))
            report(f"before ({args.baseline})", figures["before"])
        report("now", figures["after"])
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
