"""The QA benchmark: a team's own photos in, error rates, thresholds and a fitted profile out.

Modules, by job::

    dataset              scan a folder with one sub-folder per person
    pairs                pair lists (LFW pairs.txt, CSV) and generated genuine/impostor pairs
    pair_list            a CSV pair list that is its own data set (paths relative to it)
    cache                embeddings in SQLite, keyed by file content and pipeline
    batch                embed a whole data set on local processes or a Dask cluster
    metrics              FMR, FNMR, EER, thresholds for a target rate, intervals (and accuracy's names)
    accuracy             Cllr and minCllr of calibrated probabilities, cross-validated fold accuracy
    error_sources        what the wrong decisions have in common (size, pose, crowds, ...)
    error_versus_reject  how error rates fall as low-quality comparisons are set aside
    scoring              a data set's pairs embedded and scored (``EvaluationConfig``)
    pair_scores          what a report is computed from: each pair's distance, and the context
    report               the figures of a benchmark, as one ``Report``
    report_html          that report as one self-contained HTML page
    plots                DET, ROC, histogram and error-versus-reject figures (matplotlib)
    outputs              the report folder: report.json, report.html, scores.csv, the plots
    evaluate             the compositions: ``run_benchmark`` and ``run_calibration``
    baseline             the plain face_recognition pipeline, for side-by-side figures

Other sub-packages use the names below, never the modules themselves. Importing this package
loads neither dlib, matplotlib, scikit-learn nor Dask.
"""

from __future__ import annotations

from impostor.qa.batch import EmbeddingSet, embed_dataset
from impostor.qa.cache import EmbeddingCache, file_digest, open_cache, pipeline_key
from impostor.qa.dataset import Dataset, Skipped, scan
from impostor.qa.evaluate import run_benchmark, run_calibration
from impostor.qa.pairs import Pairs, generate_pairs, read_pairs
from impostor.qa.scoring import EvaluationConfig

__all__ = [
    "Dataset",
    "EmbeddingCache",
    "EmbeddingSet",
    "EvaluationConfig",
    "Pairs",
    "Skipped",
    "embed_dataset",
    "file_digest",
    "generate_pairs",
    "open_cache",
    "pipeline_key",
    "read_pairs",
    "run_benchmark",
    "run_calibration",
    "scan",
]
