import numpy as np
import pytest

import metrics
import scores
from conftest import HAND_SCORES, HAND_SOFT, HAND_TRUTH


def keras_results(y_true, y_pred):
    results = {}
    for metric in metrics.segmentation_metrics():
        metric.update_state(y_true, y_pred)
        results[metric.name] = float(metric.result())
    return results


def test_keras_metrics_equal_hand_computed_values_on_sigmoid_outputs():
    y_true, y_pred = HAND_TRUTH[None, ..., None], HAND_SOFT[None, ..., None]
    assert keras_results(y_true, y_pred) == pytest.approx(HAND_SCORES, abs=1e-6)


def test_keras_metrics_pool_pixels_over_a_batch():
    # Two images: the hand example, and a perfect prediction of 4 more person pixels.
    perfect_truth = np.array([[1, 1, 1, 1], [0, 0, 0, 0]], np.float32)
    y_true = np.stack([HAND_TRUTH, perfect_truth])[..., None]
    y_pred = np.stack([HAND_SOFT, perfect_truth * 0.8])[..., None]
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
    expected = [1 - scores.iou(t, p) for t, p in zip(truth, pred)]
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
