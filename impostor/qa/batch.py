"""Embedding a whole data set: each distinct image file once, on local cores or a Dask cluster.

``embed_dataset`` digests every file (cheap), answers what it can from an ``EmbeddingCache``,
embeds the rest and stores them as they arrive (so an interrupted run keeps its work), and
returns the embeddings in the data set's order.

dlib holds Python's global lock while it works, so cores are used through processes: a local
pool started with "forkserver" (or "spawn" where that is missing; dlib's threads do not
survive ``fork``), or the workers of a Dask cluster. Each process keeps one ``Verifier``, so
the models load once per process. Every worker is given the settings of the process that
called ``embed_dataset`` (analysis and detection sizes, pixel limit, profile), so a cluster
gives the answers a local run would.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import NoReturn, cast

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from impostor import settings
from impostor.errors import ClusterError, InputError
from impostor.files import max_file_bytes, read_bounded, why_unreadable
from impostor.pipeline.profile import Profile, load_profile
from impostor.pipeline.verifier import PICKS, Located, Pick, Verifier
from impostor.qa.cache import CachedFace, EmbeddingCache, file_digest, pipeline_key
from impostor.qa.dataset import Dataset
from impostor.stages.capture import load_image
from impostor.stages.detect import DETECTORS, Detector
from impostor.stages.embed import default_embedder
from impostor.stages.quality import assess, unified_score, yaw_degrees
from impostor.types import LoadedImage, Side

__all__ = ["EmbeddingSet", "embed_dataset"]

NO_FACE = "no face found"

_STORE_EVERY = 256  # results written to the cache at a time while a run goes on


@dataclass(frozen=True, eq=False)
class EmbeddingSet:
    """The embeddings of a data set's images, in the order of ``Dataset.images``.

    ``vectors`` is shaped ``(n_images, 128)``, with rows of NaN where no face was found;
    ``found`` is shaped ``(n_images,)``. ``failures`` says why each image has no embedding
    (``"no face found"``, or why the file could not be read or decoded, without its name) and is
    None where one was found. ``inter_eye`` is the inter-eye distance of the face used, in
    pixels of the full-resolution image, NaN where there is no face. ``from_cache`` counts the
    images answered by the cache.

    What may explain an error, per image (shaped ``(n_images,)``): ``faces_found``, the faces
    found in the image (more than one: the wrong one may have been used; 0 without a face);
    ``yaw``, the head yaw of the face used in degrees (``impostor.stages.quality.yaw_degrees``, NaN
    without a face); ``detector``, which detector found it (``"hog"`` or ``"cnn"``, None
    without a face); ``rotated``, the degrees the image was turned for a face to be found;
    ``quality``, the face's unified quality score 0-100 (``impostor.stages.quality.unified_score``: the
    lowest score among the gated measures, judged as a live photo; NaN without a face).
    """

    vectors: NDArray[np.float64]
    found: NDArray[np.bool_]
    failures: tuple[str | None, ...]
    inter_eye: NDArray[np.float64]
    from_cache: int
    faces_found: NDArray[np.int64]
    yaw: NDArray[np.float64]
    detector: tuple[str | None, ...]
    rotated: NDArray[np.int64]
    quality: NDArray[np.float64]

    @property
    def fta(self) -> float:
        """Failure to acquire: the share of images with no face, 0-1 (NaN for no images)."""
        return float(np.mean(~self.found)) if len(self.found) else math.nan


def embed_dataset(
    dataset: Dataset,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cache: EmbeddingCache | None = None,
    detector: str = "auto",
    pick: str = "largest",
    jitters: int = 0,
    flip: bool = False,
    grey: bool = False,
    progress: bool = True,
) -> EmbeddingSet:
    """Embed every image of ``dataset`` (each distinct file once) with the verification pipeline.

    ``detector``, ``pick`` and ``jitters`` are those of ``impostor.pipeline.verifier.Verifier``; the
    default profile's face-score floor and the analysis settings apply as in a comparison.
    Work runs on ``workers`` local processes (None: one per core; 1: in this process), or, when
    ``scheduler`` is a Dask scheduler's address (``"tcp://host:port"``), on that cluster, whose
    workers need impostor installed and the data set at the same path. With a ``cache``, files
    it already holds (by content, for this pipeline) are not embedded again, and new results
    are stored in it. A file that cannot be read or decoded counts as a failure with its reason.
    A progress bar is drawn on stderr when ``progress`` is true and stderr is a terminal.
    Local worker processes start fresh (not forked), so a script that calls this with more
    than one worker must guard its entry point with ``if __name__ == "__main__":``.

    Raises ``ValueError`` for a bad argument, ``ClusterError`` when the scheduler cannot be
    reached, has no workers, or its workers lack impostor, and ``ProfileError`` for a bad
    default profile.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 or None, not {workers!r}")
    if workers is not None and scheduler is not None:
        raise ValueError(f"give workers or scheduler, not both (workers={workers}, scheduler={scheduler!r})")
    job = _job(detector, pick, jitters, flip, grey)
    key = (
        pipeline_key(detector=detector, pick=pick, jitters=jitters, flip=flip, grey=grey)
        if cache is not None
        else ""
    )
    paths = [str(dataset.root / name) for name in dataset.images]
    digests, faces = _digest_all(paths)
    from_cache = 0
    if cache is not None:
        known = cache.get_many([digest for digest in digests if digest is not None], key)
        for position, digest in enumerate(digests):
            if digest is not None and digest in known:
                faces[position] = known[digest]
                from_cache += 1

    # one embedding per distinct file: copies of an image (the same bytes) share it
    todo: dict[str, list[int]] = {}
    for position, digest in enumerate(digests):
        if digest is not None and faces[position] is None:
            todo.setdefault(digest, []).append(position)
    owners = list(todo.values())
    work = [(paths[positions[0]], dataset.images[positions[0]]) for positions in owners]

    bar = _progress_bar(len(work), progress)
    pending: list[tuple[str, CachedFace]] = []
    try:
        for item, outcome in _run(job, work, workers, scheduler):
            for position in owners[item]:
                faces[position] = outcome.face
            if cache is not None and outcome.digest is not None:
                pending.append((outcome.digest, outcome.face))
                if len(pending) >= _STORE_EVERY:
                    cache.put_many(pending, key)
                    pending = []
            bar.update(1)
    finally:
        bar.close()
        if cache is not None and pending:  # what was done before an interruption is kept
            cache.put_many(pending, key)
    return _assemble(faces, from_cache)


