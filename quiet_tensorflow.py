"""TensorFlow, imported without the lines its C++ libraries print on every
start that tell a user of these scripts nothing.

Importing TensorFlow 2.21 prints up to ten lines to the terminal before a
script says a word: abseil's warning that its log is not set up yet, oneDNN's
note on round-off, the CPU instructions the wheel was not built for, and on a
machine without an NVIDIA GPU, that no CUDA driver was found and, as an
error, that cuInit failed. TF_CPP_MIN_LOG_LEVEL does not silence them (they
are printed before TensorFlow reads it: abseil-cpp#1957, tensorflow#102212).
So TensorFlow is imported with its standard error written to a file, and
what it printed is passed on but for those lines; any other line, a warning
or an error these patterns do not know, is passed on as it was printed.
After that, TF_CPP_MIN_LOG_LEVEL does work, and is 1 unless set: no INFO
lines, which are for TensorFlow's developers (converting a model for
TensorFlow Lite prints ten). TF_CPP_MIN_LOG_LEVEL=0 passes on every line, to
look into a GPU set-up.
"""

import glob
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager

# The messages (what follows "file.cc:123] " in abseil's log format and in
# TensorFlow's older one) printed on every start, or on every conversion for
# TensorFlow Lite, each with nothing to act on.
NOISE = re.compile("|".join([
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"\] oneDNN custom operations are on\. ",
    r"\] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations\.$",
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$",
    # On GPU machines: CUDA's plugins registered twice by TensorFlow's own libraries, TensorRT
    # (optional) not installed, a NUMA note on machines with one memory node.
    r"\] Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory for plugin cu\w+ when one "
    r"has already been registered$",
    r"\] computation placer already registered\. ",
    r"\] TF-TRT Warning: Could not find TensorRT$",
    r"\] successful NUMA node read from SysFS had negative value \(-1\)",
    r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$",
    r"\] Ignored (output_format|drop_control_dependency)\.$",  # settings of the converter's own
    r"^fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, output_inference_type: \w+$",  # int8's
]))
# Said on every machine without an NVIDIA GPU; where one is plugged in, they
# are what tells a user that TensorFlow cannot use it (no driver found).
NO_GPU_DRIVER = re.compile(r"\] Could not find cuda drivers on your machine, GPU will not be used\.$"
                           r"|\] failed call to cuInit: ")
# Where a machine shows its NVIDIA GPUs: Linux's device files, WSL2's one for every GPU.
GPU_DEVICES = ("/dev/nvidia[0-9]*", "/dev/dxg")

capturing = threading.RLock()  # standard error is the process's: one capture at a time


def import_tensorflow():
    """Imports Keras and TensorFlow, and lets TensorFlow look for GPUs (where
    CUDA's lines are printed), without their start-up lines; once TensorFlow
    is imported (by this or by whoever imported this module), nothing."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with noise_left_out():
        import keras  # noqa: F401 (with its TensorFlow backend, TensorFlow's own start-up)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


@contextmanager
def noise_left_out(said_by=()):
    """Within the block, whatever is written to standard error (the file
    descriptor, as C++ libraries write) goes to a file; after it, what was
    written is written to standard error but for the lines worth_showing
    leaves out, and but for all of it where the block raises an exception of
    the kinds `said_by` names, whose message holds it already (TensorFlow
    Lite's converter writes each of its errors there too). The block's own
    exception still propagates."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    with capturing:
        captured, saved = standard_error_to_file()
        if captured is None:
            yield
            return
        said = False
        try:
            yield
        except said_by:
            said = True
            raise
        finally:
            flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            with captured:
                captured.seek(0)
                written = captured.read().decode(errors="replace").splitlines(keepends=True)
            left = b"" if said else "".join(worth_showing(written, gpu_plugged_in())).encode()
            while left:
                left = left[os.write(2, left):]


def standard_error_to_file():
    """(a temporary file, a descriptor of standard error as it was), file
    descriptor 2 now writing to the file; (None, None) where there is no
    file to write to, or no standard error (closed), and the lines would be
    written as they come."""
    flush_stderr()
    try:
        captured = tempfile.TemporaryFile()
    except OSError:
        return None, None
    try:
        saved = os.dup(2)
    except OSError:
        captured.close()
        return None, None
    os.dup2(captured.fileno(), 2)
    return captured, saved


def worth_showing(lines, gpu_plugged_in=False):
    """`lines` but for TensorFlow's noise (NOISE), and, where no GPU is
    plugged in, for its lines saying that CUDA found none."""
    shown = []
    for line in lines:
        message = line.rstrip("\r\n")
        if not NOISE.search(message) and (gpu_plugged_in or not NO_GPU_DRIVER.search(message)):
            shown.append(line)
    return shown


def gpu_plugged_in():
    """Whether this machine shows a GPU (GPU_DEVICES), whether or not TensorFlow can use it."""
    return any(glob.glob(pattern) for pattern in GPU_DEVICES)


def flush_stderr():
    if sys.stderr is not None:
        sys.stderr.flush()
