"""Make the bundled sample images from public-domain faces shipped inside scikit-image and matplotlib.

    uv run python samples/make_samples.py

Sources: ``skimage.data.astronaut()`` (Eileen Collins, NASA, public domain) and matplotlib's
``sample_data/grace_hopper.jpg`` (public domain). Output, written next to this script:

- ``document.png``: Collins as a document portrait: grey, slightly tilted, printed and
  scanned (paper tone, halftone-like noise, a guilloche line overlay), 35 × 45 mm at 300 dpi;
- ``live_genuine.jpg``: Collins as a webcam would see her: wider crop, warmer and brighter;
- ``live_genuine_dim.jpg``: the same, under-lit and off-centre;
- ``live_impostor.jpg``: Hopper, the wrong traveller, at the same webcam size;
- ``live_two_faces.jpg``: Hopper standing behind Collins, both in view.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
WEBCAM = (640, 480)


def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # RGB, 512 × 512


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        encoded = np.frombuffer(handle.read(), dtype=np.uint8)
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)  # 600 × 512


def crop(rgb: np.ndarray, centre: tuple[int, int], size: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """Crop a ``size`` (w, h) window around ``centre`` (edges replicated) and resize to ``out``."""
    (cx, cy), (w, h) = centre, size
    pad = max(w, h)
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    x0, y0 = cx - w // 2 + pad, cy - h // 2 + pad
    return cv2.resize(padded[y0 : y0 + h, x0 : x0 + w], out, interpolation=cv2.INTER_AREA)


def document_portrait(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    portrait = crop(rgb, (215, 160), (250, 322), (413, 531))
    grey = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = 40 + grey * 0.75  # printed ink never reaches black or paper white
    turn = cv2.getRotationMatrix2D((206, 265), 3.0, 1.0)
    grey = cv2.warpAffine(grey, turn, (413, 531), borderMode=cv2.BORDER_CONSTANT, borderValue=235)
    grey += rng.normal(0, 7, grey.shape).astype(np.float32)  # print grain
    yy, xx = np.mgrid[0:531, 0:413]
    guilloche = np.sin(xx / 9.0 + 6 * np.sin(yy / 37.0)) > 0.93
    grey[guilloche] = grey[guilloche] * 0.85 + 235 * 0.15
    grey = cv2.GaussianBlur(grey, (3, 3), 0.8)  # the scanner's softness
    page = np.clip(grey, 0, 255).astype(np.uint8)
    return cv2.copyMakeBorder(page, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=238)


def relight(rgb: np.ndarray, gain: float, gamma: float, tint: tuple[float, float, float]) -> np.ndarray:
    scaled = (rgb.astype(np.float32) / 255.0) ** gamma * gain * np.array(tint, dtype=np.float32)
    return np.clip(scaled * 255.0, 0, 255).astype(np.uint8)


def save(name: str, rgb: np.ndarray) -> None:
    path = HERE / name
    if rgb.ndim == 2:
        cv2.imwrite(str(path), rgb)
    else:
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {path.relative_to(HERE.parent)}")


def main() -> None:
    rng = np.random.default_rng(20261122)
    collins, hopper = astronaut(), grace_hopper()
    save("document.png", document_portrait(collins, rng))
    save(
        "live_genuine.jpg",
        relight(crop(collins, (230, 190), (440, 330), WEBCAM), 1.1, 0.85, (1.05, 1.0, 0.9)),
    )
    save(
        "live_genuine_dim.jpg",
        relight(crop(collins, (280, 210), (480, 360), WEBCAM), 0.55, 1.2, (0.9, 0.95, 1.0)),
    )
    save(
        "live_impostor.jpg", relight(crop(hopper, (250, 230), (470, 352), WEBCAM), 1.0, 0.95, (1.0, 1.0, 1.0))
    )
    behind = cv2.resize(
        crop(hopper, (250, 230), (470, 352), (640, 480)), (320, 240), interpolation=cv2.INTER_AREA
    )
    scene = crop(collins, (250, 190), (440, 330), WEBCAM).copy()
    scene[20:260, 320:640] = behind
    save("live_two_faces.jpg", scene)


if __name__ == "__main__":
    main()