def _digest_all(paths: Sequence[str]) -> tuple[list[str | None], list[CachedFace | None]]:
    """Each file's SHA-256, or None and the failure for a file that cannot be read."""
    digests: list[str | None] = []
    faces: list[CachedFace | None] = []
    for path in paths:
        try:
            digests.append(file_digest(path))
            faces.append(None)
        except OSError as exc:
            digests.append(None)
            faces.append(CachedFace(None, f"cannot be read ({exc.strerror or exc})", None))
    return digests, faces


# -- the work -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs to embed as this process would (pickled to each worker)."""

    detector: Detector
    pick: Pick
    jitters: int
    flip: bool
    grey: bool  # every chip embedded in grey (the second pass of comparing like with like)
    analysis_side: int
    detect_side: int
    max_pixels: int
    max_file_bytes: int
    profile: Profile


@dataclass(frozen=True, eq=False)
class _Outcome:
    """One file's result; ``digest`` is the SHA-256 of the bytes embedded, None when the file
    could not be read (a failure of that moment, not of the file, and so never cached)."""

    digest: str | None
    face: CachedFace


def _job(detector: str, pick: str, jitters: int, flip: bool, grey: bool) -> _Job:
    if isinstance(jitters, bool) or not isinstance(jitters, int) or jitters < 0:
        raise ValueError(f"jitters must be a whole number >= 0, not {jitters!r}")
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, not {detector!r}")
    if pick not in PICKS:
        raise ValueError(f"pick must be one of {', '.join(PICKS)}, not {pick!r}")
    return _Job(
        detector=cast(Detector, detector),
        pick=cast(Pick, pick),
        jitters=jitters,
        flip=flip,
        grey=grey,
        analysis_side=int(settings.get("analysis_side")),
        detect_side=int(settings.get("detect_side")),
        max_pixels=int(settings.get("max_pixels")),
        max_file_bytes=max_file_bytes(),
        profile=load_profile(),
    )


