import numpy as np
import pytest

import metrics

# 2x4 example worked out by hand. Person pixels (truth): (0,0) (0,1) (1,0).
# Predicted person (>= 0.5): (0,0) (0,2) (1,0) (1,2).
# TP = 2 [(0,0), (1,0)], FP = 2 [(0,2), (1,2)], FN = 1 [(0,1)], TN = 3.
TRUTH = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], np.float32)
SOFT = np.array([[0.9, 0.4, 0.6, 0.1], [0.7, 0.2, 0.55, 0.0]], np.float32)
EXPECTED = {"iou": 2 / 5, "dice": 4 / 7, "precision": 2 / 4, "recall": 2 / 3}


def test_numpy_metrics_equal_hand_computed_values():
    assert metrics.confusion_counts(TRUTH, SOFT) == (2, 2, 1, 3)
    assert metrics.iou(TRUTH, SOFT) == pytest.approx(EXPECTED["iou"])
    assert metrics.dice(TRUTH, SOFT) == pytest.approx(EXPECTED["dice"])
    assert metrics.precision(TRUTH, SOFT) == pytest.approx(EXPECTED["precision"])
    assert metrics.recall(TRUTH, SOFT) == pytest.approx(EXPECTED["recall"])
    # |1-.9| + |1-.4| + .6 + .1 + |1-.7| + .2 + .55 + 0 = 2.45 over 8 pixels
    assert metrics.mean_absolute_error(TRUTH, SOFT) == pytest.approx(2.45 / 8)
    scores = metrics.image_scores(TRUTH, SOFT)
    assert scores == pytest.approx({**EXPECTED, "mae": 2.45 / 8})


def test_threshold_counts_exactly_one_half_as_person():
    assert metrics.confusion_counts([[1, 0]], [[0.5, 0.49]]) == (1, 0, 0, 1)


def test_empty_truth_and_empty_prediction_score_perfectly():
    empty = np.zeros((4, 4))
    assert metrics.image_scores(empty, empty) == {"iou": 1.0, "dice": 1.0, "precision": 1.0, "recall": 1.0, "mae": 0.0}


def test_prediction_on_an_empty_photo_scores_zero_iou():
    assert metrics.iou(np.zeros((2, 2)), np.ones((2, 2))) == 0.0
    assert metrics.precision(np.zeros((2, 2)), np.ones((2, 2))) == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="mask shapes differ"):
        metrics.iou(np.zeros((2, 2)), np.zeros((2, 3)))


def keras_results(y_true, y_pred):
    results = {}
    for metric in metrics.segmentation_metrics():
        metric.update_state(y_true, y_pred)
        results[metric.name] = float(metric.result())
    return results


def test_keras_metrics_equal_hand_computed_values_on_sigmoid_outputs():
    y_true, y_pred = TRUTH[None, ..., None], SOFT[None, ..., None]
    assert keras_results(y_true, y_pred) == pytest.approx(EXPECTED, abs=1e-6)


def test_keras_metrics_pool_pixels_over_a_batch():
    # Two images: the hand example, and a perfect prediction of 4 more person pixels.
    perfect_truth = np.array([[1, 1, 1, 1], [0, 0, 0, 0]], np.float32)
    y_true = np.stack([TRUTH, perfect_truth])[..., None]
    y_pred = np.stack([SOFT, perfect_truth * 0.8])[..., None]
    # Pooled: TP = 6, FP = 2, FN = 1.
    assert keras_results(y_true, y_pred) == pytest.approx(
        {"iou": 6 / 9, "dice": 12 / 15, "precision": 6 / 8, "recall": 6 / 7}, abs=1e-6)


def test_a_good_model_scores_high_where_meaniou_on_raw_sigmoids_would_not():
    import keras

    rng = np.random.default_rng(0)
    truth = (rng.random((2, 32, 32, 1)) > 0.5).astype(np.float32)
    confident = np.where(truth == 1, 0.9, 0.1).astype(np.float32)
    assert keras_results(truth, confident)["iou"] == pytest.approx(1.0)
    naive = keras.metrics.MeanIoU(num_classes=2)
    naive.update_state(truth, confident)
    # Both probabilities cast to class 0: IoU of class 0 is its pixel share, of class 1 zero.
    assert float(naive.result()) == pytest.approx(np.mean(truth == 0) / 2)  # the mistake metrics.py avoids


