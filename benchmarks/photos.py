"""The photos the benchmarks run on: the real shared dataset when it is there
(../shared/data/people_segmentation beside the repository), else generated
person-like photos of mixed sizes around 600x800."""

import sys
from pathlib import Path

import cv2
import numpy as np

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))
SHARED_DATA = REPO_DIR.parent / "shared/data/people_segmentation"

from People_Segmentation.make_sample import draw_person  # noqa: E402

GENERATED_SIZES = ((800, 600), (830, 550), (640, 480), (1024, 768), (320, 240))  # (height, width)


def benchmark_pairs(count, scratch_dir, prefixes=None):
    """[(image path, mask path)] of `count` pairs, and where they come from.

    `prefixes` picks shared photos by stem prefix (e.g. ("eg16_", "ccp_") for
    the larger ones), evenly spread over the dataset."""
    if SHARED_DATA.is_dir():
        images = sorted((SHARED_DATA / "images").iterdir())
        if prefixes:
            images = [p for p in images if p.name.startswith(tuple(prefixes))]
        chosen = images[:: max(1, len(images) // count)][:count]
        return [(p, SHARED_DATA / "masks" / f"{p.stem}.png") for p in chosen], str(SHARED_DATA)
    folder = Path(scratch_dir) / "generated"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pairs = []
    for index in range(count):
        height, width = GENERATED_SIZES[index % len(GENERATED_SIZES)]
        image, mask = draw_person(rng, height, width)
        image_path, mask_path = folder / "images" / f"{index:04d}.jpg", folder / "masks" / f"{index:04d}.png"
        cv2.imwrite(str(image_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(mask_path), mask)
        pairs.append((image_path, mask_path))
    return pairs, "generated (no ../shared data)"
