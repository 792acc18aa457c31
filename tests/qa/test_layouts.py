"""QA data in the layouts people keep: documents and live photos in separate folders, classic face
sets named .pgm and .gif, and a back-office list of pairs to compare and audit."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.qa import scan
from impostor.qa.pair_list import read_pair_list
from impostor.records.audit import AuditLog

PEOPLE = {
    "Barack_Obama": ("fr_obama.jpg", "fr_obama1.jpg"),
    "Jennifer_Aniston": ("deepface_img12.jpg", "deepface_img55.jpg"),
    "Katy_Perry": ("deepface_img26.jpg", "deepface_img27.jpg"),
}


@pytest.fixture(scope="module")
def site(faces_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/ and live/ side by side, with a pair list naming who is who."""
    root = tmp_path_factory.mktemp("site")
    (root / "docs").mkdir()
    (root / "live").mkdir()
    names = {}
    for k, (person, (first, second)) in enumerate(sorted(PEOPLE.items())):
        shutil.copy(faces_dev / person / first, root / "docs" / f"passport-{k}.jpg")
        shutil.copy(faces_dev / person / second, root / "live" / f"counter-{k}.jpg")
        names[k] = person
    with (root / "pairs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "a_id", "b_id"])
        for k in names:
            for j in names:
                writer.writerow(
                    [f"docs/passport-{k}.jpg", f"live/counter-{j}.jpg", int(k == j), names[k], names[j]]
                )
        writer.writerow(["docs/missing.jpg", "live/counter-0.jpg", 1, names[0], names[0]])
    return root


def test_a_pair_list_may_name_images_anywhere_by_absolute_paths(site: Path, faces_dev: Path) -> None:
    """Rendered documents in a scratch folder against live photos left where they are: the
    images' common folder is then the file system's root, and every pair must still be read."""
    live = sorted((faces_dev / "Barack_Obama").glob("*.jpg"))[:2]
    listed = site / "anywhere.csv"
    with listed.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same"])
        for number, photo in enumerate(live):
            writer.writerow([f"docs/passport-{number}.jpg", photo.resolve().as_posix(), 0])
    dataset, pairs = read_pair_list(listed)
    assert str(dataset.root) == "/" and len(pairs) == 2 and not pairs.skipped


def test_a_pair_list_is_its_own_data_set(site: Path) -> None:
    dataset, pairs = read_pair_list(site / "pairs.csv")
    assert dataset.root == site.resolve()
    assert len(dataset.images) == 6 and dataset.people == 3
    assert {dataset.images[i].split("/")[0] for i in pairs.a} == {"docs"}
    assert len(pairs) == 9 and int(pairs.same.sum()) == 3
    assert any("missing.jpg" in skipped.reason for skipped in pairs.skipped)
    # identities come from the columns, not from the folders docs/ and live/
    codes = dataset.identity_codes
    assert all(
        (codes[a] == codes[b]) == same for a, b, same in zip(pairs.a, pairs.b, pairs.same, strict=True)
    )


def test_without_id_columns_folder_names_stand_for_people(site: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    rows = list(csv.reader((site / "pairs.csv").open()))
    with plain.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([str(site / value) if value.endswith(".jpg") else value for value in row[:3]])
    dataset, pairs = read_pair_list(plain)
    assert set(dataset.identities) == {"docs", "live"}
    assert pairs.source.endswith("people from folder names")


def test_benchmark_takes_a_pair_list_alone(site: Path, embedding_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "benchmark",
            "--pairs",
            str(site / "pairs.csv"),
            "--out",
            str(out),
            "--cache",
            str(embedding_cache),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    scores = list(csv.DictReader((out / "scores.csv").open()))
    assert len(scores) == 9 and {row["a"].split("/")[0] for row in scores} == {"docs"}


def test_classic_face_sets_are_judged_by_content(faces_dev: Path, tmp_path: Path) -> None:
    root = tmp_path / "orl"
    for person in ("s1", "s2"):
        (root / person).mkdir(parents=True)
    photo = cv2.imread(str(faces_dev / "Barack_Obama" / "fr_obama.jpg"))
    grey = cv2.cvtColor(cv2.resize(photo, (92, 112)), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(root / "s1" / "1.pgm"), grey)
    from PIL import Image

    Image.fromarray(grey).save(root / "s2" / "subject02.happy.gif")  # Yale names them like this
    cv2.imwrite(str(root / "s2" / "no_suffix.png"), grey)
    (root / "s2" / "no_suffix.png").rename(root / "s2" / "no_suffix")
    (root / "s1" / "notes.txt").write_text("taken in 1992\n")
    dataset = scan(root)
    assert set(dataset.images) == {"s1/1.pgm", "s2/subject02.happy.gif", "s2/no_suffix"}
    assert any(skipped.path == "s1/notes.txt" for skipped in dataset.skipped)


def test_compare_a_list_of_pairs_for_review(site: Path, tmp_path: Path) -> None:
    listing = tmp_path / "review.csv"
    (tmp_path / "broken.jpg").write_text("not a photo")
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document", "live"])
        writer.writerow([site / "docs" / "passport-0.jpg", site / "live" / "counter-0.jpg"])
        writer.writerow([site / "docs" / "passport-0.jpg", site / "live" / "counter-1.jpg"])
        writer.writerow(["broken.jpg", site / "live" / "counter-1.jpg"])
    out, db = tmp_path / "decisions.csv", tmp_path / "audit.sqlite"
    result = CliRunner().invoke(
        main,
        ["compare", "--pairs", str(listing), "--out", str(out), "--audit-db", str(db), "--operator", "qa"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote ") and "3 pairs" in result.output
    rows = list(csv.DictReader(out.open()))
    assert [row["decision"] for row in rows] == ["MATCH", "NO_MATCH", "ERROR"]
    assert rows[2]["error"].startswith("NotAnImage: broken.jpg")
    with AuditLog(db) as log:
        assert [record.decision for record in log.records()] == ["MATCH", "NO_MATCH"]
        assert log.verify().ok
    wrong = CliRunner().invoke(main, ["compare", "--pairs", str(listing)])
    assert wrong.exit_code == 2 and "--out" in wrong.stderr


def test_decisions_never_open_as_formulas_in_a_spreadsheet(site: Path, tmp_path: Path) -> None:
    """File names are chosen by whoever sent the photos; the reviewer opens the decisions in a
    spreadsheet, where ``=``, ``+``, ``-`` or ``@`` first would run as a formula."""
    document, live = "=cmd|' -c calc'!A0.jpg", '@HYPERLINK("evil.example","x").jpg'
    shutil.copy(site / "docs" / "passport-0.jpg", tmp_path / document)
    shutil.copy(site / "live" / "counter-0.jpg", tmp_path / live)
    listing = tmp_path / "review.csv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document", "live"])
        writer.writerow([document, live])
        writer.writerow(["+SUM(1+1).jpg", "-2+3.jpg"])  # neither exists: an ERROR row naming both
    out = tmp_path / "decisions.csv"
    result = CliRunner().invoke(main, ["compare", "--pairs", str(listing), "--out", str(out), "--no-audit"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(newline="")))
    assert [row["decision"] for row in rows] == ["MATCH", "ERROR"]
    assert (rows[0]["document"], rows[0]["live"]) == (f"'{document}", f"'{live}")
    assert (rows[1]["document"], rows[1]["live"]) == ("'+SUM(1+1).jpg", "'-2+3.jpg")
    assert all(cell[:1] not in ("=", "+", "-", "@") for row in rows for cell in row.values())


def test_calibrate_on_a_pair_list_alone_names_the_list(
    site: Path, embedding_cache: Path, tmp_path: Path
) -> None:
    """Without a DATASET folder the pair list is the data set, and messages name it (not 'None')."""
    pairs = site / "pairs.csv"
    args = [
        "calibrate",
        "--pairs",
        str(pairs),
        "--out",
        str(tmp_path / "p.json"),
        "--cache",
        str(embedding_cache),
    ]
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 12, result.output
    assert result.stderr.startswith(f"DatasetError: {pairs}: only "), result.stderr


def test_benchmark_counts_each_repeated_pair_once_and_says_so(
    site: Path, embedding_cache: Path, tmp_path: Path
) -> None:
    """Two pairs repeated thousands of times are two comparisons, not thousands: counted as
    thousands they would give error rates with intervals of zero width."""
    listing = site / "repeated.csv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "a_id", "b_id"])
        for _ in range(5000):
            writer.writerow(["docs/passport-0.jpg", "live/counter-0.jpg", 1, "Barack_Obama", "Barack_Obama"])
            writer.writerow(
                ["live/counter-1.jpg", "docs/passport-0.jpg", 0, "Jennifer_Aniston", "Barack_Obama"]
            )
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        ["benchmark", "--pairs", str(listing), "--out", str(out), "--cache", str(embedding_cache), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "2 pairs (1 genuine, 1 impostor)" in result.stdout
    assert "9,998 repeated pairs counted once" in result.stdout
    assert len(list(csv.DictReader((out / "scores.csv").open()))) == 2
