"""scores.py: per-image scores in NumPy, against values worked out by hand."""

import numpy as np
import pytest

import scores
from conftest import HAND_SCORES, HAND_SOFT, HAND_TRUTH


def test_scores_equal_hand_computed_values():
    assert scores.confusion_counts(HAND_TRUTH, HAND_SOFT) == (2, 2, 1, 3)
    assert scores.iou(HAND_TRUTH, HAND_SOFT) == pytest.approx(HAND_SCORES["iou"])
    assert scores.dice(HAND_TRUTH, HAND_SOFT) == pytest.approx(HAND_SCORES["dice"])
    assert scores.precision(HAND_TRUTH, HAND_SOFT) == pytest.approx(HAND_SCORES["precision"])
    assert scores.recall(HAND_TRUTH, HAND_SOFT) == pytest.approx(HAND_SCORES["recall"])
    # |1-.9| + |1-.4| + .6 + .1 + |1-.7| + .2 + .55 + 0 = 2.45 over 8 pixels
    assert scores.mean_absolute_error(HAND_TRUTH, HAND_SOFT) == pytest.approx(2.45 / 8)
    assert scores.image_scores(HAND_TRUTH, HAND_SOFT) == pytest.approx({**HAND_SCORES, "mae": 2.45 / 8})


def test_threshold_counts_exactly_one_half_as_person():
    assert scores.confusion_counts([[1, 0]], [[0.5, 0.49]]) == (1, 0, 0, 1)


def test_empty_truth_and_empty_prediction_score_perfectly():
    empty = np.zeros((4, 4))
    assert scores.image_scores(empty, empty) == {"iou": 1.0, "dice": 1.0, "precision": 1.0, "recall": 1.0, "mae": 0.0}


def test_prediction_on_an_empty_photo_scores_zero_iou():
    assert scores.iou(np.zeros((2, 2)), np.ones((2, 2))) == 0.0
    assert scores.precision(np.zeros((2, 2)), np.ones((2, 2))) == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="mask shapes differ"):
        scores.iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_boundary_iou_on_hand_drawn_squares():
    # 100x100 image: diagonal 141.4, band 2% -> 3 pixels wide.
    truth = np.zeros((100, 100), np.uint8)
    truth[20:60, 20:60] = 1  # 40x40 square: its 3-pixel inner band has 40*40 - 34*34 = 444 pixels
    assert scores.inner_boundary(truth, 3).sum() == 444
    assert scores.boundary_iou(truth, truth) == 1.0
    shifted = np.zeros_like(truth)
    shifted[21:61, 20:60] = 1  # one row lower
    band_a, band_b = scores.inner_boundary(truth, 3), scores.inner_boundary(shifted, 3)
    expected = np.sum(band_a & band_b) / np.sum(band_a | band_b)
    assert scores.boundary_iou(truth, shifted) == pytest.approx(expected)
    assert 0.6 < expected < 0.9  # while region IoU is still 39*40 / (41*40) = 0.95
    assert scores.iou(truth, shifted) == pytest.approx(39 / 41)


def test_boundary_band_runs_along_the_image_edge_as_in_the_reference_implementation():
    full = np.ones((50, 50), np.uint8)
    assert scores.inner_boundary(full, 2).sum() == 50 * 50 - 46 * 46
    assert scores.boundary_iou(np.zeros((50, 50)), np.zeros((50, 50))) == 1.0
