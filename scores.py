"""Per-image scores of a person mask against its ground truth, in NumPy.

IoU, Dice (F1), precision and recall of the person class, boundary IoU and
the soft mask's mean absolute error, for one image at a time, so that
figures can be averaged per image, the convention of the
portrait-segmentation literature (evaluate.py reports them so; train.py
scores its validation and test photos with them). NumPy alone, so that
evaluate.py answers --help, a usage error or --predictions without waiting
for TensorFlow; metrics.py has the Keras metrics and losses for training.

Conventions for empty masks: where a denominator is zero the prediction made
no mistake of that kind, so IoU, Dice, precision and recall are 1.0 (e.g. no
person in the photo and none predicted).
"""

import cv2
import numpy as np

THRESHOLD = 0.5  # a soft-mask value from this up counts as person


def confusion_counts(y_true, y_pred, threshold=THRESHOLD):
    """(true positives, false positives, false negatives, true negatives) of the
    person class, after thresholding both masks (>= threshold is person)."""
    truth = np.asarray(y_true, dtype=np.float32) >= threshold
    predicted = np.asarray(y_pred, dtype=np.float32) >= threshold
    if truth.shape != predicted.shape:
        raise ValueError(f"mask shapes differ: truth {truth.shape}, prediction {predicted.shape}")
    tp = int(np.count_nonzero(truth & predicted))
    fp = int(np.count_nonzero(~truth & predicted))
    fn = int(np.count_nonzero(truth & ~predicted))
    tn = truth.size - tp - fp - fn
    return tp, fp, fn, tn


def ratio_or_one(numerator, denominator):
    return numerator / denominator if denominator else 1.0


def iou(y_true, y_pred, threshold=THRESHOLD):
    tp, fp, fn, _ = confusion_counts(y_true, y_pred, threshold)
    return ratio_or_one(tp, tp + fp + fn)


def dice(y_true, y_pred, threshold=THRESHOLD):
    tp, fp, fn, _ = confusion_counts(y_true, y_pred, threshold)
    return ratio_or_one(2 * tp, 2 * tp + fp + fn)


def precision(y_true, y_pred, threshold=THRESHOLD):
    tp, fp, _, _ = confusion_counts(y_true, y_pred, threshold)
    return ratio_or_one(tp, tp + fp)


def recall(y_true, y_pred, threshold=THRESHOLD):
    tp, _, fn, _ = confusion_counts(y_true, y_pred, threshold)
    return ratio_or_one(tp, tp + fn)


def mean_absolute_error(y_true, y_pred):
    """Mean absolute difference between the binary truth and the soft mask."""
    return float(np.mean(np.abs(np.asarray(y_true, np.float32) - np.asarray(y_pred, np.float32))))


def inner_boundary(mask, width):
    """Pixels of a binary mask within `width` pixels of its contour; the image
    edge counts as contour, as in the reference Boundary IoU implementation."""
    mask = mask.astype(np.uint8)
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=width)[1:-1, 1:-1]
    return (mask - eroded).astype(bool)


def boundary_iou(y_true, y_pred, threshold=THRESHOLD, band=0.02):
    """Boundary IoU (Cheng et al., CVPR 2021): IoU of the two masks' inner
    boundary bands, the band `band` x the image diagonal wide. It measures
    edge quality, which region IoU barely sees on large masks."""
    truth = np.asarray(y_true, np.float32) >= threshold
    predicted = np.asarray(y_pred, np.float32) >= threshold
    width = max(1, int(round(band * np.hypot(*truth.shape[:2]))))
    truth_band, predicted_band = inner_boundary(truth, width), inner_boundary(predicted, width)
    return ratio_or_one(np.count_nonzero(truth_band & predicted_band), np.count_nonzero(truth_band | predicted_band))


def image_scores(y_true, y_pred, threshold=THRESHOLD, with_boundary=False):
    """All scores of one image: the thresholded ones from one pass over the
    pixels, the soft mask's mean absolute error, and optionally boundary IoU."""
    tp, fp, fn, _ = confusion_counts(y_true, y_pred, threshold)
    scores = {
        "iou": ratio_or_one(tp, tp + fp + fn),
        "dice": ratio_or_one(2 * tp, 2 * tp + fp + fn),
        "precision": ratio_or_one(tp, tp + fp),
        "recall": ratio_or_one(tp, tp + fn),
        "mae": mean_absolute_error(y_true, y_pred),
    }
    if with_boundary:
        scores["boundary_iou"] = boundary_iou(y_true, y_pred, threshold)
    return scores
