"""TensorFlow Lite: a Keras model converted to it (converted), as predict.py
converts one to run on a CPU, or quantized for a phone (README, "Using a
model outside this repository", converts a train.py run's model so), and a
converted model run as predict.py runs a Keras model (LiteModel).

predict.py loads .tflite files, its own conversions and those made elsewhere,
and refuses one it cannot run (predict.given_lite_model, trouble below).
"""

import logging
import re
import tempfile
import threading
import warnings
from types import SimpleNamespace

import numpy as np

import quiet_tensorflow

# How a model may be converted (see converted). What each costs and gains for
# the shipped model: benchmarks/lite_conversions.py, README's "Using a model
# outside this repository".
CONVERSIONS = ("float32", "dynamic_range", "float16", "int8")
# The most of a conversion's error message that failure keeps, where it names no operations.
FAILURE_LENGTH = 300


def converted(model, conversion="float32", calibration=()):
    """The Keras `model` as a TensorFlow Lite flat buffer (bytes), through a
    SavedModel, converted as `conversion` (one of CONVERSIONS) says: float32
    as it is (what predict.py runs on a CPU); dynamic_range with its weights
    stored at 8 bits; float16 with them at 16 (for a phone's GPU); int8
    quantized through and through, pixels in and masks out as uint8, its
    scales calibrated on `calibration`, model inputs (as
    data.preprocess_image makes them) of photos like those it will cut out
    (the other conversions take none)."""
    import tensorflow as tf

    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}; got {conversion!r}")
    calibration = [np.asarray(image, np.float32) for image in calibration]
    if conversion == "int8" and not calibration:
        raise ValueError("an int8 conversion is calibrated on model inputs: none were given")
    if conversion != "int8" and calibration:  # the others have no scales to calibrate: they would go unused
        raise ValueError(f"only the int8 conversion is calibrated: a {conversion} one takes no calibration inputs")
    shape = tuple(model.input.shape[1:])
    if wrong := next((image.shape for image in calibration if not fits(image.shape, shape)), None):
        raise ValueError(f"the model takes inputs of shape {shape}, as data.preprocess_image makes them for it; a "
                         f"calibration input is of shape {wrong}")
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.WARNING)  # not a line for each file the SavedModel writes
    try:
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            # "Statistics for quantized inputs were expected": the scales are the calibration's.
            warnings.simplefilter("ignore")
            with quiet_tensorflow.noise_left_out():
                model.export(folder, format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(folder)
            if conversion != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if conversion == "float16":
                converter.target_spec.supported_types = [tf.float16]
            if conversion == "int8":
                converter.representative_dataset = lambda: ([image[None]] for image in calibration)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = converter.inference_output_type = tf.uint8
            # The converter's errors are its exception's message too (see failure): not written twice.
            with quiet_tensorflow.noise_left_out(said_by=Exception):
                return converter.convert()
    finally:
        tf_log.setLevel(level)


def fits(shape, model_shape):
    """Whether an input of `shape` is one of `model_shape` (None: a side of any size)."""
    return len(shape) == len(model_shape) and all(side in (None, given) for given, side in zip(shape, model_shape))


def failure(error):
    """A line for what TensorFlow Lite's converter raised as it failed
    (`error`), whose message runs to hundreds of lines: the operations it
    has no kernels for, where it names them, else its message's first line."""
    message = str(error).strip()
    if lacking := re.search(r"^TF Select ops: (.+)$", message, re.MULTILINE):
        return f"TensorFlow Lite has no kernels for some of its operations ({lacking[1]})"
    first = message.splitlines()[0] if message else type(error).__name__
    return first if len(first) <= FAILURE_LENGTH else first[:FAILURE_LENGTH] + "..."


def trouble(model):
    """What keeps a LiteModel of one input and one output of the shapes a
    segmenter's are from running here, or None: photos go through it one at
    a time, as floats or as integers quantized by the model's own scale."""
    batch = model.input_shapes[0][0]
    if batch not in (None, 1):
        return (f"its input takes batches of exactly {batch} photos, where they go through it one at a time: convert "
                f"it with a batch of 1, or of any size")
    for tensor, what in ((model.image, "input"), (model.mask, "output")):
        if not np.issubdtype(tensor["dtype"], np.floating) and not tensor["quantization"][0]:
            return f"its {what} is of {np.dtype(tensor['dtype']).name} without a quantization scale"
    return None


def tensor_shape(tensor):
    """The shape of a TensorFlow Lite tensor (its details), None for a side of any size."""
    return tuple(None if side < 0 else int(side) for side in tensor["shape_signature"])


def quantized(values, tensor):
    """Float `values` as the TensorFlow Lite `tensor` (its details) takes
    them: as they are where it holds floats, else rounded to its integers by
    its scale and zero point (a model quantized to 8 bits through and
    through)."""
    if np.issubdtype(tensor["dtype"], np.floating):
        return values.astype(tensor["dtype"], copy=False)
    (scale, zero_point), levels = tensor["quantization"], np.iinfo(tensor["dtype"])
    return np.clip(np.round(values / scale + zero_point), levels.min, levels.max).astype(tensor["dtype"])


def dequantized(values, tensor):
    """The floats that `values` of the TensorFlow Lite `tensor` (its details) stand for (see quantized)."""
    if np.issubdtype(values.dtype, np.floating):
        return values.astype(np.float32)
    scale, zero_point = tensor["quantization"]
    return (values.astype(np.float32) - zero_point) * np.float32(scale)


class LiteModel:
    """A TensorFlow Lite model (the bytes of a .tflite file) with what
    predict.py uses of a Keras model: `input.shape` and `predict_on_batch`.
    The interpreter takes one photo a call, on one thread at a time, with
    `threads` of its own. `input_shapes` and `output_shapes`: those of all
    its inputs and outputs (see tensor_shape); `image` and `mask`: the
    details of the first of each, the ones it is run by."""

    def __init__(self, content, threads):
        # LiteRT's interpreter, not TensorFlow's (tf.lite.Interpreter, deprecated in its favour: the same kernels, the
        # same masks to the bit, and as fast), so that a converted model runs without importing TensorFlow.
        from ai_edge_litert.interpreter import Interpreter

        with quiet_tensorflow.noise_left_out():  # XNNPACK's "INFO: Created"
            self.interpreter = Interpreter(model_content=content, num_threads=threads)
            self.interpreter.allocate_tensors()
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        self.input_shapes = [tensor_shape(tensor) for tensor in inputs]
        self.output_shapes = [tensor_shape(tensor) for tensor in outputs]
        (self.image, *_), (self.mask, *_) = inputs, outputs
        self.input = SimpleNamespace(shape=(None, *(int(side) for side in self.image["shape"][1:])))
        self.output_shape = tuple(int(side) for side in self.mask["shape"][1:])
        self.lock = threading.Lock()

    def predict_on_batch(self, batch):
        masks = []
        with self.lock:
            for image in np.asarray(batch, np.float32):
                self.interpreter.set_tensor(self.image["index"], quantized(image[None], self.image))
                self.interpreter.invoke()
                masks.append(dequantized(self.interpreter.get_tensor(self.mask["index"])[0], self.mask))
        return np.stack(masks) if masks else np.zeros((0, *self.output_shape), np.float32)
