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


@pytest.fixture
def rng():
    return np.random.default_rng(0)


__all__ = ["REPO_DIR", "SHARED_DATA", "draw_person", "write_sample"]