_worker_lock = threading.Lock()
_worker: tuple[_Job, Verifier] | None = None  # this process's verifier, made on first use


def _verifier(job: _Job) -> Verifier:
    global _worker
    with _worker_lock:
        if _worker is None or _worker[0] != job:
            verifier = Verifier(
                job.profile,
                detector=job.detector,
                jitters=job.jitters,
                flip=job.flip,
                grey_chips=job.grey,
                pick=job.pick,
                detect_side=job.detect_side,
                embedder=default_embedder(),
            )
            _worker = (job, verifier)
        return _worker[1]


def _embed_files(job: _Job, items: Sequence[tuple[str, str]]) -> list[_Outcome]:
    """Embed image files, as ``(path, label)`` pairs: each located on its own, then every face
    found embedded in one batch. Top level, so that worker processes can be sent it by name."""
    verifier = _verifier(job)
    outcomes: list[_Outcome | None] = []
    found: list[tuple[int, str, LoadedImage, Located]] = []
    for path, label in items:
        try:
            data = read_bounded(path, job.max_file_bytes)
        except OSError as exc:
            outcomes.append(_Outcome(None, CachedFace(None, f"cannot be read ({why_unreadable(exc)})", None)))
            continue
        digest = hashlib.sha256(data).hexdigest()
        try:
            image = load_image(data, name=label, max_pixels=job.max_pixels, analysis_side=job.analysis_side)
            located = verifier.locate(image, "image")
        except InputError as exc:
            # the cache is keyed by content, so the reason must not carry this copy's name
            outcomes.append(_Outcome(digest, CachedFace(None, str(exc).removeprefix(f"{label}: "), None)))
            continue
        found.append((len(outcomes), digest, image, located))
        outcomes.append(None)
    sides = verifier.embed_located([located for *_, located in found])
    for (at, digest, image, _), side in zip(found, sides, strict=True):
        outcomes[at] = _outcome(job, digest, image, side)
    return [outcome for outcome in outcomes if outcome is not None]


def _embed_batch(items: Sequence[tuple[str, str]], job: _Job) -> list[_Outcome]:
    """``_embed_files`` with the items first: one Dask task."""
    return _embed_files(job, items)


def _outcome(job: _Job, digest: str, image: LoadedImage, side: Side) -> _Outcome:
    if side.face is None:
        return _Outcome(digest, CachedFace(None, NO_FACE, None, side.faces_found))
    # landmarks are in the analysed pixels, which may be a reduced decode (possibly turned)
    scale = max(image.info.width, image.info.height) / max(image.shape)
    landmarks = side.face.landmarks
    # judged as a live photo whatever the image is: the scores, unlike pass/fail, ignore limits
    report = assess(side.image, [side.face.box], landmarks, side="live", limits=job.profile.limits)
    face = CachedFace(
        np.asarray(side.face.embedding, dtype=np.float64),
        None,
        float(landmarks.inter_eye_distance * scale),
        faces_found=side.faces_found,
        yaw=yaw_degrees(landmarks),
        detector=side.detector,
        rotated_degrees=side.rotated_degrees,
        quality=unified_score(report),
    )
    return _Outcome(digest, face)


def _run(
    job: _Job, work: Sequence[tuple[str, str]], workers: int | None, scheduler: str | None
) -> Iterator[tuple[int, _Outcome]]:
    """Each item's position in ``work`` and its outcome, in the order they finish."""
    if not work:
        return iter(())
    if scheduler is not None:
        return _on_cluster(job, work, scheduler)
    processes = min(workers or os.cpu_count() or 1, len(work))
    if processes == 1:
        return enumerate(
            itertools.chain.from_iterable(_embed_files(job, chunk) for chunk in _chunks(work, _CHUNK))
        )
    return _on_local_processes(job, work, processes)


_CHUNK = 16  # images a task: one batch for the engine, and progress that still moves


def _chunks(work: Sequence[tuple[str, str]], size: int) -> list[Sequence[tuple[str, str]]]:
    return [work[start : start + size] for start in range(0, len(work), size)]