def test_dice_loss_is_zero_for_a_perfect_mask_and_near_one_for_the_inverse():
    truth = np.zeros((1, 8, 8, 1), np.float32)
    truth[0, 2:6, 2:6] = 1
    assert float(np.mean(metrics.dice_loss(truth, truth))) == pytest.approx(0.0, abs=1e-6)
    # 1 - (0 + 1) / (16 + 48 + 1)
    assert float(np.mean(metrics.dice_loss(truth, 1 - truth))) == pytest.approx(1 - 1 / 65)


def test_bce_dice_loss_adds_the_two_terms():
    import keras

    truth = np.array([[[[1.0], [0.0]]]], np.float32)
    pred = np.array([[[[0.8], [0.3]]]], np.float32)
    bce = float(keras.losses.BinaryCrossentropy()(truth, pred))
    expected = bce + float(metrics.dice_loss(truth, pred)[0])
    assert float(metrics.bce_dice_loss(truth, pred)[0]) == pytest.approx(expected, rel=1e-5)
    assert bce == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2, rel=1e-5)


def test_lovasz_loss_equals_one_minus_iou_on_hard_predictions():
    rng = np.random.default_rng(0)
    truth = (rng.random((4, 12, 12, 1)) < 0.4).astype(np.float32)
    pred = (rng.random((4, 12, 12, 1)) < 0.5).astype(np.float32)
    truth[2], pred[2] = 0, 0  # nobody, nobody predicted: no loss
    truth[3], pred[3] = 0, 0
    pred[3, 5, 5] = 1  # nobody, one pixel predicted: IoU 0
    expected = [1 - metrics.iou(t, p) for t, p in zip(truth, pred)]
    assert expected[2:] == [0.0, 1.0]
    assert np.asarray(metrics.lovasz_loss(truth, pred)) == pytest.approx(expected, abs=1e-6)


def test_lovasz_loss_and_its_gradient_on_soft_predictions_match_hand_computed_values():
    import tensorflow as tf

    truth = tf.constant([[[[1.0], [0.0]]]])
    pred = tf.Variable([[[[0.8], [0.3]]]])
    # Errors 0.2 (person) and 0.3 (background), largest first: 1 - IoU steps
    # from 0.5 (one false positive) to 1.0 (and the person missed): weights 0.5, 0.5.
    with tf.GradientTape() as tape:
        loss = metrics.lovasz_loss(truth, pred)
    assert float(loss[0]) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)
    assert tape.gradient(loss, pred).numpy().ravel() == pytest.approx([-0.5, 0.5])
    bce = -(np.log(0.8) + np.log(0.7)) / 2
    assert float(metrics.get_loss("bce_lovasz")(truth, pred)[0]) == pytest.approx(bce + 0.25, rel=1e-5)


def test_unknown_loss_name_is_an_error():
    with pytest.raises(ValueError, match="unknown loss 'focal'"):
        metrics.get_loss("focal")


def test_boundary_iou_on_hand_drawn_squares():
    # 100x100 image: diagonal 141.4, band 2% -> 3 pixels wide.
    truth = np.zeros((100, 100), np.uint8)
    truth[20:60, 20:60] = 1  # 40x40 square: its 3-pixel inner band has 40*40 - 34*34 = 444 pixels
    assert metrics.inner_boundary(truth, 3).sum() == 444
    assert metrics.boundary_iou(truth, truth) == 1.0
    shifted = np.zeros_like(truth)
    shifted[21:61, 20:60] = 1  # one row lower
    band_a, band_b = metrics.inner_boundary(truth, 3), metrics.inner_boundary(shifted, 3)
    expected = np.sum(band_a & band_b) / np.sum(band_a | band_b)
    assert metrics.boundary_iou(truth, shifted) == pytest.approx(expected)
    assert 0.6 < expected < 0.9  # while region IoU is still 39*40 / (41*40) = 0.95
    assert metrics.iou(truth, shifted) == pytest.approx(39 / 41)


def test_boundary_band_runs_along_the_image_edge_as_in_the_reference_implementation():
    full = np.ones((50, 50), np.uint8)
    assert metrics.inner_boundary(full, 2).sum() == 50 * 50 - 46 * 46
    assert metrics.boundary_iou(np.zeros((50, 50)), np.zeros((50, 50))) == 1.0
