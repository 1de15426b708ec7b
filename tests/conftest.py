import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_DIR.parent / "shared/data/people_segmentation"
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from People_Segmentation.make_sample import draw_person, write_sample  # noqa: E402


@pytest.fixture
def sample_dir(tmp_path):
    """A small generated dataset: images/sample_NNN.jpg + masks/sample_NNN.png."""
    return write_sample(tmp_path / "dataset", count=20, height=96, width=64, seed=1)


def fake_pairs(count):
    """(image, mask) paths of `count` pairs named 000, 001, ..., for splitting (no files)."""
    return [(Path(f"images/{i:03d}.jpg"), Path(f"masks/{i:03d}.png")) for i in range(count)]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class SureOfUprightRed:
    """A stand-in model at 64x64 that, like the real one, knows people upright
    only: person wherever the input's red channel is above half, with
    probability `upright` where the red patch stands taller than wide and
    `lying` where it lies across the frame."""
    input = type("Input", (), {"shape": (None, 64, 64, 3)})()

    def __init__(self, upright=0.99, lying=0.6):
        self.upright, self.lying = upright, lying
        self.batches = []

    def predict_on_batch(self, batch):
        self.batches.append(batch)
        red = batch[..., 0] > 128
        masks = np.zeros(red.shape, np.float32)
        for mask, person in zip(masks, red):
            rows, columns = np.nonzero(person)
            if rows.size:
                mask[person] = self.upright if np.ptp(rows) > np.ptp(columns) else self.lying
        return masks[..., None]


def lying_person():
    """A 300x400 landscape photo of a person lying across it (a red bar) and its mask."""
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[120:180, 20:380] = (255, 0, 0)
    return photo, (photo[..., 0] > 0).astype(np.uint8)


def person_with_a_speck():
    """A 320x240 photo: a red person 200 pixels tall, and far from them a red
    speck 1.2% of their size; (photo, the person's mask)."""
    photo = np.zeros((320, 240, 3), np.uint8)
    photo[60:260, 40:120] = (255, 0, 0)
    truth = (photo[..., 0] > 0).astype(np.uint8)
    photo[20:34, 190:204] = (255, 0, 0)
    return photo, truth


# A file named on an old system in Latin-1, as Linux hands its name to Python (a surrogate for the é).
NOT_UTF8 = os.fsdecode(b"caf\xe9")


def rename_pair(dataset, stem, new_stem):
    """Renames the generated pair images/<stem>.jpg, masks/<stem>.png of
    `dataset`; skips the test where the file system refuses the new name
    (one that takes only UTF-8 names, for NOT_UTF8)."""
    try:
        (dataset / "images" / f"{stem}.jpg").rename(dataset / "images" / f"{new_stem}.jpg")
    except (OSError, UnicodeError):
        pytest.skip(f"this file system does not take the name {new_stem!r}")
    (dataset / "masks" / f"{stem}.png").rename(dataset / "masks" / f"{new_stem}.png")


__all__ = ["NOT_UTF8", "REPO_DIR", "rename_pair", "SHARED_DATA", "SureOfUprightRed", "draw_person", "lying_person", "person_with_a_speck",
           "write_sample"]
