"""Segmentation metrics and losses for a one-channel sigmoid person mask.

Two families:
- Keras metrics for `model.compile`, thresholded at 0.5 and accumulated over
  every pixel of the dataset (pooled), as Keras metrics always are.
- NumPy functions for one image at a time (saved masks, evaluation), so that
  figures can be averaged per image, the convention of the
  portrait-segmentation literature.

A common mistake is `keras.metrics.MeanIoU` on raw sigmoid outputs: it casts
probabilities to integer class ids (so almost everything becomes class 0) and
averages over both classes. `BinaryIoU` with `target_class_ids=[1]` thresholds
first and reports the person class alone.

Conventions for empty masks (per image): where a denominator is zero the
prediction made no mistake of that kind, so IoU, Dice, precision and recall
are 1.0 (e.g. no person in the photo and none predicted).
"""

import keras
import numpy as np
from keras import ops

THRESHOLD = 0.5
SERIALIZATION_PACKAGE = "people_segmentation"


# ----------------------------------------------------------------------------
# Keras metrics
# ----------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class Dice(keras.metrics.Metric):
    """Dice coefficient (F1 score) of the person class, pooled over all pixels."""

    def __init__(self, threshold=THRESHOLD, name="dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.true_positives = self.add_variable((), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable((), initializer="zeros", name="false_positives")
        self.false_negatives = self.add_variable((), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = ops.cast(ops.greater_equal(ops.cast(y_true, "float32"), self.threshold), "float32")
        predicted = ops.cast(ops.greater_equal(ops.cast(y_pred, "float32"), self.threshold), "float32")
        weights = 1.0 if sample_weight is None else ops.cast(sample_weight, "float32")
        self.true_positives.assign_add(ops.sum(truth * predicted * weights))
        self.false_positives.assign_add(ops.sum((1.0 - truth) * predicted * weights))
        self.false_negatives.assign_add(ops.sum(truth * (1.0 - predicted) * weights))

    def result(self):
        denominator = 2.0 * self.true_positives + self.false_positives + self.false_negatives
        return ops.where(denominator > 0, 2.0 * self.true_positives / ops.maximum(denominator, 1.0), 1.0)

    def reset_state(self):
        for variable in (self.true_positives, self.false_positives, self.false_negatives):
            variable.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def segmentation_metrics(threshold=THRESHOLD):
    """IoU, Dice, precision and recall of the person class, for model.compile."""
    return [
        keras.metrics.BinaryIoU(target_class_ids=[1], threshold=threshold, name="iou"),
        Dice(threshold=threshold, name="dice"),
        keras.metrics.Precision(thresholds=threshold, name="precision"),
        keras.metrics.Recall(thresholds=threshold, name="recall"),
    ]


# ----------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
def dice_loss(y_true, y_pred, smooth=1.0):
    """1 - soft Dice, per image, so small people count as much as large ones."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_pred.shape)))
    intersection = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return 1.0 - (2.0 * intersection + smooth) / (total + smooth)


def per_image_bce(y_true, y_pred):
    """Binary cross-entropy averaged over each image's pixels: (batch,)."""
    bce = keras.losses.binary_crossentropy(ops.cast(y_true, "float32"), ops.cast(y_pred, "float32"))
    return ops.mean(bce, axis=tuple(range(1, len(bce.shape))))


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
def bce_dice_loss(y_true, y_pred):
    """Binary cross-entropy (per image) plus Dice loss."""
    return per_image_bce(y_true, y_pred) + dice_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
def lovasz_loss(y_true, y_pred):
    """Lovasz loss, per image (Berman et al., CVPR 2018): the Lovasz extension
    of 1 - IoU of the person class, applied to the pixel errors |truth - p|.

    On a hard 0/1 prediction it equals 1 - IoU exactly; in between it is the
    tightest convex surrogate of it, so it optimises the mean per-image IoU
    this project reports, where BCE and Dice only approximate it. Sorting
    every image's pixels costs a little time per step."""
    y_true = ops.reshape(ops.cast(y_true, "float32"), (ops.shape(y_true)[0], -1))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (ops.shape(y_pred)[0], -1))
    errors = ops.abs(y_true - y_pred)
    order = ops.flip(ops.argsort(errors, axis=1), axis=1)  # largest error first
    errors = ops.take_along_axis(errors, order, axis=1)
    truth = ops.take_along_axis(y_true, order, axis=1)
    # 1 - IoU if the k largest errors were the only mistakes, for every k; its
    # steps are the weights of the sorted errors (the Lovasz extension).
    persons = ops.sum(truth, axis=1, keepdims=True)
    intersection = persons - ops.cumsum(truth, axis=1)
    union = persons + ops.cumsum(1.0 - truth, axis=1)
    jaccard = 1.0 - intersection / union
    weights = ops.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=1)
    return ops.sum(errors * ops.stop_gradient(weights), axis=1)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
def bce_lovasz_loss(y_true, y_pred):
    """Binary cross-entropy (per image) plus the Lovasz loss."""
    return per_image_bce(y_true, y_pred) + lovasz_loss(y_true, y_pred)


def get_loss(name):
    """Loss by name: "bce" (default), "dice", "bce_dice", "lovasz" or "bce_lovasz"."""
    losses = {"bce": keras.losses.BinaryCrossentropy(name="bce"), "dice": dice_loss, "bce_dice": bce_dice_loss,
              "lovasz": lovasz_loss, "bce_lovasz": bce_lovasz_loss}
    if name not in losses:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(losses)}")
    return losses[name]


# ----------------------------------------------------------------------------
# NumPy metrics, one image (or one stack of images) at a time
# ----------------------------------------------------------------------------

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
    import cv2

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
