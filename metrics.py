"""Segmentation metrics and losses for a one-channel sigmoid person mask.

The metrics are for `model.compile`, thresholded at 0.5 and accumulated over
every pixel of the dataset (pooled), as Keras metrics always are; scores.py
has the same scores per image, in NumPy, the convention of the
portrait-segmentation literature, which evaluate.py reports.

A common mistake is `keras.metrics.MeanIoU` on raw sigmoid outputs: it casts
probabilities to integer class ids (so almost everything becomes class 0) and
averages over both classes. `BinaryIoU` with `target_class_ids=[1]` thresholds
first and reports the person class alone.
"""

import keras
from keras import ops

from scores import THRESHOLD

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


OWN_LOSSES = {"dice": dice_loss, "bce_dice": bce_dice_loss, "lovasz": lovasz_loss, "bce_lovasz": bce_lovasz_loss}
LOSS_NAMES = ("bce", *OWN_LOSSES)


def get_loss(name):
    """Loss by name: "bce" (default), "dice", "bce_dice", "lovasz" or "bce_lovasz"."""
    if name not in LOSS_NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return keras.losses.BinaryCrossentropy(name="bce") if name == "bce" else OWN_LOSSES[name]