def _on_local_processes(
    job: _Job, work: Sequence[tuple[str, str]], processes: int
) -> Iterator[tuple[int, _Outcome]]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    # chunks amortise the hand-over and make one batch each; several per process keep the cores
    # even at the end
    size = max(1, min(_CHUNK, len(work) // (processes * 4)))
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        outcomes = pool.map(functools.partial(_embed_files, job), _chunks(work, size))
        yield from enumerate(itertools.chain.from_iterable(outcomes))


def _on_cluster(job: _Job, work: Sequence[tuple[str, str]], scheduler: str) -> Iterator[tuple[int, _Outcome]]:
    try:
        import dask
        from distributed import Client, as_completed
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise ClusterError(
            "embedding on a Dask cluster needs Dask, which is an extra: "
            "pip install 'impostor[cluster]' (in a checkout: uv sync --extra cluster)"
        ) from None

    try:
        # the address is checked before a client exists: a client refused for its address
        # leaves its event-loop thread behind, and the command never exits
        scheme, location = parse_address(scheduler)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location, 8786)
        client = Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"{scheduler}: cannot reach the Dask scheduler ({str(exc).splitlines()[0]}); "
            "check the address and that the scheduler is running"
        ) from None
    with client:
        try:
            # as long as connecting may take: a cluster whose workers are still starting is fine
            client.wait_for_workers(1, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        except TimeoutError:
            raise ClusterError(
                f"{scheduler}: the Dask scheduler has no workers; start some with `dask worker`"
            ) from None
        threads = max(1, sum(client.nthreads().values()))
        size = max(1, min(32, math.ceil(len(work) / (threads * 4))))
        starts = range(0, len(work), size)
        futures = client.map(
            _embed_batch, [work[start : start + size] for start in starts], job=job, pure=False
        )
        first = {future.key: start for future, start in zip(futures, starts, strict=True)}
        try:
            for future, outcomes in as_completed(futures, with_results=True, loop=client.loop):
                start = first[future.key]
                for offset, outcome in enumerate(outcomes):
                    yield start + offset, outcome
        except ImportError as exc:
            raise ClusterError(
                f"{scheduler}: a Dask worker cannot import what it needs ({exc}); "
                "install impostor in the workers' environment"
            ) from None


# -- results --------------------------------------------------------------------------------------


def _assemble(faces: Sequence[CachedFace | None], from_cache: int) -> EmbeddingSet:
    count = len(faces)
    vectors = np.full((count, 128), np.nan, dtype=np.float64)
    inter_eye = np.full(count, np.nan, dtype=np.float64)
    yaw = np.full(count, np.nan, dtype=np.float64)
    quality = np.full(count, np.nan, dtype=np.float64)
    found = np.zeros(count, dtype=np.bool_)
    faces_found = np.zeros(count, dtype=np.int64)
    rotated = np.zeros(count, dtype=np.int64)
    failures: list[str | None] = []
    detectors: list[str | None] = []
    for position, face in enumerate(faces):
        assert face is not None, "every image has an outcome"
        if face.vector is not None:
            vectors[position] = face.vector
            inter_eye[position] = np.nan if face.inter_eye is None else face.inter_eye
            yaw[position] = np.nan if face.yaw is None else face.yaw
            quality[position] = np.nan if face.quality is None else face.quality
            found[position] = True
            rotated[position] = face.rotated_degrees
        faces_found[position] = face.faces_found
        failures.append(face.failure)
        detectors.append(face.detector if face.vector is not None else None)
    for array in (vectors, inter_eye, yaw, quality, found, faces_found, rotated):
        array.setflags(write=False)
    return EmbeddingSet(
        vectors,
        found,
        tuple(failures),
        inter_eye,
        from_cache,
        faces_found=faces_found,
        yaw=yaw,
        detector=tuple(detectors),
        rotated=rotated,
        quality=quality,
    )


def _progress_bar(total: int, wanted: bool) -> tqdm[NoReturn]:
    isatty = getattr(sys.stderr, "isatty", None)
    shown = wanted and total > 0 and bool(isatty and isatty())
    return tqdm(total=total, desc="embedding", unit="img", file=sys.stderr, disable=not shown)
